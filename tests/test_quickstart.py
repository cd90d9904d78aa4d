"""The quick start is one pipeline: the same code in the README, on the documentation's
front page and in the gallery, and the output they show is what it prints."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Quick start") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    output = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return code, output


def _rst_block(text, language, start=0):
    """The first ``.. code-block:: <language>`` after ``start``, dedented."""
    match = re.compile(
        rf"^\.\. code-block:: {language}\n\n((?:(?:   .*)?\n)+)", re.M
    ).search(text, start)
    return textwrap.dedent(match.group(1)).strip("\n") + "\n", match.end()


def _front_page():
    text = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8")
    code, end = _rst_block(text, "python")
    output, _ = _rst_block(text, "text", end)
    return code, output


def test_readme_front_page_and_gallery_show_the_same_pipeline():
    readme_code, readme_output = _readme()
    page_code, page_output = _front_page()
    assert "clf.fit(X_train, y_train)" in readme_code
    assert page_code == readme_code
    assert page_output == readme_output
    gallery = (ROOT / "examples" / "quickstart" / "plot_quickstart.py").read_text()
    # The gallery runs it as one block, so sphinx-gallery shows its output below it.
    assert "\n" + readme_code + "\n# %%" in gallery


@pytest.mark.slow
def test_quick_start_prints_what_the_readme_says():
    code, expected = _readme()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected
