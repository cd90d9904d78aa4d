"""The temporal order term: dense O(n^2) against sorting O(n log n) counts, by length.

Times :func:`skdsp.pooling.temporal.order_term` (value and derivative) for a batch of
rows with each counting method, interleaved in rounds so that both see the same load,
and prints medians per call. The crossover is where ``DENSE_MAX_FRAMES`` belongs.

    python benchmarks/bench_temporal.py
    python benchmarks/bench_temporal.py --rows 96 --frames 32 64 96 128 256 512 4096
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from skdsp.pooling import temporal


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=96, help="sequences per call")
    parser.add_argument("--frames", type=int, nargs="+",
                        default=[32, 48, 64, 96, 128, 192, 256, 512, 1024, 4096])
    parser.add_argument("--leaf", type=int, nargs="+", default=[temporal._LEAF],
                        help="dense block sizes at the bottom of the sorting path")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dt = getattr(torch, args.dtype)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)

    print(f"temporal term, {args.rows} rows per call, {args.dtype}, {args.device}, "
          f"{torch.get_num_threads()} thread(s); machine: "
          f"{platform.processor() or platform.machine()}; ms per call, median of "
          f"{args.rounds} interleaved rounds")
    methods = ["dense"] + [f"sort/leaf{leaf}" for leaf in args.leaf]
    print(f"{'frames':>7} " + " ".join(f"{m:>14}" for m in methods) + "   fastest")
    rng = np.random.default_rng(0)
    for n in args.frames:
        energy = torch.as_tensor(rng.random((args.rows, n)), dtype=dt, device=args.device)
        calls = {}
        if n <= 1024:
            calls["dense"] = lambda: temporal.order_term(energy, eta=1e-3, method="dense")
        for leaf in args.leaf:
            def sort(leaf=leaf):
                old = temporal._LEAF
                temporal._LEAF = leaf
                try:
                    return temporal.order_term(energy, eta=1e-3, method="sort")
                finally:
                    temporal._LEAF = old
            calls[f"sort/leaf{leaf}"] = sort
        times = {k: [] for k in calls}
        for f in calls.values():
            f()
        for _ in range(args.rounds):
            for k, f in calls.items():
                sync()
                t = time.perf_counter()
                f()
                sync()
                times[k].append(time.perf_counter() - t)
        med = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
        cells = [f"{med[m]:>14.3f}" if m in med else f"{'-':>14}" for m in methods]
        print(f"{n:>7} " + " ".join(cells) + f"   {min(med, key=med.get)}")


if __name__ == "__main__":
    main()
