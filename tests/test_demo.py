import csv
import subprocess
import sys

import numpy as np
import pytest

from skdsp import presets
from skdsp.__main__ import build_parser
from skdsp.demo import comparison_methods, run_demo


@pytest.mark.slow
def test_demo_command_runs_end_to_end(tmp_path):
    """The README's main job, as a user runs it."""
    out = subprocess.run(
        [sys.executable, "-m", "skdsp", "demo", "--device", "cpu", "--output", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["method"] for r in rows] == list(comparison_methods())
    for r in rows:
        assert 0.0 <= float(r["test_accuracy"]) <= 1.0
        assert r["method"] in out.stdout
    assert (tmp_path / "results.png").stat().st_size > 1000
    # Four classes, 40 test videos: every method must do far better than chance.
    assert min(float(r["test_accuracy"]) for r in rows) > 0.4


def test_demo_subset_and_unknown_method(tmp_path):
    lines = []
    results = run_demo(
        "gunpoint",
        device="cpu",
        output_dir=tmp_path,
        methods=["average pooling"],
        echo=lines.append,
    )
    assert [r.method for r in results] == ["average pooling"]
    assert any("gunpoint: 50 training and 150 test videos" in line for line in lines)
    with pytest.raises(ValueError, match="Unknown methods"):
        run_demo("gunpoint", output_dir=tmp_path, methods=["nope"], echo=lines.append)


def test_help_names_every_option(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--help"])
    text = capsys.readouterr().out
    for option in ("--dataset", "--device", "--output", "--seed", "--methods"):
        assert option in text


def test_published_preset_is_the_paper():
    pipe = presets.published_pipeline(device="cpu", random_state=0)
    params = pipe.get_params()
    assert params["adversarialbagger__attack"] == "uap"
    assert params["discriminativesubspacepooling__n_components"] == 3
    assert params["discriminativesubspacepooling__margin"] == 1.0
    assert params["discriminativesubspacepooling__reduction"] == "sum"
    assert params["discriminativesubspacepooling__order_weight"] == 0.5
    assert params["discriminativesubspacepooling__eta"] == 1e-3
    assert params["discriminativesubspacepooling__max_iter"] == 100
    assert params["discriminativesubspacepooling__n_init"] == 1  # one PCA start
    assert params["discriminativesubspacepooling__bidirectional"] is True
    assert params["discriminativesubspacepooling__include_mean"] is False
    assert params["subspacekernel__mean_weight"] == 0.0


def test_baseline_pipeline_names():
    with pytest.raises(ValueError, match="Unknown baseline"):
        presets.baseline_pipeline("median")
    pipe = presets.baseline_pipeline("average", normalize_frames=True)
    assert type(pipe.steps[0][1]).__name__ == "FrameNormalizer"
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(5, 3)) + (i % 2) for i in range(12)]
    y = np.arange(12) % 2
    assert pipe.fit(X, y).score(X, y) > 0.5
