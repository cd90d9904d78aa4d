"""Throughput of the batched DSP solver on a GPU.

For each size (frames per video) and batch size, solves that many synthetic videos at
once (random-walk frames and unit-norm noise negatives, generated on the device) with
the solver :func:`skdsp.pooling.solve_dsp` runs (its starting points, ``n_init``
screening and iterations), and reports seconds, videos per second (data generation
excluded), the speed-up over pymanopt's conjugate gradient timed on a few videos on the
same machine, and the peak device memory. The issue floors it checks: at d=2048, at
least 5,000 videos/s with 64 frames and 64 negatives, and 1,000 videos/s with 512.

    python benchmarks/bench_solvers_gpu.py                 # GPU-sized defaults
    python benchmarks/bench_solvers_gpu.py --quick         # tiny sizes, runs on a CPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from skdsp.pooling.objective import DSPBatch
from skdsp.pooling.solve import _normalise_frames, _solve_batch, solve_dsp


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


def solve_batch(batch, p, max_iter, n_init, device):
    """Solve a batch as solve_dsp does; return the iterations run and the seconds."""
    sync(device)
    start = time.perf_counter()
    _normalise_frames(batch)
    _, _, _, n_iter, _, _ = _solve_batch(
        batch, np.arange(batch.n_videos), n_components=p, n_init=n_init,
        max_iter=max_iter, tol=1e-6, solver="batched",
    )
    sync(device)
    return n_iter, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes that run in seconds on a CPU")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--features", type=int, default=2048)
    parser.add_argument("--frames", default="64,512",
                        help="frames (and negatives) per video, comma-separated")
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--n-init", type=int, default=2)
    parser.add_argument("--batches", default="1024,4096,16384",
                        help="problems solved together (solve_dsp's batch_size): "
                        "videos times their n_init starts")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pymanopt-videos", type=int, default=4)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 with --quick)")
    args = parser.parse_args(argv)
    if args.quick:
        args.features, args.frames, args.max_iter = 64, "8,16", 10
        args.batches, args.repeats, args.pymanopt_videos = "16,32", 2, 2
        args.threads = args.threads or 1
    if args.threads:
        torch.set_num_threads(args.threads)

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    p, d = args.components, args.features
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"batched DSP solver on {name}: d={d}, p={p}, n frames + n negatives, "
          f"{args.max_iter} iterations, n_init={args.n_init}, {args.dtype}, medians of "
          f"{args.repeats}")
    for n in [int(f) for f in args.frames.split(",")]:
        run_size(args, n, d, p, dtype, device)


def run_size(args, n, d, p, dtype, device):
    print()
    # Reference: pymanopt on a few videos, cost and gradient by torch on the device.
    small = device_videos(args.pymanopt_videos, n, d, dtype, device, seed=1)
    videos = [small.S[i, :n].cpu().numpy() for i in range(small.n_videos)]
    negatives = [small.S[i, n:].cpu().numpy() for i in range(small.n_videos)]
    kw = {"n_components": p, "max_iter": args.max_iter, "dtype": args.dtype,
          "device": device, "n_init": args.n_init}
    solve_dsp(videos[:1], negatives[:1], solver="pymanopt", **{**kw, "max_iter": 2, "n_init": 1})
    sync(device)
    start = time.perf_counter()
    ref = solve_dsp(videos, negatives, solver="pymanopt", **{**kw, "n_init": 1})
    sync(device)
    pymanopt_per_video = (time.perf_counter() - start) / small.n_videos
    same = solve_dsp(videos, negatives, solver="batched", **kw)
    print(f"{n} frames: pymanopt (one start) {1e3 * pymanopt_per_video:.1f} ms/video "
          f"({small.n_videos} videos); mean objective on them: pymanopt "
          f"{ref.objective.mean():.4f}, batched {same.objective.mean():.4f}")
    del small

    solve_batch(device_videos(8, n, d, dtype, device), p, 2, args.n_init, device)  # warm-up
    header = (f"{'batch':>7} {'videos':>7} {'seconds':>8} {'videos/s':>9} "
              f"{'vs pymanopt':>11} {'peak MiB':>9}")
    print(header)
    print("-" * len(header))
    best = 0.0
    for problems in [int(b) for b in args.batches.split(",")]:
        n_videos = max(1, problems // min(args.n_init, 2**p))
        times = []
        peak = "-"
        try:
            for r in range(args.repeats):
                batch = device_videos(n_videos, n, d, dtype, device, seed=2 + r)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                _, seconds = solve_batch(batch, p, args.max_iter, args.n_init, device)
                times.append(seconds)
                if device.type == "cuda":
                    peak = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f}"
                del batch
        except torch.OutOfMemoryError:
            print(f"{problems:>7} out of memory")
            break
        seconds = float(np.median(times))
        best = max(best, n_videos / seconds)
        print(f"{problems:>7} {n_videos:>7} {seconds:>8.3f} {n_videos / seconds:>9.0f} "
              f"{pymanopt_per_video * n_videos / seconds:>10.0f}x {peak:>9}")
    floor = {64: 5000, 512: 1000}.get(n)
    if floor and d == 2048:
        print(f"best: {best:.0f} videos/s; floor {floor} videos/s: "
              f"{'met' if best >= floor else 'NOT met'}")


if __name__ == "__main__":
    main()
