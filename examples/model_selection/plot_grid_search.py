"""
Grid search over the pooling and the kernel
===========================================

Every step of skdsp is a scikit-learn estimator, so
:class:`~sklearn.model_selection.GridSearchCV` tunes the whole pipeline, with the
usual ``step__parameter`` names. The bagger and the pooling are the expensive steps;
``Pipeline(memory=...)`` caches their output, so that settings that differ only in
later steps (the kernel, the SVM) reuse them.

The grid crosses one parameter of the pooling with two of the later steps, on the
BasicMotions training set with 3-fold cross-validation:

- ``discriminativesubspacepooling__n_components``: hyperplanes per subspace, 1 or 3;
- ``subspacekernel__mean_weight``: the weight of the kernel on the videos' mean
  frames against the kernel on their subspaces, from 0 (subspaces only, the published
  kernel) to 1 (mean frames only);
- ``svc__C``: the SVM's regularisation.
"""

# %%
# The pipeline, with a cache
# --------------------------
#
# To keep the page fast, the frame classifier trains for 10 epochs (default 20), the
# universal perturbation makes at most 2 passes over the frames (default 10) and the
# solver runs 30 iterations per video (default 100).
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from skdsp import AdversarialBagger, DiscriminativeSubspacePooling, SubspaceKernel
from skdsp.datasets import load_basic_motions

X_train, y_train, X_test, y_test = load_basic_motions()

# joblib warns when hashing a step's input for the cache takes over half a second;
# that is the price of the cache here, small next to the pooling it saves.
warnings.filterwarnings("ignore", message="Persisting input arguments took")

cache = tempfile.TemporaryDirectory()
bagger = AdversarialBagger(
    max_passes=2,
    batch_size=256,
    classifier__max_epochs=10,
    device="cpu",
    random_state=0,
)
pooling = DiscriminativeSubspacePooling(max_iter=30, device="cpu", random_state=0)
pipe = Pipeline(
    [
        ("adversarialbagger", bagger),
        ("discriminativesubspacepooling", pooling),
        ("subspacekernel", SubspaceKernel()),
        ("svc", SVC(kernel="precomputed")),
    ],
    memory=Memory(cache.name, verbose=0),
)

param_grid = {
    "discriminativesubspacepooling__n_components": [1, 3],
    "subspacekernel__mean_weight": [0.0, 0.25, 0.5, 1.0],
    "svc__C": [1.0, 10.0],
}
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv)

# %%
# Search
# ------
#
# 16 settings x 3 folds. With the cache, the bagger is fitted once per fold and the
# pooling once per fold and ``n_components``, plus once each for the final refit on
# the whole training set: the 8 settings of the kernel and the SVM that share them
# reuse their output. (The cache covers ``fit``; the validation videos of each fold
# still go through the bagger and the pooling once per setting.)
start = time.perf_counter()
search.fit(X_train, y_train)
seconds = time.perf_counter() - start
print(f"grid search: {seconds:.1f} s")
print("best parameters:")
for name, value in search.best_params_.items():
    print(f"  {name} = {value}")
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Scores of every setting
# -----------------------
#
# Mean accuracy over the 3 folds, one panel per number of hyperplanes. With the mean
# frames out of the kernel (``mean_weight=0``) the subspaces alone decide; with
# ``mean_weight=1`` the mean frames alone do.
results = search.cv_results_
p_col = np.asarray(results["param_discriminativesubspacepooling__n_components"], int)
w_col = np.asarray(results["param_subspacekernel__mean_weight"], float)
c_col = np.asarray(results["param_svc__C"], float)
weights = param_grid["subspacekernel__mean_weight"]
cs = param_grid["svc__C"]

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True, layout="constrained")
for ax, p in zip(axes, param_grid["discriminativesubspacepooling__n_components"]):
    mean_score = {
        (w, c): score
        for w, c, score in zip(
            w_col[p_col == p], c_col[p_col == p], results["mean_test_score"][p_col == p]
        )
    }
    scores = np.array([[mean_score[w, c] for c in cs] for w in weights])
    image = ax.imshow(scores, vmin=0.5, vmax=1.0, cmap="viridis", aspect="auto")
    for (i, j), score in np.ndenumerate(scores):
        ax.text(
            j, i, f"{score:.2f}", ha="center", va="center",
            color="black" if score > 0.8 else "white",
        )
    ax.set_xticks(range(len(cs)), [f"{c:g}" for c in cs])
    ax.set_yticks(range(len(weights)), [f"{w:g}" for w in weights])
    ax.set_xlabel("SVM C")
    ax.set_title(f"n_components = {p}")
axes[0].set_ylabel("mean_weight (0: subspaces only)")
fig.colorbar(image, ax=axes, label="cross-validated accuracy (3 folds)")
fig.suptitle("GridSearchCV over the DSP pipeline, BasicMotions training set")
plt.show()

cache.cleanup()

# %%
# The figure says which part of the descriptor carries the labels on this data set:
# read the columns of a panel from ``mean_weight=0`` (the subspaces alone) to
# ``mean_weight=1`` (the mean frames alone). ``SubspaceKernel(mean_weight="auto")``,
# the default, picks the weight from the training videos by kernel-target alignment
# without a search; the :ref:`results` page compares both kernels over several data
# sets.
