"""Adversarial negatives in feature space: attacks on a per-frame classifier, and the
estimator that turns videos into positive and negative bags."""

from skdsp._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "AdversarialBagger": ".bagger",
        "FrameMLP": ".classifier",
        "make_frame_classifier": ".classifier",
        "deepfool": ".attacks",
        "universal_perturbation": ".attacks",
        "fgsm": ".attacks",
        "pgd": ".attacks",
        "project_ball": ".attacks",
        "random_directions": ".attacks",
        "fooling_rate": ".attacks",
    },
    submodules=["attacks", "bagger", "classifier"],
)
