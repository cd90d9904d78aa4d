"""The white-box control: the exact worst case for average pooling and a linear model.

For a pipeline ``AveragePooling -> [StandardScaler] -> linear classifier`` the class
scores of a video are affine in the mean of its frames, ``s = W m + b``. If every frame
may move by at most ``eps`` (in an L2 or Linf norm), the mean moves by at most ``eps``
too, and moving every frame by the same vector ``d`` reaches every point of that ball.
So the strongest attack has a closed form: for the true class ``y``, each other class
``k`` can gain ``eps * ||w_k - w_y||_*`` (the dual norm) on ``y``; the video is lost
exactly when ``s_k - s_y + eps * ||w_k - w_y||_* > 0`` for some ``k``, and
``d = eps * (w_k - w_y) / ||w_k - w_y||_2`` (L2) or ``eps * sign(w_k - w_y)`` (Linf)
for the ``k`` that gains most loses it. No attack within the same per-frame bound can
do better on such a pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.preprocessing import StandardScaler

from skdsp.evaluation.frame_attacks import pipeline_steps

__all__ = ["LinearVideoModel", "linear_video_model"]


@dataclass(frozen=True)
class LinearVideoModel:
    """Class scores ``means @ weights.T + intercept`` of a linear pipeline on frame means.

    Parameters
    ----------
    pooling : AveragePooling
        The pipeline's pooling step (it computes the means).
    weights : ndarray of shape (n_classes, n_features)
        Weights on the raw frame means (the scaler folded in). A binary classifier
        gets a zero row for its first class.
    intercept : ndarray of shape (n_classes,)
    classes : ndarray of shape (n_classes,)
    """

    pooling: object
    weights: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    def scores(self, videos):
        """Class scores of each video, shape ``(n_videos, n_classes)``."""
        return self.pooling.transform(videos) @ self.weights.T + self.intercept

    def worst_case_shift(self, videos, y, eps, norm):
        """The shift of every frame that lowers the true class most, per video.

        Parameters
        ----------
        videos : list of ndarray of shape (n_frames_i, n_features)
        y : ndarray of shape (n_videos,)
            True labels; a video whose label the classifier does not know is left
            unshifted (it is misclassified already).
        eps : float
            Norm bound of each frame's perturbation.
        norm : {2, inf}

        Returns
        -------
        shifts : ndarray of shape (n_videos, n_features)
            Row ``i`` is added to every frame of video ``i``; its norm is ``eps`` (or 0).
        """
        W = self.weights
        s = self.scores(videos)
        index = {c: i for i, c in enumerate(self.classes)}
        true = np.array([index.get(label, -1) for label in y])
        known = true >= 0
        rows = np.flatnonzero(known)
        t = true[known]
        # Dual norms of w_k - w_y for all pairs of classes: (n_classes, n_classes).
        diff = W[None, :, :] - W[:, None, :]
        dual = np.linalg.norm(diff, ord=2 if norm == 2 else 1, axis=-1)
        gain = s[rows] - s[rows, t][:, None] + eps * dual[t]
        gain[np.arange(t.size), t] = -np.inf
        k = gain.argmax(axis=1)
        direction = W[k] - W[t]
        if norm == 2:
            length = np.linalg.norm(direction, axis=1, keepdims=True)
            step = direction / np.where(length > 0, length, 1.0)
        else:
            step = np.sign(direction)
        shifts = np.zeros((len(videos), W.shape[1]))
        shifts[rows] = eps * step
        return shifts


def linear_video_model(estimator, videos):
    """The linear form of an ``AveragePooling -> [StandardScaler] -> linear`` pipeline.

    Parameters
    ----------
    estimator : fitted Pipeline
        Steps: :class:`~skdsp.AveragePooling`, optionally a
        :class:`~sklearn.preprocessing.StandardScaler`, then a classifier with
        ``coef_``, ``intercept_`` and a ``decision_function`` affine in its input
        (``LogisticRegression``, ``LinearSVC``, ``RidgeClassifier``, ...; a fitted
        search over one stands for its best estimator).
    videos : list of ndarray of shape (n_frames_i, n_features)
        Videos on which the decision function is checked to be that affine map.

    Returns
    -------
    model : LinearVideoModel

    Raises
    ------
    ValueError
        If the pipeline is not of that form.
    """
    from skdsp.pooling.baselines import AveragePooling

    steps = pipeline_steps(estimator)
    names = " -> ".join(type(s).__name__ for s in steps)
    form = (
        "attack='whitebox_linear' needs a pipeline AveragePooling -> [StandardScaler] "
        f"-> linear classifier; got {names}"
    )
    if len(steps) not in (2, 3) or not isinstance(steps[0], AveragePooling):
        raise ValueError(form + ".")
    scaler = steps[1] if len(steps) == 3 else None
    if scaler is not None and not isinstance(scaler, StandardScaler):
        raise ValueError(form + ".")
    clf = pipeline_steps(steps[-1])[0]
    coef = getattr(clf, "coef_", None)
    intercept = getattr(clf, "intercept_", None)
    classes = getattr(clf, "classes_", None)
    if coef is None or intercept is None or classes is None or not hasattr(
        clf, "decision_function"
    ):
        raise ValueError(form + f": {type(clf).__name__} has no linear coefficients.")
    coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(intercept, dtype=np.float64), coef.shape[:1])
    if coef.shape[0] != (1 if len(classes) == 2 else len(classes)):
        raise ValueError(
            form + f": {type(clf).__name__} has {coef.shape[0]} rows of coefficients "
            f"for {len(classes)} classes (one-vs-one models are not linear in the "
            "argmax sense)."
        )
    mean = np.zeros(coef.shape[1])
    scale = np.ones(coef.shape[1])
    if scaler is not None:
        if scaler.mean_ is not None:
            mean = scaler.mean_
        if scaler.scale_ is not None:
            scale = scaler.scale_
    W = coef / scale
    b = intercept - W @ mean
    if len(classes) == 2:  # the decision function is the score of classes_[1]
        W = np.vstack([np.zeros_like(W), W])
        b = np.array([0.0, b[0]])
    model = LinearVideoModel(steps[0], W, b, np.asarray(classes))

    # The formula above must be the classifier's own decision function.
    Z = model.pooling.transform(videos)
    if scaler is not None:
        Z = scaler.transform(Z)
    expected = clf.decision_function(Z)
    scores = model.scores(videos)
    got = scores[:, 1] - scores[:, 0] if len(classes) == 2 else scores
    tol = 1e-8 * max(1.0, float(np.abs(expected).max()))
    if not np.allclose(got, expected, rtol=1e-6, atol=tol):
        raise ValueError(
            form + f": the decision function of {type(clf).__name__} is not affine in "
            "its input."
        )
    return model
