"""Sequences: the random-convolution backbone with DSP and baselines, against MiniRocket.

Accuracy (default mode): on each shipped sequence data set (BasicMotions, GunPoint as
its raw series, JapaneseVowels), official splits, several seeds, in one run:

- the backbone (:class:`skdsp.RandomConvolutionFrames`) in front of skdsp's default
  DSP pipeline (:func:`skdsp.presets.dsp_pipeline`);
- PPV pooling and average pooling of the same frames, standardised, tuned RBF SVM;
- PPV pooling and a ridge classifier: MiniRocket rebuilt from skdsp's parts;
- MiniRocket from aeon (``MiniRocketClassifier``, its defaults), when aeon is
  installed (``pip install skdsp[bench]``); unequal lengths are padded with zeros.

Each cell is the mean test accuracy over the seeds and the median time of fit +
predict; the last rows are each method's time over MiniRocket's, per data set.

Throughput (``--throughput``): the backbone alone, 1,000 sequences of 500 steps x 2
channels at 1,000 features, beside aeon's MiniRocket transform of the same data with
the same number of features (medians of repeats).

Variants (``--variants``): the DSP pipeline with one setting of the backbone, the
bagger, the pooling or the kernel changed per row, on the data set where it matters.

Solver (``--solver``): DSP alone on 8 videos of 300 frames at 1,000 and 10,000
features per frame (the Gram path: fewer rows than features): time and peak memory,
with the default starts and with ``n_init=1``.

Scale (``--scale``): 1,000 synthetic recordings of 1,000 steps x 6 channels through
the backbone and the default DSP pipeline, fitted, then predicting 1,000 more: time
of each and peak memory (resident set size of the process).

    python benchmarks/bench_sequences.py                          # 3 seeds
    python benchmarks/bench_sequences.py --rst docs/user_guide/sequences_table.rst
    python benchmarks/bench_sequences.py --methods dsp --backbone output=response
    python benchmarks/bench_sequences.py --variants --rst docs/user_guide/sequences_variants_table.rst
    python benchmarks/bench_sequences.py --throughput
    python benchmarks/bench_sequences.py --solver
    python benchmarks/bench_sequences.py --scale

Torch runs with one thread unless ``--threads`` says otherwise (aeon's MiniRocket
uses one by default), so that the times compare like with like.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import time
import warnings

import numpy as np
import torch
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdsp import AveragePooling, PPVPooling, RandomConvolutionFrames, presets
from skdsp.datasets import load_basic_motions, load_gunpoint, load_japanese_vowels

DATASETS = {
    "basic_motions": load_basic_motions,
    "gunpoint": lambda: load_gunpoint(embedding_dim=1),
    "japanese_vowels": load_japanese_vowels,
}
METHODS = ("dsp", "ppv", "average", "ppv_ridge", "minirocket")
LABELS = {
    "dsp": "backbone + DSP (skdsp defaults)",
    "ppv": "backbone + PPV pooling, RBF SVM",
    "average": "backbone + average pooling, RBF SVM",
    "ppv_ridge": "backbone + PPV pooling, ridge (MiniRocket rebuilt)",
    "minirocket": "MiniRocket (aeon)",
}


def aeon_minirocket():
    try:
        from aeon.classification.convolution_based import MiniRocketClassifier
    except ImportError:
        return None
    return MiniRocketClassifier


class PaddedAeon:
    """An aeon classifier on skdsp's collections: (n_steps, n_channels) sequences,
    zero-padded to a common length and laid out (n_cases, n_channels, n_steps)."""

    def __init__(self, estimator, length):
        self.estimator = estimator
        self.length = length

    def _array(self, X):
        out = np.zeros((len(X), X[0].shape[1], self.length))
        for i, x in enumerate(X):
            out[i, :, : x.shape[0]] = x.T
        return out

    def fit(self, X, y):
        self.estimator.fit(self._array(X), y)
        return self

    def predict(self, X):
        return self.estimator.predict(self._array(X))


def make_method(name, seed, backbone, bagger, pooling, kernel, length):
    def frames():
        return RandomConvolutionFrames(random_state=seed, device="cpu", **backbone)

    def svc():
        return presets.tuned_svc("rbf", random_state=seed)

    if name == "dsp":
        dsp = presets.dsp_pipeline(
            bagger=bagger, pooling=pooling, kernel=kernel, device="cpu", random_state=seed
        )
        return make_pipeline(frames(), *[step for _, step in dsp.steps])
    if name == "ppv":
        return make_pipeline(frames(), PPVPooling(), StandardScaler(), svc())
    if name == "average":
        return make_pipeline(frames(), AveragePooling(), StandardScaler(), svc())
    if name == "ppv_ridge":
        ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
        return make_pipeline(frames(), PPVPooling(), StandardScaler(), ridge)
    return PaddedAeon(aeon_minirocket()(random_state=seed), length)


# One setting changed per row (``--variants``), the losing ones kept.
VARIANTS = [
    ("basic_motions", "defaults (step 2)", {}),
    ("basic_motions", "step=1", {"backbone": {"step": 1}}),
    ("basic_motions", "step=4", {"backbone": {"step": 4}}),
    ("gunpoint", "defaults (step 3)", {}),
    ("gunpoint", "step=1", {"backbone": {"step": 1}}),
    ("gunpoint", "step=2", {"backbone": {"step": 2}}),
    ("gunpoint", "step=5", {"backbone": {"step": 5}}),
    ("gunpoint", 'output="response"', {"backbone": {"output": "response"}}),
    ("japanese_vowels", "defaults", {}),
    ("japanese_vowels", "n_features=10000", {"backbone": {"n_features": 10_000}}),
    ("japanese_vowels", 'output="response"', {"backbone": {"output": "response"}}),
    ("basic_motions", 'padding="alternate"', {"backbone": {"padding": "alternate"}}),
    ("gunpoint", 'padding="alternate"', {"backbone": {"padding": "alternate"}}),
    ("japanese_vowels", 'padding="alternate"', {"backbone": {"padding": "alternate"}}),
    ("japanese_vowels", "mean_weight=1 (mean frames only)", {"kernel": {"mean_weight": 1.0}}),
    ("japanese_vowels", "mean_weight=0 (subspaces only)", {"kernel": {"mean_weight": 0.0}}),
    ("japanese_vowels", "n_components=5", {"pooling": {"n_components": 5}}),
    ("japanese_vowels", 'attack="noise"', {"bagger": {"attack": "noise"}}),
    ("japanese_vowels", "max_train_frames=20000 (every frame)",
     {"bagger": {"max_train_frames": 20_000}}),
]


def run_variants(seeds, echo):
    rows = []
    for dataset, label, changed in VARIANTS:
        settings = {key: changed.get(key, {}) for key in ("backbone", "bagger", "pooling", "kernel")}
        results = run_accuracy([dataset], seeds, ["dsp"], settings, echo)[(dataset, "dsp")]
        acc = np.array([a for a, _ in results])
        seconds = statistics.median(t for _, t in results)
        rows.append((dataset, label, f"{acc.mean():.3f} ± {acc.std():.3f}", f"{seconds:.1f} s"))
        echo(f"== {dataset}, {label}: {rows[-1][2]} ({rows[-1][3]})")
    return rows


def variants_rst(rows, seeds, seconds):
    out = [
        ".. This file is generated by ``python benchmarks/bench_sequences.py --variants",
        "   --rst docs/user_guide/sequences_variants_table.rst``; edit the script, not",
        "   this file.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - data set",
        "     - backbone + DSP, with",
        "     - accuracy",
        "     - fit + predict",
    ]
    for row in rows:
        out.append(f"   * - {row[0]}")
        out += [f"     - {cell}" for cell in row[1:]]
    when = datetime.date.today().isoformat()
    out += [
        "",
        f"Test accuracy on the official splits, mean ± standard deviation over seeds "
        f"{', '.join(map(str, seeds))}, and the median time of fit + predict; measured "
        f"{when} on a {os.cpu_count()}-core {platform.machine()} CPU, one torch thread, "
        f"{elapsed(seconds)} in all.",
        "",
    ]
    return "\n".join(out)


def warm_up_aeon(X, y):
    """Compile aeon's numba code before anything is timed."""
    length = max(x.shape[0] for x in X)
    PaddedAeon(aeon_minirocket()(random_state=0), length).fit(X, y).predict(X[:2])


def run_accuracy(datasets, seeds, methods, settings, echo):
    results = {}  # (dataset, method) -> list of (accuracy, seconds)
    for dataset in datasets:
        X_train, y_train, X_test, y_test = DATASETS[dataset]()
        length = max(x.shape[0] for x in (*X_train, *X_test))
        if "minirocket" in methods:
            warm_up_aeon(X_train, y_train)
        for seed in seeds:
            for name in methods:
                model = make_method(name, seed, length=length, **settings)
                start = time.perf_counter()
                model.fit(X_train, y_train)
                accuracy = float(np.mean(model.predict(X_test) == y_test))
                seconds = time.perf_counter() - start
                results.setdefault((dataset, name), []).append((accuracy, seconds))
                echo(f"{dataset:16s} seed {seed}  {LABELS[name]:52s} {accuracy:.3f}  {seconds:7.2f} s")
    return results


def summary(results, datasets, methods):
    """Rows of (label, cells) and the time ratios against MiniRocket."""
    rows = []
    for name in methods:
        cells = []
        for d in datasets:
            acc = np.array([a for a, _ in results[(d, name)]])
            sec = statistics.median(s for _, s in results[(d, name)])
            cells.append(f"{acc.mean():.3f} ± {acc.std():.3f} ({sec:.2f} s)")
        rows.append((LABELS[name], cells))
    if "minirocket" in methods:
        base = {d: statistics.median(s for _, s in results[(d, "minirocket")]) for d in datasets}
        for name in methods:
            if name == "minirocket":
                continue
            cells = [
                f"{statistics.median(s for _, s in results[(d, name)]) / base[d]:.1f} x"
                for d in datasets
            ]
            rows.append((f"time / MiniRocket's: {LABELS[name]}", cells))
    return rows


def to_text(rows, datasets):
    width = max(len(label) for label, _ in rows)
    lines = [f"{'method':<{width}}" + "".join(f"  {d:>28}" for d in datasets)]
    lines.append("-" * len(lines[0]))
    for label, cells in rows:
        lines.append(f"{label:<{width}}" + "".join(f"  {c:>28}" for c in cells))
    return "\n".join(lines)


def to_rst(rows, datasets, seeds, settings, seconds):
    out = [
        ".. This file is generated by ``python benchmarks/bench_sequences.py --rst",
        "   docs/user_guide/sequences_table.rst``; edit the script, not this file.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - method",
    ]
    out += [f"     - {d}" for d in datasets]
    for label, cells in rows:
        out.append(f"   * - {label}")
        out += [f"     - {c}" for c in cells]
    changed = {k: v for k, v in settings.items() if v}
    when = datetime.date.today().isoformat()
    out += [
        "",
        f"Test accuracy on the official splits, mean ± standard deviation over seeds "
        f"{', '.join(map(str, seeds))}, and in brackets the median time of fit + predict; "
        f"measured {when} on a {os.cpu_count()}-core {platform.machine()} CPU, one torch "
        f"thread, {elapsed(seconds)} in all, with "
        "``python benchmarks/bench_sequences.py``"
        + (f" (settings {changed})" if changed else "")
        + ".",
        "",
    ]
    return "\n".join(out)


def median_time(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_throughput(repeats, backbone, echo):
    n, steps, channels, n_features = 1_000, 500, 2, 1_000
    X = np.random.default_rng(0).normal(size=(n, steps, channels)).astype(np.float32)
    settings = {"n_features": n_features, "step": 1, **backbone}  # a frame per time step
    frames = RandomConvolutionFrames(random_state=0, device="cpu", **settings).fit(X)
    ours = median_time(lambda: frames.transform(X), repeats)
    echo(
        f"RandomConvolutionFrames.transform: {n} x {steps} steps x {channels} channels, "
        f"{frames.n_features_out_} features, step {frames.step_}: {ours:.2f} s, "
        f"{n * steps * channels / ours / 1e6:.2f} million frame-channels per second"
    )
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        echo("aeon is not installed: no MiniRocket transform to compare with")
        return
    Xa = np.ascontiguousarray(X.transpose(0, 2, 1), dtype=np.float64)
    theirs = median_time(
        lambda: MiniRocket(n_kernels=n_features, random_state=0).fit_transform(Xa), repeats
    )
    echo(
        f"aeon MiniRocket fit_transform (PPV only, {n_features} features): {theirs:.2f} s; "
        f"backbone frames / MiniRocket: {ours / theirs:.1f} x"
    )


def activity_like(n, steps, channels, n_classes, seed):
    """Synthetic recordings: per class, a few frequencies per channel, random phases,
    amplitudes and noise (the shape of smartphone activity data, not its content)."""
    rng = np.random.default_rng(seed)
    freqs = np.random.default_rng(1234).uniform(0.5, 8.0, size=(n_classes, channels, 2))
    y = rng.integers(0, n_classes, size=n)
    t = np.arange(steps) / 50.0  # 50 Hz
    X = np.empty((n, steps, channels), dtype=np.float32)
    for i, c in enumerate(y):
        phase = rng.uniform(0, 2 * np.pi, size=(channels, 2))
        amp = rng.uniform(0.5, 1.5, size=(channels, 2))
        waves = amp[..., None] * np.sin(2 * np.pi * freqs[c][..., None] * t + phase[..., None])
        X[i] = (waves.sum(axis=1) + 0.5 * rng.normal(size=(channels, steps))).T
    return X, y


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_scale(settings, echo):
    n, steps, channels = 1_000, 1_000, 6
    X_train, y_train = activity_like(n, steps, channels, 6, seed=0)
    X_test, y_test = activity_like(n, steps, channels, 6, seed=1)
    echo(f"data: 2 x {n} recordings x {steps} steps x {channels} channels; "
         f"peak memory so far {peak_rss_gb():.2f} GB")
    model = make_method("dsp", 0, length=steps, **settings)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fitted = time.perf_counter()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    done = time.perf_counter()
    frames = model.steps[0][1]
    echo(
        f"backbone: {frames.n_features_out_} features, step {frames.step_}; "
        f"fit {fitted - start:.0f} s, predict {done - fitted:.0f} s, "
        f"total {(done - start) / 60:.1f} min; accuracy {accuracy:.3f}; "
        f"peak memory {peak_rss_gb():.2f} GB"
    )


def reset_peak_rss():
    """Start a new peak-memory window (Linux: VmHWM := VmRSS); False elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_since_reset_gb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


def run_solver(echo, n_videos=8, n_frames=300):
    """DSP alone on bags of many features per frame: time and peak memory, with the
    default starts and with one start per video (``n_init=1``)."""
    from skdsp import Bags, DiscriminativeSubspacePooling

    rng = np.random.default_rng(0)
    for d in (1_000, 10_000):
        positive = []
        for _ in range(n_videos):
            drift = rng.normal(size=(2, d)).astype(np.float32)
            t = np.linspace(0, 1, n_frames, dtype=np.float32)[:, None]
            v = drift[0] + t * drift[1] + rng.normal(size=(n_frames, d)).astype(np.float32)
            positive.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        shift = rng.normal(size=d).astype(np.float32)
        shift *= 0.5 / np.linalg.norm(shift)
        bags = Bags(positive, [p + shift for p in positive])
        data_gb = 2 * n_videos * n_frames * d * 4 / 1024**3
        for params in ({}, {"n_init": 1}):
            if not reset_peak_rss():
                echo("cannot reset the peak-memory counter on this system")
            before = peak_rss_since_reset_gb()
            start = time.perf_counter()
            pooling = DiscriminativeSubspacePooling(device="cpu", random_state=0, **params)
            pooling.fit_transform(bags)
            seconds = time.perf_counter() - start
            echo(
                f"DSP, n_init={pooling.n_init}, {n_videos} videos x {n_frames} frames "
                f"(+ as many negatives) x {d} features (bags {data_gb:.2f} GB): "
                f"{seconds:.1f} s, {seconds / n_videos:.2f} s per video (both "
                f"directions); peak memory {peak_rss_since_reset_gb() - before:.2f} GB "
                "above the bags"
            )
        del bags, positive


def elapsed(seconds):
    """``"40 s"`` under two minutes, else ``"8 minutes"``."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def parse_settings(pairs):
    """``key=value`` strings to a dict, values read as Python literals when they can."""
    import ast

    out = {}
    for pair in pairs or []:
        key, _, value = pair.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--backbone", nargs="*", metavar="KEY=VALUE",
                        help="RandomConvolutionFrames parameters")
    parser.add_argument("--bagger", nargs="*", metavar="KEY=VALUE",
                        help="AdversarialBagger parameters of the DSP pipeline")
    parser.add_argument("--pooling", nargs="*", metavar="KEY=VALUE",
                        help="DiscriminativeSubspacePooling parameters")
    parser.add_argument("--kernel", nargs="*", metavar="KEY=VALUE",
                        help="SubspaceKernel parameters")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--scale", action="store_true")
    parser.add_argument("--solver", action="store_true")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rst", help="also write the accuracy table as reStructuredText here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=UserWarning)
    echo = lambda s: print(s, flush=True)  # noqa: E731
    settings = {
        "backbone": parse_settings(args.backbone),
        "bagger": parse_settings(args.bagger),
        "pooling": parse_settings(args.pooling),
        "kernel": parse_settings(args.kernel),
    }
    if args.throughput:
        run_throughput(args.repeats, settings["backbone"], echo)
        return
    if args.scale:
        run_scale(settings, echo)
        return
    if args.solver:
        run_solver(echo)
        return
    if args.variants:
        start = time.perf_counter()
        rows = run_variants(args.seeds, echo)
        if args.rst:
            with open(args.rst, "w") as fh:
                fh.write(variants_rst(rows, args.seeds, time.perf_counter() - start))
            echo(f"wrote {args.rst}")
        return
    methods = [m for m in args.methods if m != "minirocket" or aeon_minirocket() is not None]
    if len(methods) < len(args.methods):
        echo("aeon is not installed: MiniRocket is left out (pip install skdsp[bench])")
    start = time.perf_counter()
    results = run_accuracy(args.datasets, args.seeds, methods, settings, echo)
    rows = summary(results, args.datasets, methods)
    echo("")
    echo(to_text(rows, args.datasets))
    if args.rst:
        with open(args.rst, "w") as fh:
            fh.write(to_rst(rows, args.datasets, args.seeds, settings,
                            time.perf_counter() - start))
        echo(f"wrote {args.rst}")


if __name__ == "__main__":
    main()
