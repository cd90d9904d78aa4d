"""Test accuracy of DSP and the baselines on every data set that ships with skdsp.

Each method is fitted on the official training split (its SVM's C chosen by an inner
cross-validation on that split alone) and scored once on the official test split, for
several seeds. Published accuracies of reference classifiers on the same splits are
printed beside them.

    python benchmarks/bench_accuracy.py                       # all data sets, 3 seeds
    python benchmarks/bench_accuracy.py --rst docs/user_guide/results_table.rst
"""

from __future__ import annotations

import argparse
import datetime
import platform
import time

import numpy as np

from skdsp import presets
from skdsp.demo import DATASETS, compare, comparison_methods, load

# Published test accuracies on the same official splits (not re-measured here).
# 1-NN ED and DTW: Bagnall et al., "The UEA multivariate time series classification
# archive, 2018" (BasicMotions, JapaneseVowels; DTW_I, the better of the two DTWs
# there) and Dau et al., "The UCR time series archive" (GunPoint; DTW with a learned
# warping window). ROCKET: Ruiz et al., "The great multivariate time series
# classification bake off" (2021) and Dempster et al., "ROCKET" (2020).
REFERENCES = {
    "basic_motions": {"1-NN ED": 0.676, "1-NN DTW": 1.000, "ROCKET": 1.000},
    "gunpoint": {"1-NN ED": 0.913, "1-NN DTW": 0.913, "ROCKET": 1.000},
    "japanese_vowels": {"1-NN ED": 0.924, "1-NN DTW": 0.959, "ROCKET": 0.962},
}


def run(datasets, seeds, device, echo):
    table = {}  # (dataset, method) -> list of accuracies
    for dataset in datasets:
        X_train, y_train, X_test, y_test = load(dataset)
        for seed in seeds:
            echo(f"== {dataset}, seed {seed}")
            methods = comparison_methods(device=device, random_state=seed)
            # The baselines on unit-norm frames too: on some data they are stronger.
            for name in ("average", "svm"):
                methods[f"{name} pooling, unit frames"] = (
                    lambda name=name, seed=seed: presets.baseline_pipeline(
                        name, normalize_frames=True, random_state=seed
                    )
                )
            for r in compare(methods, X_train, y_train, X_test, y_test, progress=echo):
                table.setdefault((dataset, r.method), []).append(r.accuracy)
    return table


def to_text(table, datasets):
    methods = list(dict.fromkeys(m for _, m in table))
    width = max(map(len, methods + ["published: 1-NN DTW"]))
    head = f"{'method':<{width}}" + "".join(f"  {d:>17}" for d in datasets)
    lines = [head, "-" * len(head)]
    for m in methods:
        cells = []
        for d in datasets:
            acc = np.asarray(table[(d, m)])
            cells.append(f"  {acc.mean():.3f} +- {acc.std():.3f}".rjust(19))
        lines.append(f"{m:<{width}}" + "".join(cells))
    for ref in ("1-NN ED", "1-NN DTW", "ROCKET"):
        lines.append(
            f"{'published: ' + ref:<{width}}"
            + "".join(f"  {REFERENCES[d][ref]:>17.3f}" for d in datasets)
        )
    return "\n".join(lines)


def to_rst(table, datasets, seeds, seconds):
    methods = list(dict.fromkeys(m for _, m in table))
    header = ["method"] + datasets
    rows = []
    for m in methods:
        row = [m]
        for d in datasets:
            acc = np.asarray(table[(d, m)])
            row.append(f"{acc.mean():.3f} ± {acc.std():.3f}")
        rows.append(row)
    for ref in ("1-NN ED", "1-NN DTW", "ROCKET"):
        rows.append([f"published: {ref}"] + [f"{REFERENCES[d][ref]:.3f}" for d in datasets])
    out = [
        ".. list-table::",
        "   :header-rows: 1",
        "",
    ]
    for row in [header] + rows:
        out.append("   * - " + row[0])
        out += [f"     - {cell}" for cell in row[1:]]
    when = datetime.date.today().isoformat()
    out += [
        "",
        f"Test accuracy on the official splits, mean ± standard deviation over seeds "
        f"{', '.join(map(str, seeds))}; measured {when} on {platform.machine()} "
        f"({platform.processor() or 'CPU'}), {seconds / 60:.0f} minutes in all, with "
        "``python benchmarks/bench_accuracy.py``. Published rows are quoted from the "
        "archive papers, not re-measured.",
        "",
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rst", help="also write the table as reStructuredText here")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = run(args.datasets, args.seeds, args.device, lambda s: print(s, flush=True))
    seconds = time.perf_counter() - start
    print()
    print(to_text(table, args.datasets))
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(to_rst(table, args.datasets, args.seeds, seconds))
        print(f"wrote {args.rst}")


if __name__ == "__main__":
    main()
