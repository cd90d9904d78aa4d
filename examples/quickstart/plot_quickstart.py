"""
Quick start: DSP against average pooling
========================================

The whole method in one scikit-learn pipeline, on BasicMotions: smartwatch
recordings of four activities (standing, walking, running, badminton), where each of
the 100 time steps of a recording is a "frame" of 6 features (3-D accelerometer and
3-D gyroscope). It ships with skdsp and has an official train/test split of 40 and 40
recordings.

The pipeline:

1. :class:`~skdsp.AdversarialBagger` trains a classifier on single frames and makes
   each video's negative bag by adding a universal adversarial perturbation to its
   frames;
2. :class:`~skdsp.DiscriminativeSubspacePooling` learns, per video, the subspace
   that separates its frames from its negatives while respecting temporal order;
3. :class:`~skdsp.SubspaceKernel` compares the videos' subspaces (and their mean
   frames) with a kernel against the training videos;
4. an SVM with a precomputed kernel classifies the videos.

This is the pipeline of the README and of the documentation's front page, with
every step at its default settings; the output below each block is what it printed
when this page was built.
"""

# %%
# The pipeline
# ------------
#
# A collection of videos is a list of arrays of shape ``(n_frames, n_features)``,
# time first; labels are one per video. Every random step is seeded by
# ``random_state``; the steps run on a GPU when there is one (``device="auto"``, the
# default), here on the CPU that builds the page.
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from skdsp import AdversarialBagger, DiscriminativeSubspacePooling, SubspaceKernel
from skdsp.datasets import load_basic_motions

# Videos: lists of (n_frames, n_features) arrays; labels: one per video.
X_train, y_train, X_test, y_test = load_basic_motions()

clf = make_pipeline(
    AdversarialBagger(random_state=0),              # frames -> two bags
    DiscriminativeSubspacePooling(random_state=0),  # bags -> subspaces
    SubspaceKernel(),                               # subspaces -> kernel
    SVC(kernel="precomputed"),                      # kernel -> labels
)
clf.fit(X_train, y_train)
print(clf.score(X_test, y_test))

# %%
# What the pipeline computed
# --------------------------
#
# The bagger's universal perturbation and how often it changes the frame
# classifier's prediction; the bags; the descriptors (one row per video: a short
# header, the forward and the time-reversed subspace, ``6 x 3`` numbers each, and the
# video's mean frame); the kernel against the 40 training videos, which the SVM takes
# as input, and the weight the kernel gives the mean frames, chosen on the training
# videos.
bagger = clf.named_steps["adversarialbagger"]
kernel_step = clf.named_steps["subspacekernel"]
print(f"training videos: {len(X_train)}, test videos: {len(X_test)}")
print(f"frames x features of the first video: {X_train[0].shape}")
print(
    f"universal perturbation: norm {bagger.perturbation_norm_:.2f}, "
    f"fooling rate {bagger.fooling_rate_:.2f} on the training frames"
)
print(f"bags of the test videos: {clf[:1].transform(X_test)}")
print(f"descriptors: {clf[:2].transform(X_test).shape}")
print(f"kernel against the training videos: {clf[:3].transform(X_test).shape}")
print(f"weight of the mean-frame kernel: {kernel_step.mean_weight_:.1f}")

# %%
# Average pooling
# ---------------
#
# The baseline: the mean of each video's frames, standardised, and an RBF SVM, also
# at its default settings.
from sklearn.preprocessing import StandardScaler

from skdsp import AveragePooling

average = make_pipeline(AveragePooling(), StandardScaler(), SVC())
average.fit(X_train, y_train)
print(f"average pooling: {average.score(X_test, y_test):.3f}")

# %%
# Where each one goes wrong
# -------------------------
#
# The confusion matrices of both pipelines on the 40 test recordings (10 per
# activity): a difference of 0.025 in accuracy is one recording.
import matplotlib.pyplot as plt
from sklearn.metrics import ConfusionMatrixDisplay

fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
for ax, model, name in (
    (axes[0], clf, "DSP + subspace kernel"),
    (axes[1], average, "average pooling + RBF SVM"),
):
    ConfusionMatrixDisplay.from_predictions(
        y_test, model.predict(X_test), ax=ax, colorbar=False, xticks_rotation=30
    )
    ax.set_title(f"{name}: accuracy {model.score(X_test, y_test):.3f}")
plt.show()

# %%
# These are one run's numbers, not a verdict: BasicMotions is small, and the mean of
# the frames alone already separates its four activities well (the average-pooling
# score above). :func:`skdsp.presets.dsp_pipeline` and
# :func:`skdsp.presets.baseline_pipeline` choose the SVM's ``C`` by cross-validation
# on the training videos; the :ref:`results` page compares DSP and the baselines that
# way on every data set that ships with skdsp, over several seeds.
