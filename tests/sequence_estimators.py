"""Every sequence estimator of skdsp, with fast settings, for the reliability and fuzz
tests (imported by them; not a test module itself)."""

import numpy as np
import torch
from torch import nn

from skdsp import (
    AdversarialBagger,
    AveragePooling,
    Bags,
    DiscriminativeSubspacePooling,
    FrameNormalizer,
    FrameScaler,
    MaxPooling,
    PPVPooling,
    RandomConvolutionFrames,
    RankPooling,
    SVMPooling,
)

#: Exported estimators that do not take a collection of feature videos: 2-D rows
#: (SubspaceKernel, RBFKernel), streams of videos (StreamUnion, whose per-stream steps
#: are the estimators here), or image frames (FrameFeatureExtractor, covered on its
#: own in test_reliability.py, and FlowFeatureExtractor, in test_flow_extractor.py).
NOT_SEQUENCE = {
    "SubspaceKernel",
    "RBFKernel",
    "StreamUnion",
    "FrameFeatureExtractor",
    "FlowFeatureExtractor",
}


def _bagger(attack, **params):
    return AdversarialBagger(
        attack=attack, classifier__max_epochs=2, device="cpu", random_state=0, **params
    )


def sequence_estimators(n_features=5, *, max_iter=5):
    """Fresh, fast instances of every sequence estimator, by name.

    Parameters
    ----------
    n_features : int, default=5
        Features of the videos they will see (bounds DSP's ``n_components``).
    max_iter : int, default=5
        DSP's iterations.

    Returns
    -------
    estimators : dict of str to estimator
    """
    dsp = {"max_iter": max_iter, "device": "cpu", "random_state": 0}
    p = min(2, n_features)
    return {
        "DiscriminativeSubspacePooling": DiscriminativeSubspacePooling(p, **dsp),
        "DiscriminativeSubspacePooling-float64": DiscriminativeSubspacePooling(
            p, dtype="float64", **dsp
        ),
        "AdversarialBagger-uap": _bagger("uap", max_passes=2),
        "AdversarialBagger-shift": _bagger("shift"),
        "AdversarialBagger-noise": _bagger("noise"),
        "AdversarialBagger-pgd": _bagger("pgd", n_steps=2),
        "AdversarialBagger-fgsm": _bagger("fgsm"),
        "AdversarialBagger-deepfool": _bagger("deepfool", max_iter=3),
        "AveragePooling": AveragePooling(),
        "MaxPooling": MaxPooling(),
        "RankPooling-ridge": RankPooling(device="cpu"),
        "RankPooling-svr": RankPooling(solver="svr"),
        "SVMPooling": SVMPooling(random_state=0),
        "FrameScaler": FrameScaler(),
        "FrameNormalizer": FrameNormalizer(),
        "PPVPooling": PPVPooling(),
        "RandomConvolutionFrames": RandomConvolutionFrames(
            n_features=168, device="cpu", random_state=0
        ),
        "RandomConvolutionFrames-response": RandomConvolutionFrames(
            n_features=168, output="response", padding="alternate", device="cpu",
            random_state=0,
        ),
    }


def needs_labels(estimator):
    return isinstance(estimator, AdversarialBagger)


def labels(n_videos):
    """Two classes of videos, alternating."""
    return np.arange(n_videos) % 2


def per_video(out):
    """Split a transform's output into one array per video."""
    if isinstance(out, Bags):
        return [np.concatenate([p, z]) for p, z in zip(out.positive, out.negative)]
    if isinstance(out, list):
        return out
    return list(np.asarray(out))


class TinyBackbone(nn.Module):
    """A small image model: its output (4 features) is what FrameFeatureExtractor
    returns for a user module."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=gen))
            self.conv.bias.zero_()

    def forward(self, x):
        return self.conv(x).mean(dim=(2, 3))
