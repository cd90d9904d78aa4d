"""
Principal angles between video subspaces
========================================

DSP describes a video by a subspace: ``n_components`` orthonormal directions in
feature space. Two subspaces are compared through their *principal angles*
:math:`0 \\le \\theta_1 \\le \\dots \\le \\theta_p \\le \\pi/2`, whose cosines are the
singular values of :math:`U^\\top V`; :class:`~skdsp.SubspaceKernel` is built on
:math:`\\sum_i \\cos^2 \\theta_i = \\lVert U^\\top V \\rVert_F^2`.

This example computes the forward DSP subspaces of the BasicMotions test recordings
and asks whether recordings of the same activity have smaller angles between them
than recordings of different activities, for DSP subspaces and for the plain PCA
subspaces of the frames (the solver's starting point).
"""

# %%
# Subspaces of the test recordings
# --------------------------------
#
# The frame features are standardised first (:class:`~skdsp.FrameScaler`: the
# accelerometer and gyroscope channels have different scales). The bagger is fitted
# on the training recordings (its frame classifier and universal
# perturbation are learned there) and turns the test recordings into bags; the
# pooling then solves one subspace per test recording. ``bidirectional=False`` keeps
# the forward subspace only. Few passes of the universal perturbation keep this page
# fast.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score

from skdsp import AdversarialBagger, DiscriminativeSubspacePooling, FrameScaler
from skdsp.datasets import load_basic_motions
from skdsp.descriptor import unpack_descriptors

X_train, y_train, X_test, y_test = load_basic_motions()
p = 3

scaler = FrameScaler().fit(X_train)
bagger = AdversarialBagger(
    max_passes=3, batch_size=256, device="cpu", random_state=0
)
bagger.fit(scaler.transform(X_train), y_train)
bags = bagger.transform(scaler.transform(X_test))
pooling = DiscriminativeSubspacePooling(
    n_components=p, bidirectional=False, device="cpu", random_state=0
)
U_dsp = unpack_descriptors(pooling.fit_transform(bags)).subspaces[
    :, 0
]  # (n, d, p)


def pca_basis(frames, p):
    """Top-p left singular vectors of the frames' transpose (uncentred PCA)."""
    return np.linalg.svd(frames.T, full_matrices=False)[0][:, :p]


U_pca = np.stack([pca_basis(v, p) for v in bags.positive])
print(f"{len(U_dsp)} test recordings, subspaces of shape {U_dsp.shape[1:]}")


# %%
# Principal angles between every pair
# -----------------------------------
def principal_angles(U):
    """Principal angles (radians) between all pairs, shape (n, n, p), ascending."""
    cosines = np.linalg.svd(np.einsum("idp,jdq->ijpq", U, U), compute_uv=False)
    return np.arccos(np.clip(cosines, 0.0, 1.0))


order = np.argsort(y_test, kind="stable")
labels = y_test[order]
same = labels[:, None] == labels[None, :]
off_diagonal = ~np.eye(len(labels), dtype=bool)

results = {}
for name, U in (("PCA", U_pca), ("DSP", U_dsp)):
    angles = np.degrees(principal_angles(U[order]))
    mean_angle = angles.mean(axis=-1)
    within = mean_angle[same & off_diagonal]
    between = mean_angle[~same]
    results[name] = (mean_angle, within, between)
    print(
        f"{name}: mean principal angle, same activity {np.median(within):5.1f} deg, "
        f"different activities {np.median(between):5.1f} deg (medians over pairs)"
    )

# %%
# Same activity against different activities
# -------------------------------------------
#
# The mean principal angle between every pair of test recordings, sorted by
# activity: blocks on the diagonal are pairs of the same activity.
names = np.unique(labels)
ticks = [np.flatnonzero(labels == c).mean() for c in names]
fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
for ax, name in zip(axes, results):
    im = ax.imshow(results[name][0], cmap="viridis", vmin=0, vmax=90)
    ax.set_title(f"{name} subspaces")
    ax.set_xticks(ticks, names, rotation=30)
    ax.set_yticks(ticks, names if ax is axes[0] else [])
cbar = fig.colorbar(im, ax=axes, label="mean principal angle (degrees)", shrink=0.9)

# %%
# The distribution of that angle over pairs of the same activity and pairs of
# different activities.
bins = np.linspace(0, 90, 31)
fig, axes = plt.subplots(
    1, 2, figsize=(10, 3.6), sharex=True, sharey=True, layout="constrained"
)
for ax, name in zip(axes, results):
    _, within, between = results[name]
    ax.hist(within, bins=bins, alpha=0.6, density=True, label="same activity")
    ax.hist(between, bins=bins, alpha=0.6, density=True, label="different")
    ax.set_title(f"{name} subspaces")
    ax.set_xlabel("mean principal angle (degrees)")
axes[0].set_ylabel("density over pairs")
axes[1].legend()
plt.show()

# %%
# How well does the angle separate same-activity from different-activity pairs? The
# area under the ROC curve of "smaller angle means same activity" summarises it: 0.5
# is chance, 1 is perfect.
auc = {}
for name, (_, within, between) in results.items():
    scores = -np.concatenate([within, between])
    truth = np.concatenate([np.ones_like(within), np.zeros_like(between)])
    auc[name] = roc_auc_score(truth, scores)
    print(f"{name}: AUC {auc[name]:.3f}")
better = max(auc, key=auc.get)
print(f"On this data, the {better} subspaces separate the activities better.")

# %%
# PCA subspaces only describe where a video's frames lie; DSP subspaces are pulled
# towards the directions that separate the frames from their adversarial negatives
# and that order the frames in time. Which of the two makes same-activity videos
# closer is a property of the data, the features and the negatives, not a given;
# this page reports what it measured. What counts in the end is the classifier's
# accuracy, compared on the :ref:`results` page.
