"""Worst-case time of one call on long input, for every sequence estimator.

Each estimator, with its default parameters on the CPU, runs ``fit_transform`` once on
``--frames`` frames (10,000 by default) of ``--features`` features (8), in one video
(two of half the length for AdversarialBagger, which needs two classes), for each of
several kinds of frames: Gaussian, constant, tiny (1e-300), huge (1e300) and Gaussian
with every other frame zero; and the same number of Gaussian frames cut into videos of
10 frames ("short videos"). It prints the seconds of each call and the worst per
estimator: the bound the user guide states ("Scaling up"). One call each (they are
long), one torch thread.

    python benchmarks/bench_worst_case.py
    python benchmarks/bench_worst_case.py --frames 2000 --only RankPooling-svr SVMPooling
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import torch


def frames(kind, n, d, rng):
    x = rng.normal(size=(n, d))
    if kind == "constant":
        x[:] = x[0]
    elif kind == "tiny":
        x *= 1e-300
    elif kind == "huge":
        x *= 1e300
    elif kind == "half zero":
        x[::2] = 0
    return x


def estimators():
    from skdsp import (
        AdversarialBagger,
        AveragePooling,
        DiscriminativeSubspacePooling,
        FrameNormalizer,
        FrameScaler,
        MaxPooling,
        RankPooling,
        SVMPooling,
    )

    return {
        "DiscriminativeSubspacePooling": DiscriminativeSubspacePooling(
            device="cpu", random_state=0
        ),
        "AdversarialBagger": AdversarialBagger(device="cpu", random_state=0),
        "AdversarialBagger-pgd": AdversarialBagger(attack="pgd", device="cpu", random_state=0),
        "AdversarialBagger-deepfool": AdversarialBagger(
            attack="deepfool", device="cpu", random_state=0
        ),
        "RankPooling-ridge": RankPooling(device="cpu"),
        "RankPooling-svr": RankPooling(solver="svr"),
        "SVMPooling": SVMPooling(random_state=0),
        "AveragePooling": AveragePooling(),
        "MaxPooling": MaxPooling(),
        "FrameScaler": FrameScaler(),
        "FrameNormalizer": FrameNormalizer(),
    }


KINDS = ["gaussian", "constant", "tiny", "huge", "half zero", "short videos"]


def collection(name, kind, n, d, rng):
    """The videos of one call, and its labels (the bagger needs two classes)."""
    if kind == "short videos":
        X = [frames("gaussian", 10, d, rng) for _ in range(n // 10)]
    elif name.startswith("AdversarialBagger"):
        X = [frames(kind, n // 2, d, rng) for _ in range(2)]
    else:
        X = [frames(kind, n, d, rng)]
    return (X, np.arange(len(X)) % 2) if name.startswith("AdversarialBagger") else (X,)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--only", nargs="*", default=None, help="estimator names to run")
    parser.add_argument("--kinds", nargs="*", default=KINDS, choices=KINDS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"1 thread; {args.frames} frames x {args.features} features per call")
    rng = np.random.default_rng(0)
    worst = {}
    for name, est in estimators().items():
        if args.only and name not in args.only:
            continue
        for kind in args.kinds:
            fit_args = collection(name, kind, args.frames, args.features, rng)
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est.fit_transform(*fit_args)
                outcome = "ok"
            except (ValueError, TypeError, RuntimeError) as exc:
                outcome = f"{type(exc).__name__}: {str(exc)[:60]}"
            seconds = time.perf_counter() - start
            worst[name] = max(worst.get(name, 0.0), seconds)
            print(f"{name:32s} {kind:10s} {seconds:9.3f} s  {outcome}", flush=True)
    print("\nworst case per estimator:")
    for name, seconds in worst.items():
        print(f"{name:32s} {seconds:9.3f} s")


if __name__ == "__main__":
    main()
