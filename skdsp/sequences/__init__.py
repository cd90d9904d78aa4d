"""From sequences (sensor, motion, audio features) to frame features."""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {"RandomConvolutionFrames": ".frames"},
    submodules=["frames", "random_convolution"],
)
