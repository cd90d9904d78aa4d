"""Ready-made pipelines: the published method, skdsp's defaults, and the baselines.

Every pipeline takes a collection of videos ``(n_frames, n_features)`` and labels, and
ends in a classifier whose regularisation ``C`` is chosen by an inner cross-validation
on the training videos alone, so that all methods are compared on equal terms.
"""

from __future__ import annotations

from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

__all__ = [
    "C_GRID",
    "tuned_svc",
    "published_pipeline",
    "dsp_pipeline",
    "baseline_pipeline",
    "two_stream_pipeline",
    "BASELINES",
]

#: Values of the SVM's ``C`` tried by the inner cross-validation.
C_GRID = (0.1, 1.0, 10.0, 100.0)

#: Names accepted by :func:`baseline_pipeline`.
BASELINES = ("average", "max", "rank", "svm")


def tuned_svc(kernel="precomputed", *, cv=3, random_state=None):
    """An SVC whose ``C`` is chosen by stratified cross-validation on the training set.

    Parameters
    ----------
    kernel : str, default="precomputed"
        ``"precomputed"`` after :class:`~skdsp.SubspaceKernel`, ``"rbf"`` after a
        pooling with vector output.
    cv : int, default=3
        Folds of the inner cross-validation.
    random_state : int or None, default=None
        Seed of the fold shuffling.

    Returns
    -------
    search : GridSearchCV
    """
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    return GridSearchCV(SVC(kernel=kernel), {"C": list(C_GRID)}, cv=folds)


def published_pipeline(*, device="auto", random_state=None):
    """The method exactly as published.

    A single universal adversarial perturbation against a per-frame classifier makes
    the negative bags; DSP with margin 1, summed terms, ``C = lambda = 1`` (so an order
    weight of 0.5), ``eta = 1e-3``, ``p = 3`` hyperplanes, 100 iterations of Riemannian
    conjugate gradient from one PCA start (``n_init=1``), forward and time-reversed
    subspaces; a projection RBF kernel on the subspaces and an SVM.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int or None, default=None

    Returns
    -------
    pipeline : Pipeline
    """
    from skdsp.adversarial.bagger import AdversarialBagger
    from skdsp.kernels import SubspaceKernel
    from skdsp.pooling.dsp import DiscriminativeSubspacePooling

    return make_pipeline(
        AdversarialBagger(attack="uap", device=device, random_state=random_state),
        DiscriminativeSubspacePooling(
            n_components=3,
            eta=1e-3,
            order_weight=0.5,
            margin=1.0,
            reduction="sum",
            bidirectional=True,
            include_mean=False,
            max_iter=100,
            n_init=1,
            device=device,
            random_state=random_state,
        ),
        SubspaceKernel(kernel="projection_rbf", mean_weight=0.0),
        tuned_svc(random_state=random_state),
    )


def dsp_pipeline(
    *, scale_frames=False, bagger=None, pooling=None, kernel=None, device="auto",
    random_state=None,
):
    """skdsp's default DSP pipeline; keyword dictionaries override each step's parameters.

    Parameters
    ----------
    scale_frames : bool, default=False
        Start with a :class:`~skdsp.preprocessing.FrameScaler`, so that every feature
        weighs the same in the L2 normalisation of frames.
    bagger, pooling, kernel : dict or None, default=None
        Parameters for :class:`~skdsp.AdversarialBagger`,
        :class:`~skdsp.DiscriminativeSubspacePooling` and :class:`~skdsp.SubspaceKernel`
        that differ from their defaults. ``bagger=False`` leaves the bagger out, so the
        pooling makes its own random negatives.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int or None, default=None

    Returns
    -------
    pipeline : Pipeline
    """
    from skdsp.adversarial.bagger import AdversarialBagger
    from skdsp.kernels import SubspaceKernel
    from skdsp.pooling.dsp import DiscriminativeSubspacePooling

    steps = []
    if scale_frames:
        from skdsp.preprocessing import FrameScaler

        steps.append(FrameScaler())
    if bagger is not False:
        steps.append(
            AdversarialBagger(device=device, random_state=random_state, **(bagger or {}))
        )
    steps += [
        DiscriminativeSubspacePooling(
            device=device, random_state=random_state, **(pooling or {})
        ),
        SubspaceKernel(**(kernel or {})),
        tuned_svc(random_state=random_state),
    ]
    return make_pipeline(*steps)


def baseline_pipeline(name, *, normalize_frames=False, random_state=None):
    """A baseline pooling, standardised, then an RBF SVM.

    Parameters
    ----------
    name : {"average", "max", "rank", "svm"}
    normalize_frames : bool, default=False
        Scale every frame to unit L2 norm before pooling (as DSP does).
    random_state : int or None, default=None

    Returns
    -------
    pipeline : Pipeline
    """
    from skdsp.pooling import baselines

    poolings = {
        "average": lambda: baselines.AveragePooling(),
        "max": lambda: baselines.MaxPooling(),
        "rank": lambda: baselines.RankPooling(),
        "svm": lambda: baselines.SVMPooling(random_state=random_state),
    }
    if name not in poolings:
        raise ValueError(f"Unknown baseline {name!r}; choose one of {BASELINES}.")
    steps = [poolings[name](), StandardScaler(), tuned_svc("rbf", random_state=random_state)]
    if normalize_frames:
        from skdsp.preprocessing import FrameNormalizer

        steps.insert(0, FrameNormalizer())
    return make_pipeline(*steps)


def two_stream_pipeline(
    streams=("rgb", "flow"), *, weights="cv", bagger=None, pooling=None, kernel=None,
    device="auto", random_state=None,
):
    """DSP on each stream of the videos, kernels summed with weights, then an SVM.

    Each stream (appearance and motion features of the same videos, given as a
    :class:`~skdsp.Streams`) gets its own :func:`dsp_pipeline` up to the kernel:
    adversarial negatives, one subspace per video, a kernel on subspaces. A
    :class:`~skdsp.StreamUnion` sums the streams' kernels, with weights chosen on the
    training videos (``weights="cv"``) or given, for the SVM.

    Parameters
    ----------
    streams : sequence of str, default=("rgb", "flow")
        Names of the streams, as in the :class:`~skdsp.Streams` the pipeline is fitted
        on.
    weights : {"cv", "alignment"} or sequence of float or dict, default="cv"
        How the streams' kernels are weighted (see :class:`~skdsp.StreamUnion`).
    bagger, pooling, kernel : dict or None, default=None
        Parameters of every stream's :class:`~skdsp.AdversarialBagger`,
        :class:`~skdsp.DiscriminativeSubspacePooling` and :class:`~skdsp.SubspaceKernel`
        that differ from their defaults (as in :func:`dsp_pipeline`); a single
        stream's can be set later with ``set_params``, e.g.
        ``streamunion__flow__discriminativesubspacepooling__n_components=2``.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int or None, default=None

    Returns
    -------
    pipeline : Pipeline

    Examples
    --------
    >>> from skdsp import Streams
    >>> from skdsp.presets import two_stream_pipeline
    >>> clf = two_stream_pipeline(random_state=0)
    >>> clf.fit(Streams(rgb=rgb_train, flow=flow_train), y_train)  # doctest: +SKIP
    >>> clf.score(Streams(rgb=rgb_test, flow=flow_test), y_test)  # doctest: +SKIP
    """
    from skdsp.fusion import StreamUnion

    per_stream = [
        (
            name,
            dsp_pipeline(
                bagger=bagger, pooling=pooling, kernel=kernel, device=device,
                random_state=random_state,
            )[:-1],
        )
        for name in streams
    ]
    return make_pipeline(
        StreamUnion(per_stream, weights=weights), tuned_svc(random_state=random_state)
    )
