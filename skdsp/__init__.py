"""skdsp: discriminative subspace pooling of video features, for scikit-learn.

Per-frame features of a video form a positive bag; perturbed copies of them form a
negative bag; per video, a set of orthonormal hyperplanes that separates the bags while
respecting temporal order is learned on the Stiefel manifold and used as the video's
descriptor.

Public names are imported lazily, so that ``import skdsp`` stays cheap and a
sub-package whose optional dependencies are missing (``skdsp.video`` needs PyAV) does
not break the others.
"""

from skdsp._lazy import attach

__version__ = "0.1.0.dev0"

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Bags": ".bags",
        "DiscriminativeSubspacePooling": ".pooling.dsp",
        "AveragePooling": ".pooling.baselines",
        "MaxPooling": ".pooling.baselines",
        "RankPooling": ".pooling.baselines",
        "SVMPooling": ".pooling.baselines",
        "PPVPooling": ".pooling.baselines",
        "AdversarialBagger": ".adversarial.bagger",
        "SubspaceKernel": ".kernels",
        "FrameScaler": ".preprocessing",
        "FrameNormalizer": ".preprocessing",
        "FrameFeatureExtractor": ".video.extractor",
        "FlowFeatureExtractor": ".video.flow_extractor",
        "Streams": ".streams",
        "StreamUnion": ".fusion",
        "RBFKernel": ".fusion",
        "RandomConvolutionFrames": ".sequences.frames",
    },
    submodules=[
        "adversarial",
        "datasets",
        "descriptor",
        "evaluation",
        "fusion",
        "kernels",
        "manifolds",
        "optim",
        "pooling",
        "preprocessing",
        "presets",
        "sequences",
        "streams",
        "utils",
        "video",
    ],
)
