"""Throughput of the batched DSP solver on a GPU, and its share of memory bandwidth.

For each batch size, solves that many synthetic videos at once (random-walk frames and
unit-norm noise negatives, generated on the device) and reports the seconds spent in
initialisation (normalisation and the top singular vectors; on a GPU the eigensolver
runs on the host for frames beyond 32) and in the iterations, videos per second for
the whole solve (data generation excluded), the speed-up over pymanopt's conjugate
gradient timed on a few videos on the same machine, and the fraction of peak memory
bandwidth the iterations reach, from an estimate of the bytes each iteration moves.

    python benchmarks/bench_solvers_gpu.py                 # H100-sized defaults
    python benchmarks/bench_solvers_gpu.py --quick         # tiny sizes, runs on a CPU

The bandwidth estimate counts, per video and iteration, what the solver reads from
arrays proportional to the data: with ``m = p + N`` (the solver works in the span of
the starting point and the ``N`` data rows when ``m < d``), the ``N x m`` rows of the
Gram metric that give each new gradient, the ``m x m`` metric again every
``refresh_every`` (20) iterations, and about 40 passes over ``(p, 2m)`` state and
``(p, N)`` projection arrays (line search, cost, updates); when ``m >= d``, one pass
over the ``N x d`` data and the ``N x N`` Gram matrix instead, and ``(p, d + N)``
states. Building the metric (one pass over the data) is part of the solve time but not
of the per-iteration estimate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from skdsp.optim.rcg import batched_rcg
from skdsp.pooling.objective import DSPBatch
from skdsp.pooling.solve import _initial_subspaces, _normalise_frames, solve_dsp


def device_videos(n_videos, n_frames, n_features, dtype, device, seed=0):
    """A batch of equal-length synthetic videos built directly on ``device``."""
    gen = torch.Generator(device=device).manual_seed(seed)
    shape = (n_videos, n_frames, n_features)
    frames = torch.randn(shape, generator=gen, dtype=dtype, device=device).cumsum_(dim=1)
    frames += 3.0 * torch.randn(
        (n_videos, 1, n_features), generator=gen, dtype=dtype, device=device
    )
    negatives = torch.randn(shape, generator=gen, dtype=dtype, device=device)
    negatives /= torch.linalg.vector_norm(negatives, dim=-1, keepdim=True)
    S = torch.cat([frames, negatives], dim=1)
    del frames, negatives
    labels = torch.cat(
        [
            torch.ones((n_videos, n_frames), dtype=torch.int8, device=device),
            -torch.ones((n_videos, n_frames), dtype=torch.int8, device=device),
        ],
        dim=1,
    )
    ones = torch.ones(n_videos, dtype=dtype, device=device)
    return DSPBatch(
        S=S,
        labels=labels,
        n_frames=torch.full((n_videos,), n_frames, device=device),
        n_max=n_frames,
        order_sign=ones,
        bag_weight=ones,
        order_weight=0.5 * ones,
        eta=1e-3,
        margin=1.0,
    )


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def solve_batch(batch, p, max_iter, device):
    """Solve a batch; return the result and the seconds spent initialising and iterating."""
    sync(device)
    start = time.perf_counter()
    _normalise_frames(batch)
    U0, _ = _initial_subspaces(batch, p, np.arange(batch.n_videos))
    sync(device)
    middle = time.perf_counter()
    res = batched_rcg(batch, U0, max_iter=max_iter)
    sync(device)
    return res, middle - start, time.perf_counter() - middle


def bytes_per_iteration(n_videos, n_rows, n_features, p, itemsize, refresh_every=20):
    m = p + n_rows
    if m < n_features:
        data = n_rows * m + m * m / refresh_every
        small = 40 * p * (2 * m + n_rows)
    else:
        data = n_rows * n_features * (1.0 + 2.0 / refresh_every) + n_rows * n_rows
        small = 40 * p * (n_features + 2 * n_rows)
    return n_videos * itemsize * (data + small)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes that run in seconds on a CPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--features", type=int, default=2048)
    parser.add_argument("--frames", type=int, default=64, help="frames (and negatives)")
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--batches", default="1024,2048,4096,8192,16384")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pymanopt-videos", type=int, default=4)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 with --quick)")
    parser.add_argument("--bandwidth", type=float, default=3.35e12,
                        help="peak memory bandwidth in bytes/s (H100 SXM: 3.35e12)")
    args = parser.parse_args(argv)
    if args.quick:
        args.features, args.frames, args.max_iter = 64, 8, 10
        args.batches, args.repeats, args.pymanopt_videos = "16,32", 2, 2
        args.threads = args.threads or 1
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    itemsize = torch.empty((), dtype=dtype).element_size()
    p, n, d = args.components, args.frames, args.features
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"batched DSP solver on {name}: d={d}, p={p}, {n} frames + {n} negatives, "
          f"{args.max_iter} iterations, {args.dtype}, medians of {args.repeats}")

    # Reference: pymanopt on a few videos, cost and gradient by torch on the device.
    small = device_videos(args.pymanopt_videos, n, d, dtype, device, seed=1)
    videos = [small.S[i, :n].cpu().numpy() for i in range(small.n_videos)]
    negatives = [small.S[i, n:].cpu().numpy() for i in range(small.n_videos)]
    kw = {"n_components": p, "max_iter": args.max_iter, "dtype": args.dtype, "device": device}
    solve_dsp(videos[:1], negatives[:1], solver="pymanopt", **{**kw, "max_iter": 2})
    sync(device)
    start = time.perf_counter()
    ref = solve_dsp(videos, negatives, solver="pymanopt", **kw)
    sync(device)
    pymanopt_per_video = (time.perf_counter() - start) / small.n_videos
    same = solve_dsp(videos, negatives, solver="batched", **kw)
    print(f"pymanopt: {1e3 * pymanopt_per_video:.1f} ms/video "
          f"({small.n_videos} videos); mean objective on them: pymanopt "
          f"{ref.objective.mean():.4f}, batched {same.objective.mean():.4f}")
    del small

    solve_batch(device_videos(8, n, d, dtype, device), p, 2, device)  # warm-up
    header = (f"{'batch':>7} {'init s':>7} {'iterate s':>9} {'videos/s':>9} "
              f"{'vs pymanopt':>11} {'GB/iter':>8} {'bandwidth':>9} {'peak MiB':>9}")
    print()
    print(header)
    print("-" * len(header))
    for n_videos in [int(b) for b in args.batches.split(",")]:
        inits, iterates = [], []
        peak = "-"
        try:
            for r in range(args.repeats):
                batch = device_videos(n_videos, n, d, dtype, device, seed=2 + r)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                res, t_init, t_iter = solve_batch(batch, p, args.max_iter, device)
                inits.append(t_init)
                iterates.append(t_iter)
                if device.type == "cuda":
                    peak = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
                iters = float(np.mean(res.n_iter))
                del batch, res
        except torch.OutOfMemoryError:
            print(f"{n_videos:>7} out of memory")
            break
        t_init, t_iter = float(np.median(inits)), float(np.median(iterates))
        seconds = t_init + t_iter
        per_iter = bytes_per_iteration(n_videos, 2 * n, d, p, itemsize)
        fraction = per_iter * iters / t_iter / args.bandwidth
        print(f"{n_videos:>7} {t_init:>7.3f} {t_iter:>9.3f} {n_videos / seconds:>9.0f} "
              f"{pymanopt_per_video * n_videos / seconds:>10.0f}x "
              f"{per_iter / 1e9:>8.2f} {100 * fraction:>8.1f}% {peak:>9}")


if __name__ == "__main__":
    main()
