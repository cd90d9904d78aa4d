"""
Quick start: DSP against average pooling
========================================

The whole method in one scikit-learn pipeline, on BasicMotions: smartwatch
recordings of four activities (standing, walking, running, badminton), where each of
the 100 time steps of a recording is a "frame" of 6 features (3-D accelerometer and
3-D gyroscope). It ships with skdsp and has an official train/test split of 40 and 40
recordings.

The pipeline:

1. :class:`~skdsp.FrameScaler` standardises each feature over all training frames:
   the accelerometer and gyroscope channels have different units and scales, and the
   next steps scale every frame to unit length, which would otherwise be dominated by
   the largest channels;
2. :class:`~skdsp.AdversarialBagger` trains a classifier on single frames and makes
   each video's negative bag by adding a universal adversarial perturbation to its
   frames;
3. :class:`~skdsp.DiscriminativeSubspacePooling` learns, per video, the subspace
   that separates its frames from its negatives while respecting temporal order;
4. :class:`~skdsp.SubspaceKernel` compares subspaces with the projection RBF kernel;
5. an SVM with a precomputed kernel classifies the videos.

The baseline averages the frames of each video, standardises the means and
classifies them with an RBF SVM.
"""

# %%
# Load the data
# -------------
#
# A collection of videos is a list of arrays of shape ``(n_frames, n_features)``,
# time first; labels are one per video.
import time

import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skdsp import (
    AdversarialBagger,
    AveragePooling,
    DiscriminativeSubspacePooling,
    FrameScaler,
    SubspaceKernel,
)
from skdsp.datasets import load_basic_motions

X_train, y_train, X_test, y_test = load_basic_motions()
print(f"{len(X_train)} training and {len(X_test)} test videos")
print(
    f"first video: {X_train[0].shape[0]} frames x {X_train[0].shape[1]} features"
)
print(f"classes: {', '.join(sorted(set(map(str, y_train))))}")

# %%
# DSP with adversarial negatives
# ------------------------------
#
# Every random step is seeded by ``random_state``. The universal perturbation is
# computed with at most 3 passes over the training frames, 256 at a time, to keep this
# page fast (the defaults are 10 passes of 64). ``device="cpu"`` because the page is
# built on a CPU; ``"auto"`` (the default) would use a GPU when there is one.
dsp = make_pipeline(
    FrameScaler(),
    AdversarialBagger(
        max_passes=3, batch_size=256, device="cpu", random_state=0
    ),
    DiscriminativeSubspacePooling(
        n_components=3, device="cpu", random_state=0
    ),
    SubspaceKernel(kernel="projection_rbf"),
    SVC(kernel="precomputed", C=10),
)
start = time.perf_counter()
dsp.fit(X_train, y_train)
dsp_accuracy = dsp.score(X_test, y_test)
dsp_seconds = time.perf_counter() - start
print(
    f"DSP: test accuracy {dsp_accuracy:.3f} ({dsp_seconds:.1f} s to fit and score)"
)

# %%
# What the pipeline computed
# --------------------------
#
# The bagger's perturbation and how often it fools the frame classifier; the bags;
# the descriptors (one row per video: a 4-column header, then the forward and the
# time-reversed subspace, ``6 x 3`` numbers each); the kernel against the 40
# training videos, which the SVM takes as input.
bagger = dsp.named_steps["adversarialbagger"]
pooling_input = dsp[:2].transform(X_test)  # the test videos' bags
print(
    f"universal perturbation: norm {bagger.perturbation_norm_:.2f}, "
    f"fooling rate {bagger.fooling_rate_:.2f} on the training frames"
)
print(f"bags of the test videos: {pooling_input}")
descriptors = dsp[:3].transform(X_test)
print(f"descriptors: {descriptors.shape}")
kernel = dsp[:4].transform(X_test)
print(
    f"kernel vs training videos: {kernel.shape}, "
    f"gamma = {dsp.named_steps['subspacekernel'].gamma_:.3g}"
)

# %%
# Average pooling
# ---------------
average = make_pipeline(
    AveragePooling(), StandardScaler(), SVC(kernel="rbf", C=10)
)
start = time.perf_counter()
average.fit(X_train, y_train)
average_accuracy = average.score(X_test, y_test)
average_seconds = time.perf_counter() - start
print(
    f"average pooling: test accuracy {average_accuracy:.3f} "
    f"({average_seconds:.2f} s to fit and score)"
)

# %%
# Compare
# -------
#
# Test accuracy on the 40 test recordings, and where each method goes wrong. Both
# SVMs use ``C=10`` here; :func:`skdsp.presets.dsp_pipeline` and
# :func:`skdsp.presets.baseline_pipeline` choose ``C`` by cross-validation on the
# training set instead, as the benchmark on the :ref:`results` page does.
diff = dsp_accuracy - average_accuracy
print(
    f"DSP - average pooling: {diff:+.3f} "
    f"({round(diff * len(y_test)):+d} of {len(y_test)} test videos)"
)

# %%
# The confusion matrices of both methods on the test recordings.

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
for ax, model, name, acc in (
    (axes[0], dsp, "DSP + subspace kernel", dsp_accuracy),
    (axes[1], average, "average pooling + RBF", average_accuracy),
):
    ConfusionMatrixDisplay.from_predictions(
        y_test,
        model.predict(X_test),
        ax=ax,
        colorbar=False,
        xticks_rotation=30,
    )
    ax.set_title(f"{name}: accuracy {acc:.3f}")
fig.tight_layout()
plt.show()

# %%
# The numbers above are this run's, not a general verdict: BasicMotions is small
# (40 training recordings), the mean of the frames alone already separates its four
# activities well (average pooling's accuracy above), and DSP was designed for the
# high-dimensional features of video frames. The :ref:`results` page compares the
# methods on every data set that ships with skdsp, over several seeds and with ``C``
# chosen by cross-validation.
