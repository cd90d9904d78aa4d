"""Attacks on the frames of test videos: the frame classifier they aim at, expressed on
the raw frames, and the perturbations they make.

A robustness evaluation perturbs the frames exactly as a pipeline receives them. The
frame classifier inside an :class:`~skdsp.AdversarialBagger` sees them only after the
steps before the bagger and the bagger's own L2 normalisation, so those steps are put
in front of the classifier here, in torch, and the attacks differentiate through them.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from torch import nn

from skdsp.adversarial import attacks
from skdsp.utils.device import to_numpy
from skdsp.utils.random import torch_generator

__all__ = [
    "FRAME_ATTACKS",
    "ATTACK_PARAMS",
    "FrameAttack",
    "frame_model",
    "find_frame_model",
    "pipeline_steps",
]

#: Attacks that perturb the frames once for every estimator (paired comparison).
FRAME_ATTACKS = ("uap", "fgsm", "pgd", "deepfool", "noise", "shift")
#: Of those, the ones that need a frame classifier.
_ADVERSARIAL = ("uap", "fgsm", "pgd", "deepfool")
#: Keyword arguments each attack accepts through ``attack_params``.
ATTACK_PARAMS = {
    "uap": ("max_fooling", "max_passes", "overshoot", "max_iter_deepfool", "batch_size",
            "update"),
    "fgsm": (),
    "pgd": ("n_steps", "step_size", "random_start"),
    "deepfool": ("overshoot", "max_iter"),
    "noise": (),
    "shift": (),
    "whitebox_linear": (),
}
# Frames per per-frame attack call: bounds DeepFool's (n_classes, batch, n_features)
# Jacobian on wide features.
_CHUNK = 1024


def pipeline_steps(estimator):
    """The steps of a (possibly searched) pipeline, ``passthrough`` steps left out.

    A fitted search (``GridSearchCV`` and the like) stands for its ``best_estimator_``;
    an estimator that is not a pipeline is a single step.
    """
    estimator = getattr(estimator, "best_estimator_", estimator)
    if isinstance(estimator, Pipeline):
        return [s for _, s in estimator.steps if s is not None and s != "passthrough"]
    return [estimator]


class _Standardize(nn.Module):
    """``(x - mean) / scale``, a :class:`~skdsp.FrameScaler` in torch."""

    def __init__(self, mean, scale, dtype):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=dtype))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=dtype))

    def forward(self, x):
        return (x - self.mean) / self.scale


class _UnitNorm(nn.Module):
    """Each row scaled to unit L2 norm, zero rows left at zero (as the bagger does)."""

    def forward(self, x):
        n = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
        return x / torch.clamp(n, min=torch.finfo(x.dtype).tiny)


def _module_dtype(module):
    return next(
        (p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32
    )


def frame_model(source):
    """The frame classifier of ``source`` as a torch module on raw frames.

    Parameters
    ----------
    source : torch.nn.Module, fitted skorch net, fitted AdversarialBagger, or fitted \
pipeline containing one
        A module or a skorch net is taken to score the frames as they are given. A
        bagger's classifier is preceded by the bagger's L2 normalisation (when
        ``normalize=True``), and, in a pipeline, by the frame steps before the bagger
        (:class:`~skdsp.FrameScaler`,
        :class:`~skdsp.FrameNormalizer`).

    Returns
    -------
    model : torch.nn.Module
        Maps frames ``(batch, n_features)`` to class scores ``(batch, n_classes)``, on
        the CPU. It shares the classifier's parameters (nothing is copied or changed).

    Raises
    ------
    ValueError
        If ``source`` holds no usable classifier, is not fitted, or has steps before
        its bagger that cannot be differentiated.
    """
    from skdsp.adversarial.bagger import AdversarialBagger

    if isinstance(source, nn.Module):
        return source
    steps = pipeline_steps(source)
    at = next((i for i, s in enumerate(steps) if isinstance(s, AdversarialBagger)), None)
    if at is None:
        module = getattr(source, "module_", None)
        if isinstance(module, nn.Module):  # a fitted skorch net
            return module
        if hasattr(source, "module"):
            raise ValueError(
                f"frame_classifier {type(source).__name__} is not fitted (it has no "
                "module_); fit it on frames first."
            )
        raise ValueError(
            f"frame_classifier must be a torch module, a fitted skorch net, a fitted "
            f"AdversarialBagger or a pipeline holding one; got {type(source).__name__}."
        )
    bagger = steps[at]
    check_is_fitted(bagger, "classifier_")
    module = bagger.classifier_.module_
    dtype = _module_dtype(module)
    layers = [_frame_step(step, dtype) for step in steps[:at]]
    if bagger.normalize:
        layers.append(_UnitNorm())
    return nn.Sequential(*layers, module) if layers else module


def _frame_step(step, dtype):
    from skdsp.preprocessing import FrameNormalizer, FrameScaler

    if isinstance(step, FrameScaler):
        return _Standardize(step.mean_, step.scale_, dtype)
    if isinstance(step, FrameNormalizer):
        return _UnitNorm()
    raise ValueError(
        f"The pipeline applies {type(step).__name__} to the frames before its "
        "AdversarialBagger; an attack cannot differentiate through it. Pass the frame "
        "classifier to attack as frame_classifier."
    )


def find_frame_model(estimators):
    """The frame classifier of the first estimator that holds an AdversarialBagger.

    Parameters
    ----------
    estimators : dict of str to estimator

    Returns
    -------
    name : str or None
        The estimator it was taken from; None when no estimator holds a bagger.
    model : torch.nn.Module or None
    """
    from skdsp.adversarial.bagger import AdversarialBagger

    for name, est in estimators.items():
        if any(isinstance(s, AdversarialBagger) for s in pipeline_steps(est)):
            return name, frame_model(est)
    return None, None


class FrameAttack:
    """One attack on a fixed set of frames, for any norm bound and seed.

    Parameters
    ----------
    attack : {"uap", "fgsm", "pgd", "deepfool", "noise", "shift"}
    frames : ndarray of shape (n_frames, n_features)
        All frames of the videos, concatenated. Never modified.
    norm : {2, inf}
    model : torch.nn.Module, default=None
        Frame classifier on raw frames; required by the adversarial attacks, used by
        the random controls only to measure the fooling rate.
    params : dict, default=None
        Keyword arguments of the attack (see ``ATTACK_PARAMS``).
    """

    def __init__(self, attack, frames, *, norm, model=None, params=None):
        if attack in _ADVERSARIAL and model is None:
            raise ValueError(f"attack={attack!r} needs a frame classifier.")
        self.attack = attack
        self.frames = frames
        self.norm = norm
        self.model = model
        self.params = dict(params or {})
        if model is not None:
            self._x = torch.as_tensor(frames, dtype=_module_dtype(model))
            # The attacks move frames away from the classifier's own predictions: the
            # attacker needs no labels, and the fooling rate counts changed predictions.
            try:
                self._labels = attacks.predict(model, self._x, batch_size=_CHUNK)
            except RuntimeError as exc:
                raise ValueError(
                    f"The frame classifier cannot score frames of {frames.shape[1]} "
                    f"features: {exc}"
                ) from exc

    def perturbation(self, eps, seed):
        """Perturbation of every frame, of norm at most ``eps``.

        Parameters
        ----------
        eps : float
            Norm bound, in the units of the frames.
        seed : int
            Seeds the random steps (random directions, PGD's starts, the UAP's frame
            order); the same seed gives the same directions at every ``eps``.

        Returns
        -------
        perturbation : ndarray of shape (n_frames, n_features), float64
            Re-projected onto the ``eps`` ball in float64, so that the bound holds
            after the cast from the classifier's precision. A universal attack returns
            a read-only broadcast of one row.
        """
        shape = self.frames.shape
        if eps == 0:
            return np.zeros(shape)
        gen = torch_generator(seed)
        if self.attack == "noise":
            r = attacks.random_directions(shape, eps, self.norm, generator=gen,
                                          dtype=torch.float64)
        elif self.attack == "shift":
            r = attacks.random_directions((shape[1],), eps, self.norm, generator=gen,
                                          dtype=torch.float64)
        elif self.attack == "uap":
            r = attacks.universal_perturbation(
                self.model, self._x, eps=eps, norm=self.norm, generator=gen, **self.params
            ).perturbation
        else:
            r = torch.cat([
                self._per_frame(xb, yb, eps, gen)
                for xb, yb in zip(torch.split(self._x, _CHUNK),
                                  torch.split(self._labels, _CHUNK))
            ])
        r = attacks.project_ball(r.to(torch.float64), eps, self.norm)
        return np.broadcast_to(to_numpy(r), shape)

    def _per_frame(self, x, labels, eps, gen):
        if self.attack == "fgsm":
            return attacks.fgsm(self.model, x, labels, eps=eps, norm=self.norm)
        if self.attack == "pgd":
            return attacks.pgd(self.model, x, labels, eps=eps, norm=self.norm,
                               generator=gen, **self.params)
        r = attacks.deepfool(self.model, x, norm=self.norm, labels=labels,
                             **self.params).perturbation
        return attacks.project_ball(r, eps, self.norm)

    def fooling_rate(self, perturbation):
        """Fraction of frames whose predicted class the perturbation changes.

        Parameters
        ----------
        perturbation : ndarray of shape (n_frames, n_features)

        Returns
        -------
        rate : float
            NaN when there is no frame classifier.
        """
        if self.model is None:
            return float("nan")
        r = torch.as_tensor(np.ascontiguousarray(perturbation), dtype=self._x.dtype)
        return attacks.fooling_rate(self.model, self._x, r, batch_size=_CHUNK,
                                    labels=self._labels)
