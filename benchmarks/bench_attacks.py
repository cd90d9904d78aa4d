"""Throughput of the batched DeepFool and universal perturbation against per-frame loops.

The baseline is what a straightforward implementation does: one frame at a time, one
backward pass per class per DeepFool step (and, for the UAP, the original sequential
algorithm built on it). Both run in the same process on the same model and frames. The
loops are timed on a subset of the frames and their rate extrapolated (per-frame work
does not depend on how many frames there are). Figures are medians over repeats.

    python benchmarks/bench_attacks.py                  # 20,000 frames, 512-d, 10 classes
    python benchmarks/bench_attacks.py --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from skdsp.adversarial.attacks import (
    deepfool,
    predict,
    project_ball,
    universal_perturbation,
)
from skdsp.adversarial.classifier import FrameMLP
from skdsp.utils.device import resolve_device

FLOOR = 10.0


def deepfool_one_frame(model, x, *, overshoot=0.02, max_iter=10):
    """DeepFool for a single frame ``x`` of shape (d,), one backward per class."""
    x = x.detach()
    with torch.no_grad():
        orig = int(model(x[None]).argmax())
    r_tot = torch.zeros_like(x)
    for _ in range(max_iter):
        z = (x + (1 + overshoot) * r_tot).requires_grad_(True)
        out = model(z[None])[0]
        if int(out.argmax()) != orig:
            break
        grads = [
            torch.autograd.grad(out[k], z, retain_graph=True)[0] for k in range(out.shape[0])
        ]
        best_ratio, best_w, best_f = float("inf"), None, None
        for k in range(out.shape[0]):
            if k == orig:
                continue
            w = grads[k] - grads[orig]
            f = float((out[k] - out[orig]).abs().detach())
            ratio = f / (float(w.norm()) + 1e-12)
            if ratio < best_ratio:
                best_ratio, best_w, best_f = ratio, w, f
        r_tot = r_tot + (best_f + 1e-4) / float(best_w.norm()) ** 2 * best_w
    return (1 + overshoot) * r_tot


def uap_one_frame_at_a_time(model, frames, *, eps, overshoot=0.02, max_iter=10):
    """One pass of the original sequential UAP over ``frames``."""
    with torch.no_grad():
        labels = model(frames).argmax(1)
    v = torch.zeros(frames.shape[1], dtype=frames.dtype, device=frames.device)
    for i in range(frames.shape[0]):
        with torch.no_grad():
            still = int(model((frames[i] + v)[None]).argmax()) == int(labels[i])
        if still:
            dv = deepfool_one_frame(model, frames[i] + v, overshoot=overshoot, max_iter=max_iter)
            v = project_ball(v + dv, eps, 2)
    return v


def make_problem(args, device):
    """Unit-norm frames around one random centre per class, and an MLP trained on them
    for a few steps (a random-init MLP is fooled by almost anything)."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(args.n_classes, args.n_features, generator=gen)
    centres = centres / centres.norm(dim=1, keepdim=True)
    labels = torch.arange(args.n_frames) % args.n_classes
    noise = torch.randn(args.n_frames, args.n_features, generator=gen) / args.n_features**0.5
    frames = centres[labels] + args.spread * noise
    frames = (frames / frames.norm(dim=1, keepdim=True)).to(device)
    labels = labels.to(device)
    torch.manual_seed(0)
    model = FrameMLP(args.n_features, args.n_classes, args.hidden_units).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(args.train_steps):
        idx = torch.randint(0, args.n_frames, (512,), generator=gen).to(device)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(frames[idx]), labels[idx]).backward()
        opt.step()
    model.eval()
    model.labels = labels
    return model, frames


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, repeats, device):
    times = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-frames", type=int, default=20_000)
    parser.add_argument("--n-features", type=int, default=512)
    parser.add_argument("--n-classes", type=int, default=10)
    parser.add_argument("--hidden-units", type=int, default=128)
    parser.add_argument("--loop-frames", type=int, default=200,
                        help="frames the per-frame loops are timed on (then extrapolated)")
    parser.add_argument("--chunk", type=int, default=512,
                        help="frames per batched DeepFool call")
    parser.add_argument("--uap-batch-size", type=int, default=256)
    parser.add_argument("--eps", type=float, default=0.2)
    parser.add_argument("--train-steps", type=int, default=100)
    parser.add_argument("--spread", type=float, default=4.0,
                        help="within-class noise relative to the distance between centres")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    model, frames = make_problem(args, device)
    with torch.no_grad():
        acc = float((predict(model, frames) == model.labels).float().mean())
    print(
        f"device={device} threads={torch.get_num_threads()} frames={args.n_frames} "
        f"features={args.n_features} classes={args.n_classes} MLP hidden="
        f"{args.hidden_units}, trained {args.train_steps} Adam steps (frame accuracy "
        f"{acc:.2f}) eps={args.eps} repeats={args.repeats}"
    )

    # Warm up the torch.func transforms and the allocator.
    deepfool(model, frames[:64])

    def batched_deepfool():
        for xb in torch.split(frames, args.chunk):
            deepfool(model, xb)

    sub = frames[: args.loop_frames]

    def loop_deepfool():
        for x in sub:
            deepfool_one_frame(model, x)

    # The loop computes the same perturbations.
    ref = torch.stack([deepfool_one_frame(model, x) for x in sub[:20]])
    got = deepfool(model, sub[:20]).perturbation
    print(f"DeepFool agreement (20 frames): max |batched - loop| = {(ref - got).abs().max():.2e}")

    t_b = _median_time(batched_deepfool, args.repeats, device)
    t_l = _median_time(loop_deepfool, args.repeats, device)
    fps_b, fps_l = args.n_frames / t_b, args.loop_frames / t_l
    print(f"DeepFool  batched: {fps_b:10.0f} frames/s  ({t_b:.2f} s for {args.n_frames})")
    print(f"DeepFool  loop   : {fps_l:10.0f} frames/s  ({t_l:.2f} s for {args.loop_frames}, "
          "extrapolated)")
    ratio_df = fps_b / fps_l
    print(f"DeepFool  speed-up: {ratio_df:.1f}x  (floor {FLOOR:.0f}x: "
          f"{'met' if ratio_df >= FLOOR else 'NOT met'})")

    # One pass over the frames each: the UAP's cost per pass is what batching changes.
    def batched_uap():
        universal_perturbation(
            model, frames, eps=args.eps, max_passes=1, max_fooling=1.0,
            batch_size=args.uap_batch_size, random_state=0,
        )

    def loop_uap():
        uap_one_frame_at_a_time(model, sub, eps=args.eps)

    t_ub = _median_time(batched_uap, args.repeats, device)
    t_ul = _median_time(loop_uap, args.repeats, device)
    ufps_b, ufps_l = args.n_frames / t_ub, args.loop_frames / t_ul
    print(f"UAP pass  batched: {ufps_b:10.0f} frames/s  ({t_ub:.2f} s per pass over "
          f"{args.n_frames}, minibatches of {args.uap_batch_size})")
    print(f"UAP pass  loop   : {ufps_l:10.0f} frames/s  ({t_ul:.2f} s for {args.loop_frames}, "
          "extrapolated)")
    ratio_u = ufps_b / ufps_l
    print(f"UAP pass  speed-up: {ratio_u:.1f}x  (floor {FLOOR:.0f}x: "
          f"{'met' if ratio_u >= FLOOR else 'NOT met'})")

    res = universal_perturbation(
        model, frames, eps=args.eps, max_passes=1, max_fooling=1.0,
        batch_size=args.uap_batch_size, random_state=0,
    )
    v_loop = uap_one_frame_at_a_time(model, sub, eps=args.eps)
    with torch.no_grad():
        base = predict(model, frames)
        loop_rate = float((predict(model, frames + v_loop) != base).float().mean())
    print(f"fooling rate after one pass: batched {res.fooling_rate:.3f} (all frames); "
          f"sequential loop on {args.loop_frames} frames {loop_rate:.3f}")


if __name__ == "__main__":
    main()
