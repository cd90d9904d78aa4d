"""Evaluation of fitted pipelines: accuracy when the frames of test videos are attacked."""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "robustness_curve": ".robustness",
        "RobustnessCurve": ".curve",
    },
    submodules=["robustness", "curve", "frame_attacks", "whitebox"],
)
