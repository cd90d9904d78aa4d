"""Command line: ``python -m skdsp demo`` (also installed as ``skdsp``)."""

from __future__ import annotations

import argparse
import sys


def build_parser():
    from skdsp.demo import DATASETS

    parser = argparse.ArgumentParser(
        prog="skdsp",
        description="Discriminative subspace pooling of video features.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="compare skdsp with the baselines on a data set that ships with it",
        description=(
            "Fit DSP (skdsp defaults, the published preset, noise and random negatives) "
            "and average, max, rank and SVM pooling on the official training split of a "
            "shipped data set; print their test accuracies and save a table (CSV) and a "
            "plot (PNG)."
        ),
    )
    demo.add_argument(
        "--dataset", choices=DATASETS, default="basic_motions",
        help="data set to run on (default: %(default)s)",
    )
    demo.add_argument(
        "--device", default="auto",
        help="'auto' (GPU if available), 'cpu' or 'cuda' (default: %(default)s)",
    )
    demo.add_argument(
        "--output", default="skdsp_demo_output",
        help="folder for results.csv and results.png (default: %(default)s)",
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="random seed (default: %(default)s)"
    )
    demo.add_argument(
        "--methods", nargs="+", metavar="NAME",
        help="run only these methods (names as printed in the table)",
    )
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from skdsp.demo import run_demo

        run_demo(
            args.dataset,
            device=args.device,
            output_dir=args.output,
            random_state=args.seed,
            methods=args.methods,
            echo=lambda line: print(line, flush=True),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
