"""The result of a robustness evaluation: accuracy against the size of the attack."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RobustnessCurve"]


@dataclass(frozen=True, eq=False)
class RobustnessCurve:
    """Accuracy of several estimators on attacked test videos, for each norm bound.

    Made by :func:`~skdsp.evaluation.robustness_curve`.

    Attributes
    ----------
    names : tuple of str of shape (n_estimators,)
        The estimators, in the order given.
    eps : ndarray of shape (n_eps,)
        Norm bounds as given: relative to ``scale`` when ``eps_scale="median_norm"``.
    eps_absolute : ndarray of shape (n_eps,)
        Norm bounds in the units of the frames, ``eps * scale``.
    accuracy : ndarray of shape (n_estimators, n_eps)
        Accuracy on the attacked videos, mean over repeats.
    accuracy_std : ndarray of shape (n_estimators, n_eps)
        Standard deviation of the accuracy over repeats (0 with one repeat).
    scores : ndarray of shape (n_estimators, n_eps, n_repeats)
        Every accuracy measured.
    fooling_rate : ndarray of shape (n_eps,)
        Fraction of frames whose prediction by the frame classifier the attack
        changes, mean over repeats; NaN when no frame classifier was used.
    perturbation_norm : ndarray of shape (n_eps,)
        Mean norm of the perturbations of the frames, measured on the perturbed frames
        (perturbed minus clean), in the units of the frames.
    max_perturbation_norm : ndarray of shape (n_eps,)
        The largest such norm: at most ``eps_absolute``.
    attack : str
        The attack.
    norm : int or float
        ``2`` or ``inf``: the norm of every bound and measured norm.
    eps_scale : str
        ``"median_norm"`` or ``"absolute"``.
    scale : float
        The frames' median norm (``eps_scale="median_norm"``) or 1.
    frame_classifier : str or None
        Where the frame classifier came from: the name of the estimator whose bagger
        it is, ``"given"`` for one passed in, None when none was used.
    """

    names: tuple
    eps: np.ndarray
    eps_absolute: np.ndarray
    accuracy: np.ndarray
    accuracy_std: np.ndarray
    scores: np.ndarray
    fooling_rate: np.ndarray
    perturbation_norm: np.ndarray
    max_perturbation_norm: np.ndarray
    attack: str
    norm: float
    eps_scale: str
    scale: float
    frame_classifier: str | None

    def to_frame(self):
        """The curve as a long table, one row per estimator and norm bound.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``estimator``, ``eps``, ``eps_absolute``, ``accuracy``,
            ``accuracy_std``, ``fooling_rate``, ``perturbation_norm``.

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "RobustnessCurve.to_frame needs pandas (pip install pandas); the same "
                "numbers are in the attributes accuracy, accuracy_std, fooling_rate and "
                "perturbation_norm."
            ) from exc
        n_est, n_eps = self.accuracy.shape
        return pd.DataFrame(
            {
                "estimator": np.repeat(np.asarray(self.names, dtype=object), n_eps),
                "eps": np.tile(self.eps, n_est),
                "eps_absolute": np.tile(self.eps_absolute, n_est),
                "accuracy": self.accuracy.ravel(),
                "accuracy_std": self.accuracy_std.ravel(),
                "fooling_rate": np.tile(self.fooling_rate, n_est),
                "perturbation_norm": np.tile(self.perturbation_norm, n_est),
            }
        )

    def plot(self, ax=None, **kwargs):
        """Plot accuracy against ``eps``, one line per estimator.

        A band of one standard deviation over repeats is shaded when there is more than
        one repeat.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; the current axes when None.
        **kwargs
            Passed to ``ax.plot`` for every line.

        Returns
        -------
        ax : matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            ax = plt.gca()
        order = np.argsort(self.eps, kind="stable")
        x = self.eps[order]
        for name, acc, std in zip(self.names, self.accuracy, self.accuracy_std):
            (line,) = ax.plot(x, acc[order], marker="o", label=name, **kwargs)
            if self.scores.shape[2] > 1:
                ax.fill_between(x, (acc - std)[order], (acc + std)[order],
                                color=line.get_color(), alpha=0.15)
        norm = "L2" if self.norm == 2 else "Linf"
        relative = " / median frame norm" if self.eps_scale == "median_norm" else ""
        ax.set_xlabel(f"eps ({norm}{relative})")
        ax.set_ylabel("accuracy")
        ax.set_title(self.attack)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        return ax
