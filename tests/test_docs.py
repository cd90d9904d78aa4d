"""The documentation says what the code measures, and its site loads nothing remotely."""

import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_accuracy_on_the_results_page_is_in_its_tables():
    """The prose quotes numbers from the generated tables, and only from them: after
    the benchmarks are re-run, a sentence whose number changed fails here."""
    guide = DOCS / "user_guide"
    prose = (guide / "results.rst").read_text(encoding="utf-8")
    tables = "".join(
        (guide / name).read_text(encoding="utf-8")
        for name in ("results_table.rst", "variants_table.rst")
    )
    measured = set(re.findall(r"\b[01]\.\d{3}\b", tables))
    quoted = re.findall(r"\b[01]\.\d{2,3}\b", prose)
    assert quoted, "the results page quotes no accuracy at all"
    # Three decimals, as in the tables, so that every number can be checked.
    assert all(len(q) == 5 for q in quoted), [q for q in quoted if len(q) != 5]
    assert sorted(set(quoted) - measured) == []


def test_offline_check_finds_remote_resources(tmp_path):
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from offline_check import remote_resources
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    (tmp_path / "page.html").write_text(
        '<html><head><script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example/a.css">'
        '<link rel="next" href="https://example.org/next.html">'
        '<script src="_static/local.js"></script>'
        "<style>.a { background: url(http://img.example/b.png) }</style></head>"
        '<body><a href="https://example.org">a link</a>'
        '<img src="https://img.example/c.png"></body></html>'
    )
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "font.css").write_text(
        '@font-face { src: url("https://fonts.example/f.woff2") }'
    )
    (tmp_path / "_static" / "local.css").write_text('.b { background: url("x.png") }')
    found = remote_resources(tmp_path)
    assert sorted(found) == ["_static/font.css", "page.html"]
    page = " ".join(found["page.html"])
    for url in (
        "https://cdn.example/x.js", "//fonts.example/a.css", "http://img.example/b.png",
        "https://img.example/c.png",
    ):
        assert url in page
    assert "example.org" not in page  # links are followed by readers, not loaded


def test_every_accuracy_on_the_sequences_page_is_in_its_tables():
    """The same rule for the sequences page and the tables bench_sequences.py writes."""
    guide = DOCS / "user_guide"
    prose = (guide / "sequences.rst").read_text(encoding="utf-8")
    tables = "".join(
        (guide / name).read_text(encoding="utf-8")
        for name in ("sequences_table.rst", "sequences_variants_table.rst")
    )
    measured = set(re.findall(r"\b[01]\.\d{3}\b", tables))
    quoted = re.findall(r"\b[01]\.\d{3}\b", prose)
    assert quoted, "the sequences page quotes no accuracy at all"
    assert sorted(set(quoted) - measured) == []
