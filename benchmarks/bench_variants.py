"""Choose skdsp's defaults: cross-validated accuracy of DSP variants on training splits.

Only the official *training* split of each shipped data set is used (stratified k-fold
cross-validation), so the choice of defaults never sees a test video. Every variant
differs from the published method in one or two named ways; the table prints all of
them, winners and losers.

    python benchmarks/bench_variants.py --folds 5 --seeds 0 1
"""

from __future__ import annotations

import argparse
import datetime
import platform
import tempfile
import time

import numpy as np
from joblib import Memory
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from skdsp import presets
from skdsp.demo import DATASETS, load

PUBLISHED_POOLING = dict(
    margin=1.0, reduction="sum", include_mean=False, n_components=3, n_init=1
)

# name -> (bagger params, or False for DSP's own random negatives; pooling; kernel),
# optionally a fourth item: extra keywords of presets.dsp_pipeline.
VARIANTS = {
    "published (UAP, margin 1, sums)": ({"attack": "uap"}, {}, {}),
    "shift negatives (same norm)": ({"attack": "shift"}, {}, {}),
    "noise negatives (same norm)": ({"attack": "noise"}, {}, {}),
    "random negatives (no bagger)": (False, {}, {}),
    "FGSM per-frame negatives": ({"attack": "fgsm"}, {}, {}),
    "PGD per-frame negatives": ({"attack": "pgd"}, {}, {}),
    "UAP, terms as means": ({"attack": "uap"}, {"reduction": "mean"}, {}),
    "FGSM, terms as means": ({"attack": "fgsm"}, {"reduction": "mean"}, {}),
    "UAP + mean kernel (a=0.5)": (
        {"attack": "uap"}, {"include_mean": True}, {"mean_weight": 0.5}),
    "FGSM + mean kernel (a=0.5)": (
        {"attack": "fgsm"}, {"include_mean": True}, {"mean_weight": 0.5}),
    "noise + mean kernel (a=0.5)": (
        {"attack": "noise"}, {"include_mean": True}, {"mean_weight": 0.5}),
    "FGSM + mean kernel (a=0.25)": (
        {"attack": "fgsm"}, {"include_mean": True}, {"mean_weight": 0.25}),
    "FGSM + mean kernel (a=0.75)": (
        {"attack": "fgsm"}, {"include_mean": True}, {"mean_weight": 0.75}),
    "FGSM, p=1": ({"attack": "fgsm"}, {"n_components": 1}, {}),
    "FGSM, p=5": ({"attack": "fgsm"}, {"n_components": 5}, {}),
    "FGSM, margin 0.1": ({"attack": "fgsm"}, {"margin": 0.1}, {}),
    "UAP + mean kernel (auto)": (
        {"attack": "uap"}, {"include_mean": True}, {"mean_weight": "auto"}),
    "FGSM + mean kernel (auto)": (
        {"attack": "fgsm"}, {"include_mean": True}, {"mean_weight": "auto"}),
    "PGD + mean kernel (auto)": (
        {"attack": "pgd"}, {"include_mean": True}, {"mean_weight": "auto"}),
    "noise + mean kernel (auto)": (
        {"attack": "noise"}, {"include_mean": True}, {"mean_weight": "auto"}),
    "shift + mean kernel (auto)": (
        {"attack": "shift"}, {"include_mean": True}, {"mean_weight": "auto"}),
    "random negatives + mean kernel (auto)": (
        False, {"include_mean": True}, {"mean_weight": "auto"}),
    "published, two starts (n_init=2)": ({"attack": "uap"}, {"n_init": 2}, {}),
    "UAP + mean kernel (auto), n_init=2 (the defaults)": (
        {"attack": "uap"}, {"include_mean": True, "n_init": 2}, {"mean_weight": "auto"}),
    "scaled frames, published": ({"attack": "uap"}, {}, {}, {"scale_frames": True}),
    "scaled frames, FGSM": ({"attack": "fgsm"}, {}, {}, {"scale_frames": True}),
    "scaled frames, FGSM + mean (a=0.5)": (
        {"attack": "fgsm"}, {"include_mean": True}, {"mean_weight": 0.5},
        {"scale_frames": True}),
}
BASELINES = {f"baseline: {name} pooling": (name, False) for name in presets.BASELINES}
BASELINES.update(
    {f"baseline: {name} pooling, unit frames": (name, True) for name in presets.BASELINES}
)


def make(variant, seed, device, memory):
    if variant in BASELINES:
        name, normalize = BASELINES[variant]
        return presets.baseline_pipeline(name, normalize_frames=normalize, random_state=seed)
    bagger, pooling, kernel, *extra = VARIANTS[variant]
    pipe = presets.dsp_pipeline(
        **(extra[0] if extra else {}),
        bagger=bagger,
        pooling={**PUBLISHED_POOLING, **pooling},
        kernel=kernel,
        device=device,
        random_state=seed,
    )
    return Pipeline(pipe.steps, memory=memory)


def to_rst(scores, args):
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - variant"]
    lines += [f"     - {d}" for d in args.datasets]
    for variant in args.variants:
        lines.append(f"   * - {variant}")
        for d in args.datasets:
            acc = scores[(d, variant)]
            lines.append(f"     - {acc.mean():.3f} ± {acc.std():.3f}")
    lines += [
        "",
        f"Cross-validated accuracy on the official training splits only "
        f"({args.folds}-fold stratified, seeds {', '.join(map(str, args.seeds))}; "
        f"mean ± standard deviation over folds), measured {datetime.date.today()} on "
        f"{platform.machine()} with ``python benchmarks/bench_variants.py``.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    names = list(VARIANTS) + list(BASELINES)
    parser.add_argument("--variants", nargs="+", default=names, choices=names)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rst", help="also write the table as reStructuredText here")
    args = parser.parse_args(argv)

    scores = {}
    with tempfile.TemporaryDirectory() as cache:
        memory = Memory(cache, verbose=0)
        for dataset in args.datasets:
            X, y, _, _ = load(dataset)  # training split only
            for variant in args.variants:
                accs = []
                start = time.perf_counter()
                for seed in args.seeds:
                    cv = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
                    accs += list(
                        cross_val_score(make(variant, seed, args.device, memory), X, y, cv=cv)
                    )
                scores[(dataset, variant)] = np.asarray(accs)
                print(
                    f"{dataset:16s} {variant:34s} {np.mean(accs):.3f} +- {np.std(accs):.3f}"
                    f"  ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    print()
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(to_rst(scores, args))
        print(f"wrote {args.rst}")
    head = f"{'variant':34s}" + "".join(f"{d:>18s}" for d in args.datasets) + f"{'mean':>8s}"
    print(head)
    for variant in args.variants:
        means = [scores[(d, variant)].mean() for d in args.datasets]
        print(f"{variant:34s}" + "".join(f"{m:18.3f}" for m in means) + f"{np.mean(means):8.3f}")


if __name__ == "__main__":
    main()
