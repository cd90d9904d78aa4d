"""AdversarialBagger: videos in, positive and negative bags of frames out."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state

from skdsp.adversarial import attacks
from skdsp.adversarial.classifier import build_frame_classifier
from skdsp.bags import Bags
from skdsp.utils.device import resolve_device, to_numpy
from skdsp.utils.numerics import l2_normalize
from skdsp.utils.random import torch_generator, video_seeds
from skdsp.utils.validation import check_labels, check_videos

__all__ = ["AdversarialBagger"]

_ATTACKS = ("uap", "fgsm", "pgd", "deepfool", "noise", "shift")
_UNIVERSAL = ("uap", "shift")
# Frames per batched attack call: bounds the (batch, n_classes, n_features) Jacobian.
_CHUNK = 512
# max_train_frames="auto": about this many values (frames x features), within these
# bounds on the number of frames.
_AUTO_TRAIN_VALUES = 2**20
_AUTO_TRAIN_FRAMES = (1_000, 20_000)


class AdversarialBagger(TransformerMixin, BaseEstimator):
    """Turn videos into positive bags (their frames) and negative bags (adversarially
    perturbed frames).

    ``fit`` trains a per-frame classifier on the frames of the training videos (all
    of them, or a random subset of ``max_train_frames``), each frame labelled with its
    video's label, and, for ``attack="uap"``, computes one universal adversarial
    perturbation against it on the same frames.
    ``transform`` returns :class:`~skdsp.Bags`: the (normalised) frames of each video as
    the positive bag and their perturbed copies as the negative bag, ready for
    :class:`~skdsp.DiscriminativeSubspacePooling`. Per-frame attacks at transform time
    move frames away from the classifier's *own* predictions; labels are never needed
    after ``fit``.

    Parameters
    ----------
    classifier : None, skorch NeuralNet, or torch.nn.Module class or instance, \
default=None
        The per-frame classifier. None: a skorch ``NeuralNetClassifier`` on a small MLP
        (see :func:`skdsp.adversarial.make_frame_classifier`). A skorch net is cloned
        before training. A module class or instance becomes the module of the default
        net; its constructor receives ``n_features`` and ``n_classes`` when it accepts
        them. The module's outputs are used as class scores (logits).
    attack : {"uap", "fgsm", "pgd", "deepfool", "noise", "shift"}, default="uap"
        How negatives are made.

        - ``"uap"``: one universal adversarial perturbation ``v`` (DeepFool-based,
          Moosavi-Dezfooli et al. 2017) computed in ``fit``; negatives are ``x + v``.
        - ``"fgsm"``: one gradient step of norm ``eps`` per frame.
        - ``"pgd"``: ``n_steps`` projected gradient steps per frame in the ``eps``
          ball, from a random start.
        - ``"deepfool"``: the minimal DeepFool perturbation of each frame, projected
          onto the ``eps`` ball when it is longer.
        - ``"noise"``: an independent random direction of norm ``eps`` per frame (the
          control for the per-frame attacks).
        - ``"shift"``: one random vector of norm ``eps``, drawn in ``fit`` and added to
          every frame (the control for ``"uap"``).
    eps : float, default=0.5
        Norm bound of the perturbations (exact norm for ``"fgsm"``, ``"noise"`` and
        ``"shift"``). With ``normalize=True`` it is relative to unit-norm frames.
    norm : {2, "inf"}, default=2
        The norm of ``eps``.
    normalize : bool, default=True
        L2-normalise every frame before training and perturbing. The positive bags
        are the normalised frames; negatives are not renormalised.
    max_fooling : float, default=0.8
        ``"uap"``: stop once this fraction of training frames is fooled.
    max_passes : int, default=10
        ``"uap"``: most passes over the training frames.
    overshoot : float, default=0.02
        DeepFool's overshoot (``"uap"`` and ``"deepfool"``).
    max_iter : int, default=10
        DeepFool's most linearisation steps per frame.
    n_steps : int, default=10
        ``"pgd"``: gradient steps.
    step_size : float, default=None
        ``"pgd"``: step length; ``2.5 * eps / n_steps`` when None.
    batch_size : int, default=64
        ``"uap"``: frames attacked together in one DeepFool call.
    max_train_frames : int or "auto", default="auto"
        Most training frames the classifier is trained on and the universal
        perturbation (or the shift's fooling rate) is computed on: beyond it, that
        many are drawn at random (without replacement) from all training frames.
        ``"auto"``: as many as fit in about a million values (frames times
        features), at least 1,000 and at most 20,000 frames: every raw frame of
        the shipped data sets is used, while many long recordings, or frames of
        a thousand features, are subsampled. Per-frame attacks still perturb
        every frame.
    uap_update : {"sequential", "sum"}, default="sequential"
        ``"uap"``: how a minibatch's DeepFool perturbations update ``v`` (see
        :func:`skdsp.adversarial.universal_perturbation`).
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where the classifier is trained and attacked. Fitted state stays on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds the classifier's initialisation and shuffling, the UAP's frame order,
        the shift, the noise and PGD's random starts. Same seed, same bags (on the
        same device).
    verbose : int, default=0
        Progress output (training log and a progress bar) when positive.
    **classifier_params
        ``classifier__<name>=value``: parameters of the skorch net (e.g.
        ``classifier__max_epochs=10``, ``classifier__module__hidden_units=64``),
        applied to it in ``fit``. They work with ``classifier=None`` too, and through
        ``set_params`` (``adversarialbagger__classifier__max_epochs`` in a pipeline).

    Attributes
    ----------
    classifier_ : skorch.NeuralNet
        The fitted per-frame classifier, on the CPU.
    classes_ : ndarray of shape (n_classes,)
        Video labels seen in ``fit``.
    perturbation_ : ndarray of shape (n_features,) or None
        The universal perturbation (``"uap"``) or the shift (``"shift"``); None for
        per-frame attacks.
    perturbation_norm_ : float
        Norm (in ``norm``) of ``perturbation_``; for per-frame attacks, the mean norm
        of the perturbations of the training frames.
    fooling_rate_ : float
        Fraction of training frames whose predicted class changes under the attack
        (of the ``max_train_frames`` drawn, for ``"uap"`` and ``"shift"``).
    n_features_in_ : int
        Features per frame.
    n_passes_ : int
        ``"uap"``: passes made over the training frames (0 otherwise).

    See Also
    --------
    skdsp.DiscriminativeSubspacePooling : Pools each video's bags into a subspace.
    skdsp.adversarial.universal_perturbation : The batched UAP algorithm.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import AdversarialBagger
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(size=(20, 8)) + (i % 2) for i in range(6)]
    >>> y = np.array([0, 1] * 3)
    >>> bagger = AdversarialBagger(eps=0.5, classifier__max_epochs=5, random_state=0)
    >>> bags = bagger.fit_transform(videos, y)
    >>> len(bags), bags.positive[0].shape, bags.negative[0].shape
    (6, (20, 8), (20, 8))
    """

    _parameter_constraints: dict = {
        "classifier": [None, HasMethods(["fit", "predict"]), torch.nn.Module, type],
        "attack": [StrOptions(set(_ATTACKS))],
        "eps": [Interval(Real, 0, None, closed="left")],
        "norm": [Options(Real, {2, np.inf}), StrOptions({"2", "inf"})],
        "normalize": ["boolean"],
        "max_fooling": [Interval(Real, 0, 1, closed="both")],
        "max_passes": [Interval(Integral, 1, None, closed="left")],
        "overshoot": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "step_size": [None, Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_train_frames": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "uap_update": [StrOptions({"sum", "sequential"})],
        "device": "no_validation",
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        classifier=None,
        *,
        attack="uap",
        eps=0.5,
        norm=2,
        normalize=True,
        max_fooling=0.8,
        max_passes=10,
        overshoot=0.02,
        max_iter=10,
        n_steps=10,
        step_size=None,
        batch_size=64,
        max_train_frames="auto",
        uap_update="sequential",
        device="auto",
        random_state=None,
        verbose=0,
        **classifier_params,
    ):
        self.classifier = classifier
        self.attack = attack
        self.eps = eps
        self.norm = norm
        self.normalize = normalize
        self.max_fooling = max_fooling
        self.max_passes = max_passes
        self.overshoot = overshoot
        self.max_iter = max_iter
        self.n_steps = n_steps
        self.step_size = step_size
        self.batch_size = batch_size
        self.max_train_frames = max_train_frames
        self.uap_update = uap_update
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        for key, value in classifier_params.items():
            _check_classifier_key(key)
            setattr(self, key, value)

    # ------------------------------------------------------------------ params

    def _classifier_params(self):
        return {k: v for k, v in vars(self).items() if k.startswith("classifier__")}

    def get_params(self, deep=True):
        """Get parameters, including ``classifier__*`` parameters of the net.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of ``classifier`` when it is an estimator.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        params.update(self._classifier_params())
        return params

    def set_params(self, **params):
        """Set parameters; ``classifier__<name>`` keys are stored and applied to the
        net at fit time (the ``classifier`` object itself is not modified).

        Returns
        -------
        self : AdversarialBagger
        """
        own = {}
        for key, value in params.items():
            if key.startswith("classifier__"):
                _check_classifier_key(key)
                setattr(self, key, value)
            else:
                own[key] = value
        if own:
            super().set_params(**own)
        return self

    def set_output(self, *, transform=None):
        """Accept and ignore an output container: the output is always
        :class:`~skdsp.Bags`, which is not a table.

        Returns
        -------
        self : AdversarialBagger
        """
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Train the per-frame classifier and, for ``attack="uap"``, compute the
        universal perturbation.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
            Training videos, time first.
        y : array-like of shape (n_videos,)
            One label per video; at least two classes.

        Returns
        -------
        self : AdversarialBagger
        """
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the bags of ``X``; the same as ``fit(X, y).transform(X)``.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
        y : array-like of shape (n_videos,)

        Returns
        -------
        bags : Bags
        """
        positive, negative = self._fit(X, y)
        if negative is None:
            negative = self._negatives(positive)
        return Bags(positive, negative, validate=False)

    def _fit(self, X, y):
        self._validate_params()
        videos = check_videos(X)
        y = check_labels(y, len(videos))
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if encoder.classes_.shape[0] < 2:
            raise ValueError(
                f"y has a single class ({encoder.classes_[0]!r}); the per-frame "
                "classifier needs at least two classes of videos."
            )
        y_enc = encoder.transform(y)
        norm = attacks.check_norm(self.norm)
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        train_seed, uap_seed, shift_seed, transform_seed = (
            int(s) for s in rng.randint(0, 2**31 - 1, size=4)
        )

        positive = [self._prepare(v) for v in videos]
        n_features = positive[0].shape[1]
        limit = (
            auto_train_frames(n_features)
            if self.max_train_frames == "auto"
            else self.max_train_frames
        )
        frames, frame_labels, every_frame = _training_frames(positive, y_enc, limit, rng)

        n_classes = encoder.classes_.shape[0]
        net = build_frame_classifier(self.classifier, n_features, n_classes)
        prefix = len("classifier__")
        net.set_params(**{k[prefix:]: v for k, v in self._classifier_params().items()})
        net.set_params(device=str(device))
        if self.verbose:
            net.set_params(verbose=1)
        cuda = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(train_seed)
            net.fit(frames, frame_labels)
            _check_trained(net, frames)
        _net_to_cpu(net)

        self.classifier_ = net
        self.classes_ = encoder.classes_
        self.n_features_in_ = n_features
        self._transform_seed = transform_seed
        self.n_passes_ = 0

        module = self._module(device)
        x = torch.as_tensor(frames, device=device, dtype=_dtype(module))
        negative = None
        if self.attack == "uap":
            res = attacks.universal_perturbation(
                module,
                x,
                eps=float(self.eps),
                norm=norm,
                max_fooling=self.max_fooling,
                max_passes=self.max_passes,
                overshoot=self.overshoot,
                max_iter_deepfool=self.max_iter,
                batch_size=self.batch_size,
                update=self.uap_update,
                random_state=uap_seed,
                verbose=self.verbose,
            )
            self.perturbation_ = to_numpy(res.perturbation).astype(np.float64)
            self.fooling_rate_ = res.fooling_rate
            self.n_passes_ = res.n_passes
        elif self.attack == "shift":
            v = attacks.random_directions(
                (n_features,), float(self.eps), norm, generator=torch_generator(shift_seed)
            )
            self.perturbation_ = to_numpy(v).astype(np.float64)
            self.fooling_rate_ = attacks.fooling_rate(
                module, x, v.to(device=device, dtype=x.dtype), batch_size=4096
            )
        else:
            if not every_frame:  # every frame gets its own perturbation
                frames = _stack_frames(positive, _dtype(module))
                x = torch.as_tensor(frames, device=device)
            r = self._per_frame(module, x, positive, device)
            self.perturbation_ = None
            self.fooling_rate_ = attacks.fooling_rate(module, x, r, batch_size=4096)
            self.perturbation_norm_ = float(attacks.lp_norm(r, norm).mean())
            negative = _split(positive, to_numpy(r))
        if self.perturbation_ is not None:
            if not np.isfinite(self.perturbation_).all():
                raise ValueError(
                    f"The {self.attack!r} perturbation is not finite: the per-frame "
                    "classifier's scores overflow on these frames. Use normalize=True, "
                    "or rescale the features (e.g. with FrameScaler)."
                )
            self.perturbation_norm_ = float(
                attacks.lp_norm(torch.as_tensor(self.perturbation_), norm)
            )
        return positive, negative

    # ------------------------------------------------------------------ transform

    def transform(self, X):
        """Return the positive (frames) and negative (perturbed frames) bags.

        Parameters
        ----------
        X : list of array-like of shape (n_frames_i, n_features), or ndarray of shape \
(n_videos, n_frames, n_features)
            Videos, time first.

        Returns
        -------
        bags : Bags
            ``bags.positive[i]`` holds video ``i``'s frames (L2-normalised when
            ``normalize``), ``bags.negative[i]`` their perturbed copies, both of shape
            ``(n_frames_i, n_features)``.
        """
        check_is_fitted(self, "classifier_")
        videos = check_videos(X, n_features=self.n_features_in_)
        positive = [self._prepare(v) for v in videos]
        return Bags(positive, self._negatives(positive), validate=False)

    def _prepare(self, video):
        return l2_normalize(video) if self.normalize else video

    def _module(self, device):
        """The fitted module on ``device``, leaving the fitted (CPU) copy in place."""
        module = self.classifier_.module_
        if device.type != "cpu":
            module = copy.deepcopy(module).to(device)
        return module

    def _negatives(self, positive):
        if self.attack in _UNIVERSAL:
            return [v + self.perturbation_.astype(v.dtype) for v in positive]
        device = resolve_device(self.device)
        module = self._module(device)
        frames = _stack_frames(positive, _dtype(module))
        x = torch.as_tensor(frames, device=device)
        r = self._per_frame(module, x, positive, device)
        return _split(positive, to_numpy(r))

    def _per_frame(self, module, x, positive, device):
        """Per-frame perturbations of the rows of ``x`` (a tensor on ``device`` of the
        frames of ``positive``, concatenated), refusing non-finite ones."""
        # One call per video, the random attacks seeded by the video itself, so that a
        # video's negatives do not depend on the rest of the call, not even through
        # the rounding of a differently sized batch.
        seeds = video_seeds(self._transform_seed, positive)[:, 0]
        parts = torch.split(x, [v.shape[0] for v in positive])
        r = torch.cat([self._attack(module, xv, int(s)) for xv, s in zip(parts, seeds)])
        bad = ~torch.isfinite(r).all(dim=1)
        if bool(bad.any()):
            video = _video_of_row(positive, int(bad.nonzero()[0, 0]))
            raise ValueError(
                f"The {self.attack!r} perturbation of X[{video}] is not finite: the "
                "per-frame classifier's scores overflow on its frames. Use normalize=True, "
                "or rescale the features (e.g. with FrameScaler)."
            )
        return r

    def _attack(self, module, x, seed):
        """Perturbations of the rows of ``x`` (one video's frames); ``seed`` seeds the
        random attacks."""
        norm = attacks.check_norm(self.norm)
        eps = float(self.eps)
        if self.attack == "noise":
            # Drawn on the CPU so the noise does not depend on the device.
            return attacks.random_directions(
                tuple(x.shape), eps, norm, generator=torch_generator(seed), dtype=x.dtype
            ).to(x.device)
        gen = torch_generator(seed, x.device) if self.attack == "pgd" else None
        out = []
        for xb in torch.split(x, _CHUNK):
            if self.attack == "deepfool":
                r = attacks.deepfool(
                    module, xb, overshoot=self.overshoot, max_iter=self.max_iter, norm=norm
                ).perturbation
                r = attacks.project_ball(r, eps, norm)
            else:
                yb = attacks.predict(module, xb)
                if self.attack == "fgsm":
                    r = attacks.fgsm(module, xb, yb, eps=eps, norm=norm)
                else:
                    r = attacks.pgd(
                        module,
                        xb,
                        yb,
                        eps=eps,
                        norm=norm,
                        step_size=self.step_size,
                        n_steps=self.n_steps,
                        generator=gen,
                    )
            out.append(r)
        return torch.cat(out)


def _stack_frames(positive, dtype):
    """All frames, concatenated, in the NumPy form of torch ``dtype`` (the per-frame
    classifier's), refusing values that the cast would turn into inf."""
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    with np.errstate(over="ignore"):
        frames = np.concatenate(positive).astype(np_dtype, copy=False)
    bad = ~np.isfinite(frames).all(axis=1)
    if bad.any():
        video = _video_of_row(positive, int(np.flatnonzero(bad)[0]))
        peak = max(float(np.abs(v).max()) for v in positive if v.size)
        raise ValueError(
            f"X[{video}] has values beyond the range of the per-frame classifier's "
            f"{np_dtype} (the largest magnitude is {peak:.3g}); use normalize=True, or "
            "rescale the features (e.g. with FrameScaler)."
        )
    return frames


def _video_of_row(positive, row):
    """Index of the video that row ``row`` of the concatenated frames belongs to."""
    return int(np.searchsorted(np.cumsum([v.shape[0] for v in positive]), row, "right"))


def _check_trained(net, frames):
    """Refuse a classifier whose training diverged (non-finite weights or scores)."""
    finite = all(bool(torch.isfinite(p).all()) for p in net.module_.parameters())
    if finite:
        finite = bool(torch.isfinite(net.forward(frames, training=False)).all())
    if not finite:
        raise ValueError(
            "The per-frame classifier diverged in training (its weights or scores are "
            "not finite); the frames' largest magnitude is "
            f"{float(np.abs(frames).max()):.3g}. Use normalize=True, or rescale the "
            "features (e.g. with FrameScaler)."
        )


def auto_train_frames(n_features):
    """Training frames of ``max_train_frames="auto"`` for frames of ``n_features``."""
    low, high = _AUTO_TRAIN_FRAMES
    return int(min(high, max(low, _AUTO_TRAIN_VALUES // n_features)))


def _training_frames(positive, labels, limit, rng):
    """The frames the classifier and the perturbation are fitted on, and their labels.

    All frames when there are at most ``limit``; otherwise ``limit`` of them drawn
    without replacement (kept in video and time order), gathered without first
    concatenating every frame. Cast to float32 by :func:`_stack_frames`.

    Returns
    -------
    frames : ndarray of shape (n_selected, n_features), float32
    frame_labels : ndarray of shape (n_selected,), int64
    every_frame : bool
    """
    lengths = np.array([p.shape[0] for p in positive])
    total = int(lengths.sum())
    if total <= limit:
        frames = _stack_frames(positive, torch.float32)
        return frames, np.repeat(labels, lengths).astype(np.int64), True
    chosen = np.sort(rng.choice(total, size=limit, replace=False))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    video = np.searchsorted(bounds, chosen, side="right") - 1
    cuts = np.searchsorted(video, np.arange(len(positive) + 1))
    # One (possibly empty) block per video, so that an error names the right video.
    subset = [p[chosen[a:b] - bounds[v]] for v, (p, a, b) in enumerate(
        zip(positive, cuts[:-1], cuts[1:])
    )]
    return _stack_frames(subset, torch.float32), labels[video].astype(np.int64), False


def _split(positive, r):
    """Add the rows of ``r`` (all frames, concatenated) to the videos they belong to."""
    bounds = np.cumsum([p.shape[0] for p in positive])[:-1]
    return [p + ri.astype(p.dtype) for p, ri in zip(positive, np.split(r, bounds))]


def _dtype(module):
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _check_classifier_key(key):
    if not key.startswith("classifier__") or key == "classifier__":
        raise TypeError(
            f"AdversarialBagger got an unexpected parameter {key!r}; parameters of the "
            "per-frame classifier are passed as classifier__<name>."
        )


def _net_to_cpu(net):
    """Move a fitted skorch net's modules, criteria and optimizer state to the CPU and
    set its device to match, so it pickles and loads without CUDA."""
    for name in net.cuda_dependent_attributes_:
        obj = getattr(net, name, None)
        if isinstance(obj, torch.nn.Module):
            obj.to("cpu")
        elif isinstance(obj, torch.optim.Optimizer):
            for state in obj.state.values():
                for k, v in state.items():
                    if torch.is_tensor(v):
                        state[k] = v.to("cpu")
    net.set_params(device="cpu")
