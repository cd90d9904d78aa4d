"""
Grid search over the pooling and the negatives
==============================================

Every step of skdsp is a scikit-learn estimator, so
:class:`~sklearn.model_selection.GridSearchCV` tunes the whole pipeline, with the
usual ``step__parameter`` names. The bagger and the pooling are the expensive steps;
``Pipeline(memory=...)`` caches their output, so that settings that differ only in
later steps (the kernel, the SVM) reuse them.

The grid here is small, so that the page builds in about a minute on a CPU: the norm
of the universal perturbation (``adversarialbagger__eps``), the number of hyperplanes
(``discriminativesubspacepooling__n_components``) and the SVM's ``C``, with 3-fold
cross-validation on the BasicMotions training set.
"""

# %%
# The pipeline, with a cache
# --------------------------
#
# To keep the page fast, the frame classifier trains for 10 epochs (default 30), the
# universal perturbation makes at most 2 passes (default 10) and the solver runs 30
# iterations per video (default 100).
import tempfile
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from skdsp import (
    AdversarialBagger,
    DiscriminativeSubspacePooling,
    FrameScaler,
    SubspaceKernel,
)
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
pooling = DiscriminativeSubspacePooling(
    max_iter=30, device="cpu", random_state=0
)
pipe = Pipeline(
    [
        ("framescaler", FrameScaler()),
        ("adversarialbagger", bagger),
        ("discriminativesubspacepooling", pooling),
        ("subspacekernel", SubspaceKernel()),
        ("svc", SVC(kernel="precomputed")),
    ],
    memory=Memory(cache.name, verbose=0),
)

param_grid = {
    "adversarialbagger__eps": [0.25, 0.5],
    "discriminativesubspacepooling__n_components": [2, 3],
    "svc__C": [1.0, 10.0, 100.0],
}
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
search = GridSearchCV(pipe, param_grid, cv=cv)

# %%
# Search
# ------
#
# 12 settings x 3 folds. The bagger is fitted once per fold and ``eps`` (6 times), the
# pooling once per fold, ``eps`` and ``n_components`` (12 times), plus once each for
# the final refit on the whole training set; the 3 values of ``C`` reuse both from
# the cache.
start = time.perf_counter()
search.fit(X_train, y_train)
first = time.perf_counter() - start
print(f"grid search: {first:.1f} s")
print("best parameters:")
for name, value in search.best_params_.items():
    print(f"  {name} = {value}")
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(
    f"test accuracy of the refitted best pipeline: {search.score(X_test, y_test):.3f}"
)

# %%
# The cache at work
# -----------------
#
# A second search over other values of ``C`` finds the bagger's and the pooling's
# outputs for every fold in the cache, so it only fits SVMs (and transforms the
# validation folds, which the cache does not cover).
search_c = GridSearchCV(
    pipe, {**param_grid, "svc__C": [0.3, 3.0, 30.0]}, cv=cv
)
start = time.perf_counter()
search_c.fit(X_train, y_train)
second = time.perf_counter() - start
print(
    f"second search, new values of C only: {second:.1f} s (first: {first:.1f} s)"
)

# %%
# Scores of every setting
# -----------------------
results = search.cv_results_
eps_col = np.asarray(results["param_adversarialbagger__eps"], dtype=float)
p_col = np.asarray(
    results["param_discriminativesubspacepooling__n_components"], dtype=int
)
c_col = np.asarray(results["param_svc__C"], dtype=float)

fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for eps in param_grid["adversarialbagger__eps"]:
    for p in param_grid["discriminativesubspacepooling__n_components"]:
        sel = (eps_col == eps) & (p_col == p)
        ax.errorbar(
            c_col[sel],
            results["mean_test_score"][sel],
            yerr=results["std_test_score"][sel],
            marker="o" if p == 2 else "s",
            capsize=3,
            label=f"eps={eps}, n_components={p}",
        )
ax.set_xscale("log")
ax.set_xlabel("SVM C")
ax.set_ylabel("cross-validated accuracy (3 folds)")
ax.set_title("GridSearchCV over the DSP pipeline, BasicMotions training set")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
ax.grid(alpha=0.3)
plt.show()

cache.cleanup()
