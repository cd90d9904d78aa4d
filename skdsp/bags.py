"""Positive and negative bags of frames, one pair per video."""

from __future__ import annotations

import numpy as np

from skdsp.utils.validation import check_videos

__all__ = ["Bags"]


class Bags:
    """The positive and negative bags of a collection of videos.

    The positive bag of a video is its frames in temporal order; the negative bag is a
    set of frames that the video's subspace should separate from them (adversarially
    perturbed frames, or noise). This is what :class:`~skdsp.AdversarialBagger`
    produces and what :class:`~skdsp.DiscriminativeSubspacePooling` accepts in place of
    plain videos.

    Parameters
    ----------
    positive : list of ndarray of shape (n_frames_i, n_features)
        Frames of each video, time first.
    negative : list of ndarray of shape (n_negatives_i, n_features)
        Negatives of each video. Their count may differ from ``n_frames_i``.
    validate : bool, default=True
        Check shapes and values (see :func:`skdsp.utils.check_videos`).

    Attributes
    ----------
    n_videos : int
    n_features : int

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import Bags
    >>> pos = [np.ones((5, 3)), np.ones((7, 3))]
    >>> neg = [-np.ones((5, 3)), -np.ones((7, 3))]
    >>> bags = Bags(pos, neg)
    >>> len(bags), bags.n_features
    (2, 3)
    >>> len(bags[1:])
    1
    """

    def __init__(self, positive, negative, *, validate=True):
        if validate:
            positive = check_videos(positive, name="positive")
            negative = check_videos(
                negative,
                name="negative",
                n_features=positive[0].shape[1],
                fitted_with="the positive bags",
            )
            if len(positive) != len(negative):
                raise ValueError(
                    f"There are {len(positive)} positive bags but {len(negative)} "
                    "negative bags; expected one of each per video."
                )
        self.positive = list(positive)
        self.negative = list(negative)

    @property
    def n_videos(self):
        return len(self.positive)

    @property
    def n_features(self):
        return self.positive[0].shape[1]

    def __len__(self):
        return len(self.positive)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.positive[index], self.negative[index]
        if isinstance(index, slice):
            idx = range(len(self))[index]
        else:
            idx = np.arange(len(self))[np.asarray(index)]
        return Bags(
            [self.positive[i] for i in idx],
            [self.negative[i] for i in idx],
            validate=False,
        )

    def __repr__(self):
        return f"Bags(n_videos={len(self)}, n_features={self.n_features})"


def check_bags(X, *, n_features=None, min_frames=1, name="X"):
    """Validate bags, or plain videos, for a pooling step.

    Parameters
    ----------
    X : Bags or collection of videos
    n_features : int, default=None
        Features seen in ``fit``.

    Returns
    -------
    positive : list of ndarray of shape (n_frames_i, n_features)
    negative : list of ndarray of shape (n_negatives_i, n_features) or None
        None when ``X`` held plain videos.
    """
    if isinstance(X, Bags):
        pos = check_videos(
            X.positive, n_features=n_features, min_frames=min_frames, name=f"{name}.positive"
        )
        neg = check_videos(
            X.negative,
            n_features=pos[0].shape[1],
            name=f"{name}.negative",
            fitted_with=f"{name}.positive",
        )
        return pos, neg
    return check_videos(X, n_features=n_features, min_frames=min_frames, name=name), None
