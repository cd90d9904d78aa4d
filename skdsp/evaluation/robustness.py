"""Accuracy of fitted pipelines when the frames of the test videos are attacked."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from skdsp.adversarial.attacks import check_norm
from skdsp.evaluation.curve import RobustnessCurve
from skdsp.evaluation.frame_attacks import (
    ATTACK_PARAMS,
    FrameAttack,
    find_frame_model,
    frame_model,
)
from skdsp.evaluation.whitebox import linear_video_model
from skdsp.utils.validation import check_labels, check_videos

__all__ = ["robustness_curve"]

ATTACKS = tuple(ATTACK_PARAMS)


def robustness_curve(
    estimators,
    X,
    y,
    *,
    attack="pgd",
    eps=(0.0, 0.1, 0.2, 0.5, 1.0),
    norm=2,
    eps_scale="median_norm",
    frame_classifier=None,
    attack_params=None,
    n_repeats=1,
    random_state=None,
    verbose=0,
):
    """Accuracy of fitted estimators on test videos whose frames are attacked.

    For each norm bound ``eps`` and each repeat, the frames of every test video are
    perturbed in feature space, each by at most ``eps``, and every estimator is scored
    on the perturbed videos. The perturbed copies are made once per bound and repeat,
    and every estimator sees the same copies, so that the comparison is paired.

    The frames are attacked as the estimators receive them (the raw ``X``): an
    estimator that normalises frames (as :class:`~skdsp.AdversarialBagger` does with
    ``normalize=True``) sees the perturbed frames normalised, and the frame classifier
    is attacked through that same normalisation. ``eps`` is therefore a bound on
    ``||x'_t - x_t||`` for the raw frame ``x_t``; with ``eps_scale="median_norm"`` it
    is a fraction of the median norm of the frames of ``X``, so that it means the same
    across data sets. For a frame of median norm, an L2 bound ``eps`` turns the
    normalised frame by at most ``arcsin(eps)`` (for ``eps < 1``): shorter frames turn
    more, longer ones less.

    Parameters
    ----------
    estimators : estimator or dict of str to estimator
        Fitted estimators (e.g. pipelines) that take a collection of videos and have
        ``score(X, y)``. A single estimator is named ``"estimator"``.
    X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
        Test videos, time first. Never modified.
    y : array-like of shape (n_videos,)
        Their labels.
    attack : {"pgd", "fgsm", "deepfool", "uap", "noise", "shift", "whitebox_linear"}, \
default="pgd"
        How frames are perturbed (the functions of ``skdsp.adversarial``):

        - ``"pgd"``: projected gradient ascent on the frame classifier's cross-entropy
          within the ``eps`` ball of each frame, from a random start.
        - ``"fgsm"``: one gradient step of norm ``eps`` per frame.
        - ``"deepfool"``: each frame's minimal DeepFool perturbation, projected onto
          the ``eps`` ball when longer.
        - ``"uap"``: one universal perturbation, computed afresh against the frame
          classifier on the frames of ``X`` and added to all of them (not the one a
          bagger made its negatives with).
        - ``"noise"``: an independent random direction of norm ``eps`` per frame (the
          control for the per-frame attacks).
        - ``"shift"``: one random vector of norm ``eps`` added to every frame (the
          control for ``"uap"``).
        - ``"whitebox_linear"``: for estimators made of
          :class:`~skdsp.AveragePooling`, an optional ``StandardScaler`` and a linear
          classifier only: the exact worst case, computed from the estimator itself
          and the true labels. Every frame of a video moves by the same vector, which
          changes the video's mean the most any per-frame perturbation of norm ``eps``
          can; no attack with the same bound lowers such an estimator's accuracy
          further. Each estimator gets its own perturbed copies.

        The adversarial attacks move frames away from the frame classifier's own
        predictions on the clean frames; labels are used only for scoring (and by
        ``"whitebox_linear"``).
    eps : float or sequence of float, default=(0.0, 0.1, 0.2, 0.5, 1.0)
        Norm bounds, non-negative. ``eps=0`` scores the clean videos.
    norm : {2, "inf"}, default=2
        The norm of ``eps``, of the median frame norm, and of the measured norms.
    eps_scale : {"median_norm", "absolute"}, default="median_norm"
        ``"median_norm"``: ``eps`` is relative to the median norm of the frames of
        ``X``. ``"absolute"``: ``eps`` is in the units of the frames.
    frame_classifier : None, torch.nn.Module, fitted skorch net, fitted \
AdversarialBagger or fitted pipeline holding one, default=None
        The per-frame classifier the adversarial attacks aim at. None: the classifier
        of the :class:`~skdsp.AdversarialBagger` in the first estimator that has one,
        preceded by that bagger's normalisation (and by the frame scaling or
        normalisation steps before it). A module or a skorch net must score raw frames
        of ``X``, e.g. one trained on the training frames. Either way the attack is a
        *transfer* attack: no estimator's video-level decision is differentiated, not
        even that of the estimator the classifier comes from. Used by ``"noise"`` and
        ``"shift"`` only to report the fooling rate; ignored by ``"whitebox_linear"``.
    attack_params : dict, default=None
        Keyword arguments of the attack: ``"pgd"``: ``n_steps``, ``step_size``,
        ``random_start``; ``"deepfool"``: ``overshoot``, ``max_iter``; ``"uap"``:
        ``max_fooling``, ``max_passes``, ``overshoot``, ``max_iter_deepfool``,
        ``batch_size``, ``update``. The attacks' own defaults otherwise.
    n_repeats : int, default=1
        Independent draws of the random steps (random directions, PGD's random
        starts, the UAP's frame order) for each bound.
    random_state : int, RandomState instance or None, default=None
        Seeds the repeats. Within a repeat every bound uses the same seed, so random
        directions are the same at every ``eps``, only scaled.
    verbose : int, default=0
        A progress bar over bounds and repeats when positive.

    Returns
    -------
    curve : RobustnessCurve
        Accuracy ``(n_estimators, n_eps)`` and its spread over repeats, the frame
        classifier's fooling rate and the measured perturbation norms per bound.

    Raises
    ------
    ValueError
        Before any attack is run: a negative or non-finite ``eps``, an unknown attack,
        norm, scale or attack parameter, an estimator that is not fitted (a
        ``NotFittedError``, which is a ``ValueError``) or expects another number of
        features, ``X`` and ``y`` of different lengths, invalid videos, an
        adversarial attack without a frame classifier, or ``"whitebox_linear"`` on an
        estimator that is not average pooling and a linear model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdsp import AveragePooling
    >>> from skdsp.evaluation import robustness_curve
    >>> rng = np.random.default_rng(0)
    >>> y = np.array([0, 1] * 10)
    >>> X = [rng.normal(size=(15, 4)) + 2 * label for label in y]
    >>> model = make_pipeline(AveragePooling(), LogisticRegression()).fit(X, y)
    >>> curve = robustness_curve({"average": model}, X, y, attack="noise",
    ...                          eps=(0.0, 1.0), random_state=0)
    >>> curve.accuracy.shape
    (1, 2)
    >>> bool(curve.max_perturbation_norm[1] <= curve.eps_absolute[1] * (1 + 1e-12))
    True
    """
    named = _check_estimators(estimators)
    videos = check_videos(X)
    y = check_labels(y, len(videos))
    norm = check_norm(norm)
    eps = _check_eps(eps)
    params = _check_params(attack, eps_scale, n_repeats, attack_params)
    n_features = videos[0].shape[1]
    for name, est in named.items():
        expected = getattr(est, "n_features_in_", None)
        if expected is not None and expected != n_features:
            raise ValueError(
                f"estimators[{name!r}] was fitted on frames of {expected} features; "
                f"the videos of X have {n_features}."
            )

    frames = np.concatenate(videos)
    scale = 1.0
    if eps_scale == "median_norm":
        scale = float(np.median(_norms(frames, norm)))
        if not scale > 0:
            raise ValueError(
                "The median norm of the frames of X is 0; use eps_scale='absolute'."
            )
    eps_abs = eps * scale
    if attack == "whitebox_linear":
        linear = {name: linear_video_model(est, videos) for name, est in named.items()}
        source, attacker = None, None
    else:
        source, model = _frame_model(frame_classifier, named)
        if model is None and attack not in ("noise", "shift"):
            raise ValueError(
                f"attack={attack!r} needs a frame classifier: none of the estimators "
                "holds an AdversarialBagger; pass frame_classifier."
            )
        attacker = FrameAttack(attack, frames, norm=norm, model=model, params=params)

    seeds = check_random_state(random_state).randint(0, 2**31 - 1, size=n_repeats)
    lengths = np.cumsum([v.shape[0] for v in videos])[:-1]
    n_eps = eps.size
    scores = np.empty((len(named), n_eps, n_repeats))
    fooling = np.full((n_eps, n_repeats), np.nan)
    norm_sum = np.zeros(n_eps)
    norm_max = np.zeros(n_eps)
    n_measured = np.zeros(n_eps)

    def measure(i, perturbed):
        """Record the norms of the perturbations as realised; return them."""
        realised = perturbed.astype(np.float64, copy=False) - frames
        r = _norms(realised, norm)
        norm_sum[i] += r.sum()
        norm_max[i] = max(norm_max[i], float(r.max()))
        n_measured[i] += r.size
        return realised

    progress = tqdm(total=n_eps * n_repeats, desc=f"robustness ({attack})",
                    disable=not verbose, leave=False)
    for rep, seed in enumerate(seeds):
        for i, e in enumerate(eps_abs):
            if attacker is None:
                for j, (name, est) in enumerate(named.items()):
                    shifts = linear[name].worst_case_shift(videos, y, e, norm)
                    attacked = [_add(v, s) for v, s in zip(videos, shifts)]
                    measure(i, np.concatenate(attacked))
                    scores[j, i, rep] = est.score(attacked, y)
            else:
                perturbed = _add(frames, attacker.perturbation(e, int(seed)))
                realised = measure(i, perturbed)
                fooling[i, rep] = attacker.fooling_rate(realised)
                for j, est in enumerate(named.values()):
                    # A copy each: an estimator that wrote into its input could not
                    # change what the next one sees.
                    scores[j, i, rep] = est.score(np.split(perturbed.copy(), lengths), y)
            progress.update()
    progress.close()

    return RobustnessCurve(
        names=tuple(named),
        eps=eps,
        eps_absolute=eps_abs,
        accuracy=scores.mean(axis=2),
        accuracy_std=scores.std(axis=2),
        scores=scores,
        fooling_rate=fooling.mean(axis=1),
        perturbation_norm=norm_sum / n_measured,
        max_perturbation_norm=norm_max,
        attack=attack,
        norm=norm,
        eps_scale=eps_scale,
        scale=scale,
        frame_classifier=source,
    )


def _check_estimators(estimators):
    named = dict(estimators) if isinstance(estimators, dict) else {"estimator": estimators}
    if not named:
        raise ValueError("estimators is empty: pass a fitted estimator or a dict of them.")
    for name, est in named.items():
        if not hasattr(est, "score"):
            raise ValueError(
                f"estimators[{name!r}] is a {type(est).__name__}, which has no score "
                "method; pass fitted classifiers (e.g. pipelines)."
            )
        try:
            check_is_fitted(est)
        except NotFittedError as exc:
            raise NotFittedError(
                f"estimators[{name!r}] is not fitted; fit it on training videos first."
            ) from exc
    return named


def _check_params(attack, eps_scale, n_repeats, attack_params):
    if attack not in ATTACKS:
        raise ValueError(f"attack={attack!r} is not supported; choose one of {ATTACKS}.")
    if eps_scale not in ("median_norm", "absolute"):
        raise ValueError(
            f"eps_scale={eps_scale!r} is not supported; use 'median_norm' or 'absolute'."
        )
    if not isinstance(n_repeats, Integral) or isinstance(n_repeats, bool) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}.")
    params = dict(attack_params or {})
    unknown = sorted(set(params) - set(ATTACK_PARAMS[attack]))
    if unknown:
        raise ValueError(
            f"attack_params {unknown} are not parameters of attack={attack!r}; it "
            f"accepts {list(ATTACK_PARAMS[attack]) or 'none'}."
        )
    return params


def _check_eps(eps):
    values = np.atleast_1d(np.asarray(eps, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"eps must be a number or a non-empty 1-D sequence, got {eps!r}.")
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"eps must be finite and non-negative; eps[{np.flatnonzero(bad)[0]}] is "
            f"{values[bad][0]}."
        )
    return values


def _frame_model(frame_classifier, named):
    if frame_classifier is not None:
        return "given", frame_model(frame_classifier)
    return find_frame_model(named)


def _norms(frames, norm):
    return np.linalg.norm(frames, ord=norm, axis=-1)


def _add(frames, perturbation):
    """Perturbed frames in the frames' dtype: a new array, the clean one untouched."""
    return (frames + perturbation).astype(frames.dtype, copy=False)
