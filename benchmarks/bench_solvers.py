"""Batched Riemannian CG against pymanopt's conjugate gradient, on the CPU.

Solves the DSP problems of the same videos with both solvers (same starting points,
same number of iterations) and prints per-video times, their ratio and the mean
objectives, all measured in this run. The two solvers are timed in alternating rounds
(so that both see the same load on a shared machine); times are medians over rounds,
as wall-clock and as process CPU time (the latter is steadier on a shared machine). Both solvers
run with the same number of torch threads (1 by default).

    python benchmarks/bench_solvers.py
    python benchmarks/bench_solvers.py --videos 32 --repeats 7 --pymanopt-videos 8
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from skdsp.pooling import solve_dsp


def make_videos(n_videos, n_frames, n_features, seed=0):
    """Random-walk frame features (temporal structure) and unit-norm noise negatives."""
    rng = np.random.default_rng(seed)
    videos, negatives = [], []
    for _ in range(n_videos):
        walk = np.cumsum(rng.normal(size=(n_frames, n_features)), axis=0)
        videos.append(walk + 3.0 * rng.normal(size=n_features))
        z = rng.normal(size=(n_frames, n_features))
        negatives.append(z / np.linalg.norm(z, axis=1, keepdims=True))
    return videos, negatives


def timed(fn, repeats):
    """Median wall and CPU seconds of ``fn()`` over ``repeats`` runs, and its last result."""
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return float(np.median(walls)), float(np.median(cpus)), out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--frames", type=int, default=48, help="frames (and negatives)")
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5, help="timing rounds")
    parser.add_argument(
        "--pymanopt-videos", type=int, default=8,
        help="videos timed with pymanopt in each repeat (all of them are solved once "
        "for the objective)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    videos, negatives = make_videos(args.videos, args.frames, args.features)
    kw = {"n_components": args.components, "max_iter": args.max_iter, "dtype": args.dtype,
              "device": "cpu"}

    solve_dsp(videos[:2], negatives[:2], **{**kw, "max_iter": 2})  # warm-up

    def batched():
        return solve_dsp(videos, negatives, solver="batched", **kw)

    k = min(args.pymanopt_videos, args.videos)

    def reference_subset():
        return solve_dsp(videos[:k], negatives[:k], solver="pymanopt", **kw)

    # Interleaved, so that both solvers see the same load on a shared machine; the
    # speed-up is the median of the per-round ratios.
    rounds_b, rounds_p = [], []
    for _ in range(args.repeats):
        rounds_b.append(timed(batched, 1))
        rounds_p.append(timed(reference_subset, 1))
    wall_b, cpu_b = (float(np.median([r[i] for r in rounds_b])) for i in (0, 1))
    wall_p, cpu_p = (float(np.median([r[i] for r in rounds_p])) for i in (0, 1))
    res_b = rounds_b[-1][2]
    ratios = np.array(
        [
            [(rp[i] / k) / (rb[i] / args.videos) for i in (0, 1)]
            for rb, rp in zip(rounds_b, rounds_p)
        ]
    )
    res_p = solve_dsp(videos, negatives, solver="pymanopt", **kw)  # objective, all videos

    per_b = (wall_b / args.videos, cpu_b / args.videos)
    per_p = (wall_p / k, cpu_p / k)
    obj_b, obj_p = res_b.objective.mean(), res_p.objective.mean()
    orth = np.abs(
        np.einsum("ndp,ndq->npq", res_b.subspaces, res_b.subspaces) - np.eye(args.components)
    ).max()

    print(
        f"DSP solvers: {args.videos} videos, d={args.features}, p={args.components}, "
        f"{args.frames} frames + {args.frames} negatives, {args.max_iter} iterations, "
        f"{args.dtype}, {args.threads} torch thread(s)"
    )
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch thread(s), torch {torch.__version__}")
    print(f"{args.repeats} rounds, each timing one batched solve of all {args.videos} "
          f"videos then one pymanopt solve of the first {k}; medians over rounds "
          f"(pymanopt objective: all {args.videos} videos, solved once)")
    print()
    header = f"{'solver':<10} {'wall ms/video':>14} {'CPU ms/video':>13} {'mean objective':>15}"
    print(header)
    print("-" * len(header))
    print(f"{'batched':<10} {1e3 * per_b[0]:>14.2f} {1e3 * per_b[1]:>13.2f} {obj_b:>15.4f}")
    print(f"{'pymanopt':<10} {1e3 * per_p[0]:>14.2f} {1e3 * per_p[1]:>13.2f} {obj_p:>15.4f}")
    print()
    ratio_wall, ratio_cpu = np.median(ratios, axis=0)
    print(f"speed-up of batched over pymanopt (median of per-round ratios): "
          f"{ratio_wall:.1f}x wall, {ratio_cpu:.1f}x CPU "
          f"(rounds: wall {ratios[:, 0].min():.1f}-{ratios[:, 0].max():.1f}x, "
          f"CPU {ratios[:, 1].min():.1f}-{ratios[:, 1].max():.1f}x)")
    print(f"objective, batched relative to pymanopt: {100 * (obj_b / obj_p - 1):+.3f}%")
    print(f"worst orthonormality error of batched subspaces: {orth:.1e}")
    floor = min(ratio_wall, ratio_cpu) >= 20 and obj_b <= obj_p
    print(f"floor (>= 20x faster at equal or lower mean objective): "
          f"{'met' if floor else 'NOT met'}")


if __name__ == "__main__":
    main()
