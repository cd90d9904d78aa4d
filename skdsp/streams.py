"""Several streams of the same videos (appearance, motion, ...), indexable by video.

A *stream* is a collection of videos as every skdsp step takes it (a list of
``(n_frames, n_features)`` arrays, file paths, frame arrays...). :class:`Streams` holds
several streams of the same videos under names, and behaves towards scikit-learn like
one collection of ``n_videos`` samples: cross-validation splits, ``GridSearchCV`` and
``cross_val_predict`` select the same videos in every stream.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import _safe_indexing

__all__ = ["Streams"]


class Streams:
    """Named streams of the same videos, indexed together.

    Parameters
    ----------
    streams : dict of str to collection, default=None
        Stream name -> that stream's videos, in the same order in every stream.
    **named : collection
        More streams by keyword, e.g. ``Streams(rgb=rgb_features, flow=flow_features)``.

    Attributes
    ----------
    names : tuple of str
        The streams' names, in the order given.
    shape : tuple of (int,)
        ``(n_videos,)``: what scikit-learn reads to count samples.

    Notes
    -----
    ``streams[name]`` is a stream (as given); ``streams[i]`` is video ``i`` as a dict
    of its streams; any other index (an array of integers or booleans, a slice, a
    list) selects videos and returns a new :class:`Streams`. Iterating goes over
    videos.

    Examples
    --------
    >>> import numpy as np
    >>> from skdsp import Streams
    >>> rgb = [np.zeros((5, 4)), np.ones((3, 4)), np.ones((4, 4))]
    >>> flow = [np.zeros((4, 6)), np.ones((2, 6)), np.ones((3, 6))]
    >>> X = Streams(rgb=rgb, flow=flow)
    >>> len(X), X.names
    (3, ('rgb', 'flow'))
    >>> X[[0, 2]]["flow"][1].shape
    (3, 6)
    """

    def __init__(self, streams=None, **named):
        if streams is not None and not isinstance(streams, dict):
            raise TypeError(
                f"streams must be a dict of name -> videos, got {type(streams).__name__}."
            )
        mapping = dict(streams or {})
        for name, videos in named.items():
            if name in mapping:
                raise ValueError(f"Stream {name!r} is given twice.")
            mapping[name] = videos
        if not mapping:
            raise ValueError("Streams needs at least one stream.")
        lengths = {}
        for name, videos in mapping.items():
            if not isinstance(name, str) or not name or "__" in name:
                raise ValueError(
                    f"Stream names must be non-empty strings without '__' (used to route "
                    f"parameters), got {name!r}."
                )
            if isinstance(videos, (str, bytes, dict, Streams)) or not hasattr(
                videos, "__len__"
            ):
                raise TypeError(
                    f"Stream {name!r} must be a collection of videos (a list or an "
                    f"array), got {type(videos).__name__}."
                )
            lengths[name] = len(videos)
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"Every stream must hold the same videos; their lengths differ: {lengths}."
            )
        self._streams = mapping

    @property
    def names(self):
        return tuple(self._streams)

    @property
    def shape(self):
        return (len(self),)

    def __len__(self):
        return len(next(iter(self._streams.values())))

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._streams:
                raise KeyError(
                    f"No stream named {key!r}; the streams are {list(self._streams)}."
                )
            return self._streams[key]
        if isinstance(key, tuple) and len(key) == 2 and key[1] is Ellipsis:
            key = key[0]  # how scikit-learn indexes objects that have a shape
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"Video {key} is out of range for {n} videos.")
            return {name: videos[key] for name, videos in self._streams.items()}
        if isinstance(key, slice):
            key = np.arange(len(self))[key]
        key = np.asarray(key)
        if key.dtype == bool:
            if key.shape != (len(self),):
                raise IndexError(
                    f"A boolean index must have shape ({len(self)},), got {key.shape}."
                )
            key = np.flatnonzero(key)
        elif key.ndim != 1 or (key.size and not np.issubdtype(key.dtype, np.integer)):
            raise IndexError(
                "Index Streams by a stream name, a video number, a slice, or a 1-D "
                f"array of video numbers or booleans; got {key!r}."
            )
        key = key.astype(np.intp)
        return Streams(
            {name: _safe_indexing(videos, key) for name, videos in self._streams.items()}
        )

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return f"Streams({', '.join(self._streams)}; {len(self)} videos)"
