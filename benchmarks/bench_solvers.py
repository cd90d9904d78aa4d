"""Batched Riemannian CG against a plain pymanopt conjugate gradient, on the CPU.

The problems: per video, ``n`` unit-norm frames that drift slowly (a straight path
between two random points plus noise) and ``n`` negatives, the frames moved by one
shift of norm 0.8 shared by all videos (a universal perturbation's shape). Both solvers
run ``--max-iter`` iterations on the same problems in the same run:

- ``batched``: :func:`skdsp.pooling.solve_dsp` (all videos at once, float32 by
  default, its own starting points and ``n_init``);
- ``pymanopt``: ``pymanopt.optimizers.ConjugateGradient`` one video at a time on the
  objective written out here with torch autograd, in float64, from the PCA start (the
  top left singular vectors of ``X^T``, with the signs the SVD gives).

Times are medians over interleaved rounds (one batched solve of all videos, then one
pymanopt solve of the first ``--pymanopt-videos``), wall clock and process CPU time;
the speed-up is the median of the per-round ratios. Objectives are compared on all
videos. Both solvers get ``--threads`` threads, torch's and the BLAS's that pymanopt's
NumPy calls use: with more BLAS threads than free cores, pymanopt slows down two- to
fourfold on a busy machine, which would flatter the batched solver.

    python benchmarks/bench_solvers.py
    python benchmarks/bench_solvers.py --frames 48 512 --repeats 5
    python benchmarks/bench_solvers.py --frames 512 4096 --no-pymanopt   # growth only
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from skdsp.pooling import solve_dsp


def make_problems(n_videos, n_frames, n_features, *, shift=0.8, seed=0):
    """Drifting unit-norm frames and negatives = frames + one shared shift."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n_features)
    v *= shift / np.linalg.norm(v)
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    videos, negatives = [], []
    for _ in range(n_videos):
        a, b = rng.normal(size=n_features), rng.normal(size=n_features)
        x = (1 - t) * a + t * b + 0.3 * rng.normal(size=(n_frames, n_features))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        videos.append(x)
        negatives.append(x + v)
    return videos, negatives


def pymanopt_reference(X, Z, *, p, max_iter, eta=1e-3, order_weight=0.5, margin=1.0):
    """Plain pymanopt CG on one video: autograd cost in float64, PCA start."""
    import pymanopt
    from pymanopt.manifolds import Stiefel
    from pymanopt.optimizers import ConjugateGradient

    n, d = X.shape
    Xt, Zt = torch.from_numpy(X), torch.from_numpy(Z)
    first, second = torch.triu_indices(n, n, offset=1)
    manifold = Stiefel(d, p)

    @pymanopt.function.pytorch(manifold)
    def cost(U):
        px, pz = Xt @ U, Zt @ U
        bag = torch.relu(margin - px.max(dim=1).values).sum()
        bag = bag + torch.relu(margin + pz.min(dim=1).values).sum()
        e = (px * px).sum(dim=1)
        return bag + order_weight * torch.relu(e[first] - e[second] + eta).sum()

    U0 = np.linalg.svd(X.T, full_matrices=False)[0][:, :p]
    optimizer = ConjugateGradient(max_iterations=max_iter, min_gradient_norm=1e-6,
                                  verbosity=0)
    return optimizer.run(pymanopt.Problem(manifold, cost), initial_point=U0)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w, time.process_time() - c, out


def run_size(args, n):
    videos, negatives = make_problems(args.videos, n, args.features)
    kw = {"n_components": args.components, "max_iter": args.max_iter, "dtype": args.dtype,
          "device": "cpu", "n_init": args.n_init}
    solve_dsp(videos[:2], negatives[:2], **{**kw, "max_iter": 2})  # warm-up
    k = min(args.pymanopt_videos, args.videos)
    rounds_b, rounds_p = [], []
    for _ in range(args.repeats):
        rounds_b.append(timed(lambda: solve_dsp(videos, negatives, **kw)))
        if not args.no_pymanopt:
            rounds_p.append(timed(lambda: [
                pymanopt_reference(x, z, p=args.components, max_iter=args.max_iter)
                for x, z in zip(videos[:k], negatives[:k])
            ]))
    per_b = [np.median([r[i] for r in rounds_b]) / args.videos for i in (0, 1)]
    res_b = rounds_b[-1][2]
    orth = np.abs(np.einsum("ndp,ndq->npq", res_b.subspaces, res_b.subspaces)
                  - np.eye(args.components)).max()
    row = {"n": n, "wall": per_b[0], "cpu": per_b[1], "obj_b": res_b.objective.mean(),
           "orth": orth}
    if args.no_pymanopt:
        return row
    per_p = [np.median([r[i] for r in rounds_p]) / k for i in (0, 1)]
    ratios = np.array([[(rp[i] / k) / (rb[i] / args.videos) for i in (0, 1)]
                       for rb, rp in zip(rounds_b, rounds_p)])
    ref = rounds_p[-1][2] + [
        pymanopt_reference(x, z, p=args.components, max_iter=args.max_iter)
        for x, z in zip(videos[k:], negatives[k:])
    ]
    obj_p = np.array([r.cost for r in ref])
    rel = res_b.objective / obj_p - 1
    row.update(p_wall=per_p[0], p_cpu=per_p[1], obj_p=obj_p.mean(),
               speed_wall=float(np.median(ratios[:, 0])),
               speed_cpu=float(np.median(ratios[:, 1])),
               speed_range=(ratios.min(axis=0), ratios.max(axis=0)),
               rel_mean=float(res_b.objective.mean() / obj_p.mean() - 1),
               worse_10=float(np.mean(rel > 0.10)), worse_50=float(np.mean(rel > 0.5)))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=32)
    parser.add_argument("--frames", type=int, nargs="+", default=[48, 128, 512],
                        help="frames (and negatives) per video; one row per value")
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--components", type=int, default=3)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--n-init", type=int, default=None,
                        help="solve_dsp's n_init (default: its own default)")
    parser.add_argument("--repeats", type=int, default=3, help="timing rounds")
    parser.add_argument("--pymanopt-videos", type=int, default=4,
                        help="videos timed with pymanopt in each round (all are solved "
                        "once for the objective)")
    parser.add_argument("--no-pymanopt", action="store_true",
                        help="time the batched solver only (for the growth with n)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args(argv)
    if args.n_init is None:
        import inspect

        args.n_init = inspect.signature(solve_dsp).parameters["n_init"].default
    torch.set_num_threads(args.threads)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        report(args)


def report(args):
    print(f"DSP solvers: {args.videos} videos, d={args.features}, p={args.components}, "
          f"n frames + n negatives, {args.max_iter} iterations, batched in {args.dtype} "
          f"with n_init={args.n_init}, pymanopt in float64; {args.threads} thread(s) "
          f"(torch and BLAS)")
    print(f"machine: {platform.processor() or platform.machine()}, torch "
          f"{torch.__version__}; {args.repeats} interleaved rounds, medians")
    print()
    rows = [run_size(args, n) for n in args.frames]
    if args.no_pymanopt:
        print(f"{'frames':>7} {'wall ms/video':>14} {'CPU ms/video':>13} {'objective':>10}")
        for r in rows:
            print(f"{r['n']:>7} {1e3 * r['wall']:>14.2f} {1e3 * r['cpu']:>13.2f} "
                  f"{r['obj_b']:>10.3f}")
    else:
        print(f"{'frames':>7} {'batched ms':>11} {'pymanopt ms':>12} {'speed-up':>17} "
              f"{'objective b / p':>19} {'rel.':>8} {'>10%':>6} {'>50%':>6}")
        for r in rows:
            lo, hi = r["speed_range"]
            print(f"{r['n']:>7} {1e3 * r['wall']:>11.2f} {1e3 * r['p_wall']:>12.1f} "
                  f"{r['speed_wall']:>6.1f}x ({lo[0]:.0f}-{hi[0]:.0f}x) "
                  f"{r['obj_b']:>9.3f} / {r['obj_p']:<8.3f} {100 * r['rel_mean']:>+7.2f}% "
                  f"{100 * r['worse_10']:>5.0f}% {100 * r['worse_50']:>5.0f}%")
        print("(ms per video, wall clock; speed-up: median of per-round ratios, wall; "
              "CPU-time speed-ups: "
              + ", ".join(f"n={r['n']}: {r['speed_cpu']:.1f}x" for r in rows) + ")")
        print("(rel.: mean objective of batched relative to pymanopt's; >10% / >50%: "
              "videos where batched ends that far above pymanopt)")
    if len(rows) > 1:
        growth = ", ".join(
            f"n={a['n']}->{b['n']}: {b['wall'] / a['wall']:.1f}x wall, "
            f"{b['cpu'] / a['cpu']:.1f}x CPU"
            for a, b in zip(rows, rows[1:])
        )
        print(f"growth of batched time per video: {growth}")
    print(f"worst orthonormality error of batched subspaces: "
          f"{max(r['orth'] for r in rows):.1e}")


if __name__ == "__main__":
    main()
