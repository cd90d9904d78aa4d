"""
Random-convolution frames for sensor sequences
==============================================

DSP pools per-frame features. For sensor recordings, raw frames are tiny (the 6
channels of a smartwatch's accelerometer and gyroscope in BasicMotions); a backbone
makes them rich, as a CNN does for video frames.
:class:`~skdsp.RandomConvolutionFrames` gives every time step the responses of
MiniRocket's random dilated kernels (Dempster, Schmidt and Webb, 2021), minus biases
learned from the data, or their signs.

MiniRocket itself is "frames + pooling": it pools each feature over time by the
proportion of positive values (:class:`~skdsp.PPVPooling`) and classifies with a
ridge classifier. This page fits, on the same frames:

1. the default DSP pipeline (:func:`skdsp.presets.dsp_pipeline`);
2. MiniRocket rebuilt from skdsp's parts (PPV pooling and ridge);
3. average pooling and an RBF SVM.
"""

# %%
# The frames of one recording
# ---------------------------
#
# With the defaults, a recording of 100 steps gives 50 frames (every second time
# step: ``step="auto"`` keeps at most 64 frames of a typical recording) of 1,008
# features (12 per kernel), each +1 or -1: whether the response of a kernel at a
# dilation exceeds one of its biases. ``device="cpu"`` because this page is built on
# a CPU.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdsp import AveragePooling, PPVPooling, RandomConvolutionFrames, presets
from skdsp.datasets import load_basic_motions

X_train, y_train, X_test, y_test = load_basic_motions()
backbone = RandomConvolutionFrames(device="cpu", random_state=0).fit(X_train)
frames = backbone.transform(X_train[:1])[0]
print(f"a recording: {X_train[0].shape} -> frames {frames.shape} (step {backbone.step_})")
print(f"dilations: {backbone.plan_.dilations.tolist()}")

fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), height_ratios=(1, 2), sharex=True)
axes[0].plot(X_train[0])
axes[0].set_title(f"a {y_train[0]} recording: 6 channels")
axes[1].imshow(frames[:, :168].T, aspect="auto", cmap="gray", interpolation="nearest")
axes[1].set_title("its frames: the first 168 of 1,008 features (white: +1)")
axes[1].set_xlabel(f"frame (time step / {backbone.step_})")
axes[1].set_ylabel("feature")
fig.tight_layout()
plt.show()

# %%
# PPV pooling of these frames is MiniRocket's transform: the fraction of time steps
# where each response exceeds its bias, that is, the fraction of +1 frames.
ppv = PPVPooling().fit_transform([frames])[0]
print(f"PPV of the first features: {np.round(ppv[:5], 2)}")
print(f"PPV == fraction of +1: {np.array_equal(ppv, (frames == 1).mean(axis=0))}")

# %%
# Three poolings of the same frames
# ---------------------------------
#
# Every pipeline starts with the same backbone (same seed, same frames). To keep
# this page fast, the bagger computes its universal perturbation with 3 passes over
# the training frames instead of 10.


def frames_step():
    return RandomConvolutionFrames(device="cpu", random_state=0)


dsp = presets.dsp_pipeline(bagger={"max_passes": 3}, device="cpu", random_state=0)
methods = {
    "backbone + DSP": make_pipeline(frames_step(), *[s for _, s in dsp.steps]),
    "backbone + PPV + ridge\n(MiniRocket rebuilt)": make_pipeline(
        frames_step(),
        PPVPooling(),
        StandardScaler(),
        RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
    ),
    "backbone + average\n+ RBF SVM": make_pipeline(
        frames_step(),
        AveragePooling(),
        StandardScaler(),
        presets.tuned_svc("rbf", random_state=0),
    ),
}
scores, seconds = {}, {}
for name, model in methods.items():
    start = time.perf_counter()
    scores[name] = model.fit(X_train, y_train).score(X_test, y_test)
    seconds[name] = time.perf_counter() - start
    print(f"{name.replace(chr(10), ' ')}: accuracy {scores[name]:.3f}, "
          f"{seconds[name]:.1f} s to fit and score")

kernel = methods["backbone + DSP"].named_steps["subspacekernel"]
print(f"weight of the mean-frame kernel chosen by alignment: {kernel.mean_weight_:.1f}")

# %%
# Compare
# -------
fig, ax = plt.subplots(figsize=(7, 2.8))
names = list(scores)
ax.barh(names, [scores[n] for n in names], color=["tab:blue", "tab:gray", "tab:gray"])
for y, n in enumerate(names):
    ax.text(scores[n] + 0.01, y, f"{scores[n]:.3f} ({seconds[n]:.1f} s)", va="center")
ax.set_xlim(0, 1.25)
ax.set_xlabel("test accuracy on BasicMotions (40 recordings)")
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %%
# BasicMotions is easy for all three: its four activities differ in how much and
# how fast the watch moves, which the proportions of positive responses capture
# (the kernel above weighs the mean frames accordingly). The costs differ: DSP
# solves one subspace per recording and direction. The :ref:`sequences` page
# measures all of them, and MiniRocket itself, on every sequence data set that ships
# with skdsp.
