"""Sphinx extension: fail the build when a page would load anything from the network.

After an HTML build, every page and every stylesheet of the site is scanned for
resources with a remote source: scripts, stylesheets, fonts, images, frames, CSS
``url(...)`` and ``@import``. Links a reader may follow (``<a href>``) are fine. Each
remote resource is a warning, so an error under ``-W``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from sphinx.util import logging

_logger = logging.getLogger(__name__)

_REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
# CSS: url(...) and @import "..." with a remote target.
_CSS_REMOTE = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE
)
# <link rel=...> values that make the browser fetch the target.
_FETCHED_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
    "apple-touch-icon", "manifest", "dns-prefetch", "preconnect",
}
_SOURCE_ATTRS = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}


class _Resources(HTMLParser):
    """Collects the remote resources one HTML page loads."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.remote = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "link":
            rels = set(attrs.get("rel", "").lower().split())
            if rels & _FETCHED_RELS and _REMOTE.match(attrs.get("href", "")):
                self.remote.append(f"<link rel={attrs['rel']!r} href={attrs['href']!r}>")
        for name in _SOURCE_ATTRS.get(tag, ()):
            for url in attrs.get(name, "").split(","):
                if _REMOTE.match(url):
                    self.remote.append(f"<{tag} {name}={url.strip()!r}>")
        style = attrs.get("style", "")
        self.remote += [f"style attribute: {u}" for u in _CSS_REMOTE.findall(style)]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.remote += [f"<style>: {u}" for u in _CSS_REMOTE.findall(data)]


def remote_resources(outdir):
    """Map each file of a built HTML site to the remote resources it loads."""
    outdir = Path(outdir)
    found = {}
    for path in sorted(outdir.rglob("*.html")):
        parser = _Resources()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        if parser.remote:
            found[path.relative_to(outdir).as_posix()] = parser.remote
    for path in sorted(outdir.rglob("*.css")):
        urls = _CSS_REMOTE.findall(path.read_text(encoding="utf-8", errors="replace"))
        if urls:
            found[path.relative_to(outdir).as_posix()] = urls
    return found


def _check(app, exc):
    if exc is not None or app.builder.format != "html":
        return
    for page, urls in remote_resources(app.outdir).items():
        _logger.warning(
            "%s loads from the network: %s", page, "; ".join(sorted(set(urls))[:5]),
            type="skdsp", subtype="offline",
        )


def setup(app):
    # After the other build-finished handlers, which copy static files in.
    app.connect("build-finished", _check, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
