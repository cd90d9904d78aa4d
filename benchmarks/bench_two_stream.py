"""Accuracy of the appearance, motion and two-stream models on the camera-motion videos.

The protocol of the gallery example (examples/video/plot_camera_motion.py): 128
videos of 10 frames at 112 x 112 (16 per class, eight photographs), RGB features from
block 10 of EfficientNet-Lite0, predictions from 4-fold cross-validation holding out
whole photographs (GroupKFold), SVMs with C = 10. For every variant of the flow
features and of the fusion, it prints the fraction of all videos in the right class,
per pair of classes, and the right direction within the zoom and pan pairs.

    python benchmarks/bench_two_stream.py                # every variant (minutes)
    python benchmarks/bench_two_stream.py --quick        # the example's settings only
    python benchmarks/bench_two_stream.py --rst docs/user_guide/two_stream_table.rst

Results depend slightly on the number of torch threads (floating-point sums in the
solver are ordered differently), so the script fixes it (``--threads``, default 1).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
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
EXAMPLE = next(iter(VARIANTS))
APPEARANCE = "(appearance only)"
POOLINGS = ("average", "rank", "DSP")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the example's settings only")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--rst", help="also write the tables as reStructuredText here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

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
    results = {}  # (variant, stream, pooling) -> scores, or the message of a failure

    def scores(pred):
        per_pair = [np.mean(pred[np.isin(y, p)] == y[np.isin(y, p)]) for p in pairs]
        direction = []
        for p in pairs[:2]:
            kept = np.isin(y, p) & np.isin(pred, p)
            direction.append(np.mean(pred[kept] == y[kept]))
        return {"all": np.mean(pred == y), "pairs": per_pair, "direction": direction}

    def run(variant, stream, pool, steps, X):
        start = time.perf_counter()
        label = f"{variant:<42}{stream:<24}{pool:<9}"
        try:
            result = scores(predict(steps, X))
        except ValueError as exc:  # a variant that breaks a step is reported, not fatal
            results[variant, stream, pool] = str(exc)
            print(f"{label} failed: {exc}", flush=True)
            return
        results[variant, stream, pool] = result
        print(f"{label}{result['all']:>6.1%}"
              + "".join(f"{c:>7.0%}" for c in result["pairs"])
              + "".join(f"{d:>{w}.0%}" for d, w in zip(result["direction"], (10, 9)))
              + f"   ({time.perf_counter() - start:.0f} s)", flush=True)

    for pool in POOLINGS:
        run(APPEARANCE, "RGB", pool, pooling(pool), rgb)
    variants = list(VARIANTS.items())[:1] if args.quick else VARIANTS.items()
    for variant, params in variants:
        if params.get("kind") == "cnn":
            params = {**params, "image_extractor": FrameFeatureExtractor(**cnn)}
        flow = np.stack(FlowFeatureExtractor(**params).fit_transform(videos))
        both = Streams(rgb=rgb, flow=flow)
        for pool in POOLINGS:
            run(variant, "flow", pool, pooling(pool), flow)
            union = StreamUnion([("rgb", pooling(pool)), ("flow", pooling(pool))])
            run(variant, "two-stream, cv", pool, union, both)
        if variant == EXAMPLE:  # the fusion's variants, on the example's
            for weights in ("alignment", (0.5, 0.5)):
                for pool in ("rank", "DSP"):
                    union = StreamUnion(
                        [("rgb", pooling(pool)), ("flow", pooling(pool))], weights=weights
                    )
                    label = weights if isinstance(weights, str) else "equal"
                    run(variant, f"two-stream, {label}", pool, union, both)
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(to_rst(results, pairs, args.threads, time.perf_counter() - started))
        print(f"wrote {args.rst}")


def percent(value, decimals):
    return f"{100 * value:.{decimals}f} %"


def to_rst(results, pairs, threads, seconds):
    """The two tables of docs/user_guide/two_stream_table.rst."""

    def cell(key):
        result = results.get(key)
        if result is None:
            return ""
        return "fails" if isinstance(result, str) else percent(result["all"], 1)

    out = [
        ".. This file is generated by ``python benchmarks/bench_two_stream.py --rst",
        "   docs/user_guide/two_stream_table.rst``; edit the script, not this file.",
        "",
        "Videos in the right class of eight: the RGB stream alone, then every variant of the",
        "flow features (the first is the gallery example's setting) alone and fused with the",
        'RGB stream (weights chosen by ``"cv"``):',
        "",
        ".. list-table::",
        "   :header-rows: 2",
        "   :widths: 34 9 9 9 9 9 9",
        "",
        "   * - stream",
        "     - one stream",
        "     -",
        "     -",
        "     - two streams",
        "     -",
        "     -",
        "   * -",
        *(f"     - {pool}" for pool in POOLINGS * 2),
        "   * - RGB (appearance)",
        *(f"     - {cell((APPEARANCE, 'RGB', pool))}".rstrip() for pool in POOLINGS),
        *(["     -"] * len(POOLINGS)),
    ]
    flow_variants = dict.fromkeys(v for v, _, _ in results if v != APPEARANCE)
    for variant in flow_variants:
        out.append(f"   * - flow: {variant}")
        for stream in ("flow", "two-stream, cv"):
            out += [f"     - {cell((variant, stream, pool))}" for pool in POOLINGS]

    columns = ["stream", "pooling", "all", *(a.split("_")[0] for a, _ in pairs),
               "dir zoom", "dir pan"]
    out += [
        "",
        "The example's setting in detail (per pair: videos of the pair in the right class;",
        '"dir": right direction among the videos put in the pair), with the other ways of',
        "weighting the two kernels:",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 22 10 8 8 8 8 8 8 8",
        "",
        f"   * - {columns[0]}",
        *(f"     - {c}" for c in columns[1:]),
    ]
    for (variant, stream, pool), result in results.items():
        if variant not in (APPEARANCE, EXAMPLE):
            continue
        if stream.startswith("two-stream, "):
            stream = f"two streams, weights {stream.split(', ')[1]}"
        cells = (["fails"] + [""] * (len(columns) - 3) if isinstance(result, str) else
                 [percent(result["all"], 1)]
                 + [percent(v, 0) for v in (*result["pairs"], *result["direction"])])
        out += [f"   * - {stream}", f"     - {pool}", *(f"     - {c}".rstrip() for c in cells)]

    failures = [f"{v}, {s}, {p}: {r}" for (v, s, p), r in results.items() if isinstance(r, str)]
    out += ["", *(f"Failed ({f})." for f in failures)] if failures else []
    out += [
        "",
        f"Measured {datetime.date.today().isoformat()} on a {os.cpu_count()}-core "
        f"{platform.machine()} CPU, {'one' if threads == 1 else threads} torch "
        f"thread{'s' * (threads != 1)}, "
        f"{seconds / 60:.0f} minutes in all, with ``python benchmarks/bench_two_stream.py``.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    main()
