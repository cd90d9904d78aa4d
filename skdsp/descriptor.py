"""The 2-D layout of subspace descriptors, readable by the steps that follow.

:class:`~skdsp.DiscriminativeSubspacePooling` returns one row per video so that any
scikit-learn estimator can follow it. A kernel on subspaces must still recover each
video's ``(n_features, n_components)`` matrices from that row, without the user
repeating ``n_components`` (which a grid search may vary). The row therefore starts
with a small header that describes its own layout::

    [n_directions, n_components, n_features, has_mean,   # header, 4 columns
     mean (n_features, only if has_mean),
     subspace of direction 0 (n_features * n_components, row-major),
     subspace of direction 1 ...]

Header columns are constant across videos and so carry no weight in a kernel or a
standardised linear model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SubspaceDescriptors",
    "pack_descriptors",
    "unpack_descriptors",
    "descriptor_feature_names",
]

N_HEADER = 4
DIRECTION_NAMES = ("forward", "backward")


@dataclass
class SubspaceDescriptors:
    """Subspaces (and optional means) unpacked from descriptor rows.

    Attributes
    ----------
    subspaces : ndarray of shape (n_videos, n_directions, n_features, n_components)
        Orthonormal bases, one per video and direction (forward, then time-reversed).
    mean : ndarray of shape (n_videos, n_features) or None
        Mean frame of each video, when the descriptor carries it.
    """

    subspaces: np.ndarray
    mean: np.ndarray | None

    @property
    def n_directions(self):
        return self.subspaces.shape[1]

    @property
    def n_features(self):
        return self.subspaces.shape[2]

    @property
    def n_components(self):
        return self.subspaces.shape[3]


def pack_descriptors(subspaces, mean=None):
    """Lay subspaces (and means) out as descriptor rows.

    Parameters
    ----------
    subspaces : ndarray of shape (n_videos, n_directions, n_features, n_components)
    mean : ndarray of shape (n_videos, n_features), default=None

    Returns
    -------
    X : ndarray of shape (n_videos, 4 + [n_features] + n_directions * n_features * n_components)
    """
    subspaces = np.asarray(subspaces)
    n_videos, n_dir, d, p = subspaces.shape
    header = np.tile(
        np.array([n_dir, p, d, mean is not None], dtype=subspaces.dtype), (n_videos, 1)
    )
    blocks = [header]
    if mean is not None:
        blocks.append(np.asarray(mean, dtype=subspaces.dtype).reshape(n_videos, d))
    blocks.append(subspaces.reshape(n_videos, n_dir * d * p))
    return np.concatenate(blocks, axis=1)


def _layout_error(msg):
    return ValueError(
        f"{msg} Expected rows from DiscriminativeSubspacePooling.transform "
        "(a header [n_directions, n_components, n_features, has_mean] then the "
        "subspaces); was another step placed in between?"
    )


def unpack_descriptors(X):
    """Recover subspaces (and means) from descriptor rows.

    Parameters
    ----------
    X : array-like of shape (n_videos, n_columns)
        Rows made by :func:`pack_descriptors`.

    Returns
    -------
    descriptors : SubspaceDescriptors

    Raises
    ------
    ValueError
        If the rows do not follow the layout.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] < N_HEADER + 1:
        raise _layout_error(f"Got an array of shape {X.shape}.")
    header = X[:, :N_HEADER]
    if not np.all(header == header[0]):
        raise _layout_error("The header columns differ between rows.")
    n_dir, p, d, has_mean = header[0]
    if not all(float(v).is_integer() and v >= 0 for v in header[0]) or min(
        n_dir, p, d
    ) < 1 or has_mean not in (0, 1):
        raise _layout_error(f"The header {header[0].tolist()} is not a valid layout.")
    n_dir, p, d, has_mean = int(n_dir), int(p), int(d), bool(has_mean)
    expected = N_HEADER + has_mean * d + n_dir * d * p
    if X.shape[1] != expected:
        raise _layout_error(
            f"The header describes {expected} columns, but the rows have {X.shape[1]}."
        )
    start = N_HEADER
    mean = None
    if has_mean:
        mean = X[:, start : start + d]
        start += d
    subspaces = X[:, start:].reshape(X.shape[0], n_dir, d, p)
    return SubspaceDescriptors(subspaces=subspaces, mean=mean)


def descriptor_feature_names(n_directions, n_features, n_components, has_mean, prefix):
    """Column names of descriptor rows, as ``get_feature_names_out`` returns them.

    Returns
    -------
    names : ndarray of str of shape (n_columns,)
    """
    names = [f"{prefix}_{h}" for h in ("n_directions", "n_components", "n_features", "has_mean")]
    if has_mean:
        names += [f"{prefix}_mean_f{j}" for j in range(n_features)]
    for direction in DIRECTION_NAMES[:n_directions]:
        names += [
            f"{prefix}_{direction}_f{j}_c{k}"
            for j in range(n_features)
            for k in range(n_components)
        ]
    return np.asarray(names, dtype=object)
