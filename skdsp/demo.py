"""The demo: skdsp against the baselines on real data that ships with the package.

``python -m skdsp demo`` fits every method on the official training split of a data
set, reports test accuracy, and saves the table and a plot.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skdsp import presets

__all__ = ["comparison_methods", "MethodResult", "compare", "run_demo"]

DATASETS = ("basic_motions", "gunpoint", "japanese_vowels")


def comparison_methods(*, device="auto", random_state=0):
    """The methods the demo and the accuracy benchmark compare.

    Returns
    -------
    methods : dict of str to callable
        Name -> function returning an unfitted pipeline.
    """
    kw = {"device": device, "random_state": random_state}
    return {
        "DSP, skdsp defaults": lambda: presets.dsp_pipeline(**kw),
        "DSP, published preset": lambda: presets.published_pipeline(**kw),
        "DSP, same-norm noise negatives": lambda: presets.dsp_pipeline(
            bagger={"attack": "noise"}, **kw
        ),
        "DSP, random negatives": lambda: presets.dsp_pipeline(bagger=False, **kw),
        "average pooling": lambda: presets.baseline_pipeline("average", random_state=random_state),
        "max pooling": lambda: presets.baseline_pipeline("max", random_state=random_state),
        "rank pooling": lambda: presets.baseline_pipeline("rank", random_state=random_state),
        "SVM pooling": lambda: presets.baseline_pipeline("svm", random_state=random_state),
    }


@dataclass
class MethodResult:
    """Test accuracy of one method, and how long fit + predict took."""

    method: str
    accuracy: float
    seconds: float


def compare(methods, X_train, y_train, X_test, y_test, *, progress=None):
    """Fit each method on the training split and score it on the test split.

    Parameters
    ----------
    methods : dict of str to callable
        Name -> function returning an unfitted estimator.
    X_train, X_test : list of ndarray of shape (n_frames_i, n_features)
    y_train, y_test : ndarray of shape (n_videos,)
    progress : callable, default=None
        Called with a line of text as each method starts and ends.

    Returns
    -------
    results : list of MethodResult
    """
    results = []
    for i, (name, make) in enumerate(methods.items(), 1):
        if progress:
            progress(f"[{i}/{len(methods)}] {name} ...")
        start = time.perf_counter()
        model = make().fit(X_train, y_train)
        accuracy = float(np.mean(model.predict(X_test) == np.asarray(y_test)))
        results.append(MethodResult(name, accuracy, time.perf_counter() - start))
        if progress:
            progress(f"      test accuracy {accuracy:.3f} ({results[-1].seconds:.1f} s)")
    return results


def format_table(results, title):
    """A plain-text table of results."""
    width = max(len(r.method) for r in results)
    lines = [title, f"{'method':<{width}}  accuracy  seconds", "-" * (width + 19)]
    lines += [f"{r.method:<{width}}  {r.accuracy:8.3f}  {r.seconds:7.1f}" for r in results]
    return "\n".join(lines)


def save_results(results, title, output_dir):
    """Write the table as CSV and a bar plot as PNG; return their paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    csv_path = output_dir / "results.csv"
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["method", "test_accuracy", "seconds"])
        for r in results:
            writer.writerow([r.method, f"{r.accuracy:.4f}", f"{r.seconds:.2f}"])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(results) + 1.2))
    names = [r.method for r in results][::-1]
    accs = [r.accuracy for r in results][::-1]
    colors = ["tab:blue" if n.startswith("DSP") else "tab:gray" for n in names]
    ax.barh(names, accs, color=colors)
    for y, a in enumerate(accs):
        ax.text(a + 0.005, y, f"{a:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("test accuracy")
    ax.set_title(title)
    fig.tight_layout()
    png_path = output_dir / "results.png"
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    return csv_path, png_path


def load(dataset):
    """Load one of the shipped data sets by name."""
    from skdsp import datasets

    if dataset not in DATASETS:
        raise ValueError(f"Unknown data set {dataset!r}; choose one of {DATASETS}.")
    return getattr(datasets, f"load_{dataset}")()


def run_demo(dataset="basic_motions", *, device="auto", output_dir="skdsp_demo_output",
             random_state=0, methods=None, echo=print):
    """Run the comparison on one data set, print the table and save it.

    Parameters
    ----------
    dataset : {"basic_motions", "gunpoint", "japanese_vowels"}, default="basic_motions"
    device : {"auto", "cpu", "cuda"}, default="auto"
    output_dir : str or Path, default="skdsp_demo_output"
    random_state : int, default=0
    methods : list of str, default=None
        Names from :func:`comparison_methods` to run; all by default.
    echo : callable, default=print
        Where progress and the table go.

    Returns
    -------
    results : list of MethodResult
    """
    X_train, y_train, X_test, y_test = load(dataset)
    all_methods = comparison_methods(device=device, random_state=random_state)
    if methods is not None:
        unknown = set(methods) - set(all_methods)
        if unknown:
            raise ValueError(f"Unknown methods {sorted(unknown)}; choose from {list(all_methods)}.")
        all_methods = {k: v for k, v in all_methods.items() if k in methods}
    echo(
        f"{dataset}: {len(X_train)} training and {len(X_test)} test videos, "
        f"{X_train[0].shape[1]} features per frame, {len(set(y_train))} classes"
    )
    results = compare(all_methods, X_train, y_train, X_test, y_test, progress=echo)
    title = f"{dataset}, official test split"
    echo("")
    echo(format_table(results, title))
    csv_path, png_path = save_results(results, title, output_dir)
    echo(f"\nsaved {csv_path} and {png_path}")
    return results
