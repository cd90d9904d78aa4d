"""Accuracy of the appearance, motion and two-stream models on the camera-motion videos.

The protocol of the gallery example (examples/video/plot_camera_motion.py): 128
videos of 10 frames at 112 x 112 (16 per class, eight photographs), RGB features from
block 10 of EfficientNet-Lite0, predictions from 4-fold cross-validation holding out
whole photographs (GroupKFold), SVMs with C = 10. For every variant of the flow
features and of the fusion, it prints the fraction of all videos in the right class,
per pair of classes, and the right direction within the zoom and pan pairs.

    python benchmarks/bench_two_stream.py                # every variant (minutes)
    python benchmarks/bench_two_stream.py --quick        # the example's settings only

Results depend slightly on the number of torch threads (floating-point sums in the
solver are ordered differently), so the script fixes it (``--threads``, default 1).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

VARIANTS = {
    # name: FlowFeatureExtractor parameters (the first is the example's)
    "DIS ultrafast, 1x1 grid, zero bin 1 px": {"grid": (1, 1)},
    "DIS ultrafast, 2x2 grid (the default)": {},
    "DIS ultrafast, 1x1 grid, zero bin 0.5 px": {"grid": (1, 1), "min_magnitude": 0.5},
    "DIS ultrafast, 1x1 grid, no zero bin": {"grid": (1, 1), "min_magnitude": None},
    "DIS ultrafast, 1x1 grid, l2 normalised": {"grid": (1, 1), "normalize": "l2"},
    "DIS ultrafast, 1x1 grid, 12 bins": {"grid": (1, 1), "n_bins": 12},
    "DIS fast, 1x1 grid": {"grid": (1, 1), "preset": "fast"},
    "DIS medium, 1x1 grid": {"grid": (1, 1), "preset": "medium"},
    "Farneback, 1x1 grid": {"grid": (1, 1), "method": "farneback"},
    "CNN on flow images (block 10)": {"kind": "cnn"},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the example's settings only")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from joblib import Memory
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from skdsp import (
        AdversarialBagger,
        AveragePooling,
        DiscriminativeSubspacePooling,
        FrameFeatureExtractor,
        RankPooling,
        RBFKernel,
        Streams,
        StreamUnion,
        SubspaceKernel,
    )
    from skdsp.datasets import make_camera_motion_videos
    from skdsp.datasets.camera_motion import CAMERA_MOTION_CLASSES
    from skdsp.video import FlowFeatureExtractor

    videos, y, photos = make_camera_motion_videos(
        16, n_frames=10, size=(112, 112), random_state=0, return_groups=True
    )
    cnn = dict(layer="_blocks.10", preprocessing={"resize": 112, "crop": 112}, device="cpu")
    rgb = np.stack(FrameFeatureExtractor(**cnn).fit_transform(videos))
    memory = Memory(tempfile.mkdtemp(), verbose=0)
    cv = GroupKFold(n_splits=4)
    pairs = list(zip(CAMERA_MOTION_CLASSES[::2], CAMERA_MOTION_CLASSES[1::2]))

    def pooling(name):
        if name == "DSP":
            return make_pipeline(
                AdversarialBagger(eps=0.5, max_passes=3, device="cpu", random_state=0),
                DiscriminativeSubspacePooling(
                    n_components=3, max_iter=50, device="cpu", random_state=0
                ),
                SubspaceKernel(kernel="projection_rbf"),
                memory=memory,
            )
        pool = AveragePooling() if name == "average" else RankPooling()
        return make_pipeline(pool, StandardScaler(), RBFKernel())

    def predict(steps, X):
        classifier = make_pipeline(steps, SVC(kernel="precomputed", C=10))
        pred = np.empty_like(y)
        for train, test in cv.split(X, y, groups=photos):
            pred[test] = clone(classifier).fit(X[train], y[train]).predict(X[test])
        return pred

    print(f"{'variant':<42}{'stream':<24}{'pooling':<9}{'all':>6}"
          + "".join(f"{a.split('_')[0]:>7}" for a, _ in pairs) + f"{'dir zoom':>10}{'dir pan':>9}")

    def row(variant, stream, pool, pred, seconds):
        cls = [np.mean(pred[np.isin(y, p)] == y[np.isin(y, p)]) for p in pairs]
        direction = []
        for p in pairs[:2]:
            kept = np.isin(y, p) & np.isin(pred, p)
            direction.append(np.mean(pred[kept] == y[kept]))
        print(f"{variant:<42}{stream:<24}{pool:<9}{np.mean(pred == y):>6.1%}"
              + "".join(f"{c:>7.0%}" for c in cls)
              + f"{direction[0]:>10.0%}{direction[1]:>9.0%}   ({seconds:.0f} s)", flush=True)

    def run(variant, stream, pool, steps, X):
        start = time.perf_counter()
        try:
            pred = predict(steps, X)
        except ValueError as exc:  # a variant that breaks a step is reported, not fatal
            print(f"{variant:<42}{stream:<24}{pool:<9} failed: {exc}", flush=True)
            return
        row(variant, stream, pool, pred, time.perf_counter() - start)

    for pool in ("average", "rank", "DSP"):
        run("(appearance only)", "RGB", pool, pooling(pool), rgb)
    variants = list(VARIANTS.items())[:1] if args.quick else VARIANTS.items()
    for variant, params in variants:
        if params.get("kind") == "cnn":
            params = {**params, "image_extractor": FrameFeatureExtractor(**cnn)}
        flow = np.stack(FlowFeatureExtractor(**params).fit_transform(videos))
        both = Streams(rgb=rgb, flow=flow)
        for pool in ("average", "rank", "DSP"):
            run(variant, "flow", pool, pooling(pool), flow)
            union = StreamUnion([("rgb", pooling(pool)), ("flow", pooling(pool))])
            run(variant, "two-stream, cv", pool, union, both)
        if variant == next(iter(VARIANTS)):  # the fusion's variants, on the example's
            for weights in ("alignment", (0.5, 0.5)):
                for pool in ("rank", "DSP"):
                    union = StreamUnion(
                        [("rgb", pooling(pool)), ("flow", pooling(pool))], weights=weights
                    )
                    label = weights if isinstance(weights, str) else "equal"
                    run(variant, f"two-stream, {label}", pool, union, both)


if __name__ == "__main__":
    main()
