"""
From a folder of videos to a classifier
=======================================

The recipe for a data set of video files stored one folder per class, as UCF-101 and
HMDB-51 are distributed, with its official split files:

1. :func:`~skdsp.datasets.load_video_folder` lists the files, their classes, their
   groups and the split, without decoding anything;
2. :class:`~skdsp.FrameFeatureExtractor` decodes each file with PyAV and embeds its
   frames with EfficientNet-Lite0 (ImageNet weights that ship in a pip package),
   keeping each video's features in a cache on disk;
3. a DSP pipeline on those features is scored by cross-validation on the training
   split, then on the test split.

To have files to work on, the page first writes a small data set in the UCF-101
layout to a temporary folder: camera motions over real photographs (see
:func:`~skdsp.datasets.make_camera_motion_videos`), encoded by PyAV. With your own
data, start at step 1 with the data set's folder. If the frame features come from
another model (I3D, CLIP...), stored one ``.npy`` file per video, load them with
:func:`~skdsp.datasets.load_feature_folder` and start at step 3.
"""

# %%
# A folder of videos in the UCF-101 layout
# ----------------------------------------
#
# Four classes of camera motion, 16 clips each, 12 frames of 112 x 112 pixels. As in
# UCF-101, a file is ``<class>/v_<class>_g<group>_c<clip>.avi``, where the group is
# the source the clips were cut from (here: the photograph), ``classInd.txt`` numbers
# the classes, and ``trainlist01.txt`` / ``testlist01.txt`` hold out whole groups:
# photographs 7 and 8 are only in the test split.
import os
import tempfile
import time

import numpy as np

from skdsp.datasets import make_camera_motion_videos
from skdsp.video import write_video

CLASSES = ["zoom_in", "pan_right", "fade_in", "focus_in"]
TEST_GROUPS = {7, 8}

videos, labels, photos = make_camera_motion_videos(
    16, n_frames=12, size=(112, 112), random_state=0, return_groups=True
)
workdir = tempfile.TemporaryDirectory()
root = os.path.join(workdir.name, "UCF-101")
splits = os.path.join(workdir.name, "ucfTrainTestlist")
os.makedirs(splits)
photo_group = {p: g for g, p in enumerate(dict.fromkeys(photos), start=1)}
clips = {}  # how many clips of each (class, group) were written so far
train_list, test_list = [], []
for frames, label, photo in zip(videos, labels, photos):
    if label not in CLASSES:
        continue
    group = photo_group[photo]
    clip = clips[label, group] = clips.get((label, group), 0) + 1
    rel = f"{label}/v_{label}_g{group:02d}_c{clip:02d}.avi"
    os.makedirs(os.path.join(root, label), exist_ok=True)
    write_video(os.path.join(root, rel), frames, fps=12)
    if group in TEST_GROUPS:
        test_list.append(f"{rel}\n")
    else:
        train_list.append(f"{rel} {CLASSES.index(label) + 1}\n")
with open(os.path.join(splits, "classInd.txt"), "w") as fh:
    fh.writelines(f"{i} {name}\n" for i, name in enumerate(CLASSES, start=1))
with open(os.path.join(splits, "trainlist01.txt"), "w") as fh:
    fh.writelines(train_list)
with open(os.path.join(splits, "testlist01.txt"), "w") as fh:
    fh.writelines(test_list)

for dirpath, _, filenames in sorted(os.walk(workdir.name)):
    files = sorted(filenames)
    if files:
        shown = ", ".join(files[:2]) + (", ..." if len(files) > 2 else "")
        rel = os.path.relpath(dirpath, workdir.name)
        print(f"{rel}/  {len(files)} files: {shown}")

# %%
# Step 1: list the videos
# -----------------------
#
# ``split_file`` may be the folder of split files: split 1 is taken by default.
from skdsp.datasets import load_video_folder

data = load_video_folder(root, split_file=splits)
paths = data.paths  # a list of file names: what FrameFeatureExtractor takes
print(f"classes: {data.target_names}")
print(f"{len(paths)} videos, {len(data.train)} training and {len(data.test)} test")
print(f"groups of the training videos: {sorted(set(data.groups[data.train].tolist()))}")

# %%
# The first and the last frame of one clip of each class, decoded back from the
# files.
import matplotlib.pyplot as plt

from skdsp.video import read_video

fig, axes = plt.subplots(2, len(CLASSES), figsize=(8, 4.4), layout="constrained")
for j, name in enumerate(data.target_names):
    first_clip = paths[np.flatnonzero(data.target == j)[0]]
    frames = read_video(first_clip)
    for i, (frame, when) in enumerate(((frames[0], "first"), (frames[-1], "last"))):
        axes[i, j].imshow(frame)
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        axes[i, j].set_title(f"{name}, {when} frame", fontsize=9)
fig.suptitle("The first clip of each class, decoded from its .avi file")
plt.show()

# %%
# Step 2: frame features, computed once
# -------------------------------------
#
# The extractor decodes the files in a background thread while the network runs.
# Frames go through the network at 112 x 112 pixels (``preprocessing``; the default is
# 224) to keep this page fast, and the features are the network's penultimate layer,
# 1280 numbers per frame. With ``cache_dir``, each video's features are stored on disk
# under a key made of the file's content and the extractor's settings.
from skdsp import FrameFeatureExtractor

cache_dir = os.path.join(workdir.name, "features")
settings = dict(
    preprocessing={"resize": 112, "crop": 112}, device="cpu", cache_dir=cache_dir
)

start = time.perf_counter()
features = FrameFeatureExtractor(**settings).fit_transform(paths)
cold = time.perf_counter() - start
print(f"{len(features)} videos, features of shape {features[0].shape}: {cold:.1f} s")

# %%
# A second extractor with the same settings, as a later run would make, finds every
# video in the cache: nothing is decoded and the network does not run.
start = time.perf_counter()
again = FrameFeatureExtractor(**settings).fit_transform(paths)
warm = time.perf_counter() - start
n_cached = sum(
    name.endswith(".npy") for _, _, names in os.walk(cache_dir) for name in names
)
print(f"from the cache: {warm:.2f} s ({n_cached} feature files in it)")
print(f"same features: {all(np.array_equal(a, b) for a, b in zip(features, again))}")

# %%
# Step 3: a classifier, cross-validated on the training split
# -----------------------------------------------------------
#
# The extractor is the first step of the pipeline, so the pipeline takes file paths;
# with its cache, no fold computes a video's features again. The folds hold out whole
# groups (``GroupKFold``), as UCF-101's official splits do: clips of one group share
# their source and would flatter the score if split across training and validation.
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from skdsp import AdversarialBagger, DiscriminativeSubspacePooling, SubspaceKernel

pipe = make_pipeline(
    FrameFeatureExtractor(**settings),
    AdversarialBagger(max_passes=3, device="cpu", random_state=0),
    DiscriminativeSubspacePooling(max_iter=50, device="cpu", random_state=0),
    SubspaceKernel(),
    SVC(kernel="precomputed"),
)
train_paths = [paths[i] for i in data.train]
test_paths = [paths[i] for i in data.test]
y_train, y_test = data.target[data.train], data.target[data.test]
start = time.perf_counter()
scores = cross_val_score(
    pipe, train_paths, y_train, groups=data.groups[data.train], cv=GroupKFold(3)
)
seconds = time.perf_counter() - start
print(f"cross-validated accuracy per fold: {np.round(scores, 3)} ({seconds:.1f} s)")

pipe.fit(train_paths, y_train)
test_accuracy = pipe.score(test_paths, y_test)
print(f"test split (groups 7 and 8, {len(y_test)} videos): accuracy {test_accuracy:.3f}")

# %%
# Where the time went
# -------------------
fig, ax = plt.subplots(figsize=(6, 2.4), layout="constrained")
bars = ax.barh(["from the cache", "decode + network"], [warm, cold], color=["C2", "C0"])
ax.bar_label(bars, fmt="%.2f s", padding=3)
ax.set_xlabel(f"seconds to get the frame features of {len(paths)} videos")
ax.set_xlim(0, cold * 1.3)
plt.show()

workdir.cleanup()

# %%
# The same three steps run on UCF-101 or HMDB-51, once unpacked: point
# :func:`~skdsp.datasets.load_video_folder` at the video folder and at the folder of
# split files. Feature extraction is the slow part there (millions of frames); the
# cache makes it a one-time cost, and an interrupted run resumes where it stopped.
