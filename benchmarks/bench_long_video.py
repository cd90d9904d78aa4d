"""One long video through DiscriminativeSubspacePooling: time and peak memory.

Runs ``DiscriminativeSubspacePooling(random_state=0).fit_transform([video])`` with its
defaults (forward and backward subspaces, random negatives, the machine's torch
threads) on one random-walk video of ``--frames`` frames and ``--features`` features,
in a fresh process per size so that the peak resident memory is that of the call (and
of importing torch, which the baseline row measures alone).

    python benchmarks/bench_long_video.py
    python benchmarks/bench_long_video.py --frames 1000 10000 --features 16
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
from skdsp import DiscriminativeSubspacePooling
n, d = int(sys.argv[1]), int(sys.argv[2])
out = {"threads": torch.get_num_threads()}
if n:
    rng = np.random.default_rng(0)
    video = np.cumsum(rng.normal(size=(n, d)), axis=0) + rng.normal(size=(n, d))
    start = time.perf_counter()
    X = DiscriminativeSubspacePooling(random_state=0).fit_transform([video])
    out["seconds"] = time.perf_counter() - start
    out["finite"] = bool(np.isfinite(X).all())
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(n, d):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(n), str(d)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--features", type=int, default=16)
    args = parser.parse_args(argv)
    base = run(0, args.features)
    print(f"DiscriminativeSubspacePooling defaults on one video of n frames x "
          f"{args.features} features; {base['threads']} torch thread(s); machine: "
          f"{platform.processor() or platform.machine()}")
    print(f"peak memory of importing skdsp and torch alone: {base['peak_mb']:.0f} MB")
    print(f"{'frames':>7} {'seconds':>8} {'peak MB':>8} {'finite':>7}")
    for n in args.frames:
        r = run(n, args.features)
        print(f"{n:>7} {r['seconds']:>8.1f} {r['peak_mb']:>8.0f} {str(r['finite']):>7}")


if __name__ == "__main__":
    main()
