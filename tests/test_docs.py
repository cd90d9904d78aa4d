"""The documentation says what the code measures, and its site loads nothing remotely."""

import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize(
    "page, tables, quoted_pattern",
    [
        # Every 0.xx number on the results page is an accuracy, so all must have the
        # tables' three decimals; the sequences page also quotes rates like "0.77
        # million", so there only three-decimal numbers are accuracies.
        ("results.rst", ("results_table.rst", "variants_table.rst"), r"\b[01]\.\d{2,3}\b"),
        ("sequences.rst", ("sequences_table.rst", "sequences_variants_table.rst"),
         r"\b[01]\.\d{3}\b"),
    ],
    ids=["results", "sequences"],
)
def test_every_accuracy_on_a_page_is_in_its_tables(page, tables, quoted_pattern):
    """The prose quotes numbers from the generated tables, and only from them: after
    the benchmarks are re-run, a sentence whose number changed fails here."""
    guide = DOCS / "user_guide"
    prose = (guide / page).read_text(encoding="utf-8")
    text = "".join((guide / name).read_text(encoding="utf-8") for name in tables)
    measured = set(re.findall(r"\b[01]\.\d{3}\b", text))
    quoted = re.findall(quoted_pattern, prose)
    assert quoted, f"{page} quotes no accuracy at all"
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
