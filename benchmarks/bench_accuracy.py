"""Test accuracy of DSP and the baselines on every data set that ships with skdsp.

Each method is fitted on the official training split (its SVM's C chosen by an inner
cross-validation on that split alone) and scored once on the official test split, for
several seeds. Reference time-series classifiers are measured in the same run on the
same splits when aeon is installed (``pip install ".[bench]"``): 1-NN with Euclidean
distance and with DTW (full window), and MiniRocket (one fit per seed).

    python benchmarks/bench_accuracy.py                       # all data sets, 3 seeds
    python benchmarks/bench_accuracy.py --rst docs/user_guide/results_table.rst
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np

from skdsp import presets
from skdsp.datasets import load_dataset
from skdsp.demo import DATASETS, compare, comparison_methods, load

# Where a reference classifier sees other data than DSP: GunPoint's reference input is
# its raw univariate series (length 150), not the delay embedding DSP gets as frames.
RAW_SERIES = {"gunpoint": lambda: load_dataset("GunPoint", embedding_dim=1, delay=1)}


class SeriesClassifier:
    """An aeon classifier on skdsp's videos, as a fit / predict pair for ``compare``.

    aeon takes series as ``(n_channels, n_timepoints)``: each video is transposed.
    ``pad_to`` zero-pads series at the end to one length, for classifiers that need
    equal lengths (MiniRocket on JapaneseVowels, 7 to 29 frames).
    """

    def __init__(self, make, pad_to=None):
        self.make = make
        self.pad_to = pad_to

    def _series(self, X):
        series = [np.asarray(x, dtype=np.float64).T for x in X]
        if self.pad_to is not None:
            series = [np.pad(s, ((0, 0), (0, self.pad_to - s.shape[1]))) for s in series]
        if len({s.shape for s in series}) == 1:
            return np.stack(series)
        return series

    def fit(self, X, y):
        self.model_ = self.make().fit(self._series(X), y)
        return self

    def predict(self, X):
        return self.model_.predict(self._series(X))


def reference_methods(seeds, max_length):
    """Name -> (seeds it runs for, maker of a SeriesClassifier taking a seed)."""
    from aeon.classification.convolution_based import MiniRocketClassifier
    from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

    def knn(distance):
        return lambda seed: SeriesClassifier(
            lambda: KNeighborsTimeSeriesClassifier(n_neighbors=1, distance=distance)
        )

    return {
        # Deterministic: measured once.
        "1-NN ED": (seeds[:1], knn("euclidean")),
        "1-NN DTW": (seeds[:1], knn("dtw")),  # full warping window
        "MiniRocket": (
            seeds,
            lambda seed: SeriesClassifier(
                lambda: MiniRocketClassifier(random_state=seed, n_jobs=1),
                pad_to=max_length,
            ),
        ),
    }


def aeon_version():
    try:
        import aeon
    except ImportError:
        return None
    return aeon.__version__


def run(datasets, seeds, device, echo, references=True):
    table = {}  # (dataset, method) -> list of accuracies
    for dataset in datasets:
        X_train, y_train, X_test, y_test = load(dataset)
        for seed in seeds:
            echo(f"== {dataset}, seed {seed}")
            methods = comparison_methods(device=device, random_state=seed)
            # The baselines on unit-norm frames too: on some data they are stronger.
            for name, label in (("average", "average"), ("svm", "SVM")):
                methods[f"{label} pooling, unit frames"] = (
                    lambda name=name, seed=seed: presets.baseline_pipeline(
                        name, normalize_frames=True, random_state=seed
                    )
                )
            for r in compare(methods, X_train, y_train, X_test, y_test, progress=echo):
                table.setdefault((dataset, r.method), []).append(r.accuracy)
        if references:
            series = RAW_SERIES[dataset]() if dataset in RAW_SERIES else (
                X_train, y_train, X_test, y_test
            )
            max_length = max(len(x) for x in (*series[0], *series[2]))
            for name, (ref_seeds, make) in reference_methods(seeds, max_length).items():
                for seed in ref_seeds:
                    echo(f"== {dataset}, reference {name}, seed {seed}")
                    (r,) = compare({f"reference: {name}": lambda: make(seed)}, *series)
                    table.setdefault((dataset, r.method), []).append(r.accuracy)
    return table


def _cell(accuracies, sep):
    acc = np.asarray(accuracies)
    if len(acc) == 1:  # measured once (a deterministic method)
        return f"{acc[0]:.3f}"
    return f"{acc.mean():.3f} {sep} {acc.std():.3f}"


def to_text(table, datasets):
    methods = list(dict.fromkeys(m for _, m in table))
    width = max(map(len, methods))
    head = f"{'method':<{width}}" + "".join(f"  {d:>17}" for d in datasets)
    lines = [head, "-" * len(head)]
    for m in methods:
        cells = [_cell(table[(d, m)], "+-").rjust(19) for d in datasets]
        lines.append(f"{m:<{width}}" + "".join(cells))
    return "\n".join(lines)


def to_rst(table, datasets, seeds, seconds, references):
    methods = list(dict.fromkeys(m for _, m in table))
    header = ["method"] + datasets
    rows = [[m] + [_cell(table[(d, m)], "±") for d in datasets] for m in methods]
    out = [
        ".. This file is generated by ``python benchmarks/bench_accuracy.py --rst",
        "   docs/user_guide/results_table.rst``; edit the script, not this file.",
        "",
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
        f"{', '.join(map(str, seeds))}; measured {when} on a {os.cpu_count()}-core "
        f"{platform.machine()} CPU, {seconds / 60:.0f} minutes in all, with "
        "``python benchmarks/bench_accuracy.py``.",
    ]
    if references:
        out[-1] += (
            f" Reference rows: aeon {references}, measured in the same run on the same "
            "splits; 1-NN (deterministic) once, MiniRocket once per seed; GunPoint as "
            "its raw series of length 150, JapaneseVowels zero-padded at the end to 29 "
            "frames for MiniRocket; DTW with a full warping window."
        )
    out.append("")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--no-references", action="store_true",
        help="skip the reference classifiers (measured with aeon when it is installed)",
    )
    parser.add_argument("--rst", help="also write the table as reStructuredText here")
    args = parser.parse_args(argv)
    references = None if args.no_references else aeon_version()
    if references is None and not args.no_references:
        print('aeon is not installed (pip install ".[bench]"): no reference rows.')
    start = time.perf_counter()
    table = run(
        args.datasets, args.seeds, args.device, lambda s: print(s, flush=True),
        references=references is not None,
    )
    seconds = time.perf_counter() - start
    print()
    print(to_text(table, args.datasets))
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(to_rst(table, args.datasets, args.seeds, seconds, references))
        print(f"wrote {args.rst}")


if __name__ == "__main__":
    main()
