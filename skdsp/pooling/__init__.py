"""Pooling of frame features into video descriptors.

The functional layer (:func:`dsp_objective`, :func:`solve_dsp`) works on torch tensors;
the estimators wrap it for scikit-learn.
"""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "dsp_objective": ".objective",
        "order_term": ".temporal",
        "solve_dsp": ".solve",
        "DSPResult": ".solve",
        "DiscriminativeSubspacePooling": ".dsp",
        "AveragePooling": ".baselines",
        "MaxPooling": ".baselines",
        "RankPooling": ".baselines",
        "SVMPooling": ".baselines",
    },
)
