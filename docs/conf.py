"""Sphinx configuration of the skcoop documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
from the repository root. Nothing here needs the network: no intersphinx
inventories, and the gallery's data are bundled or generated.
"""

import pydoc
import re
import sys
import warnings
from pathlib import Path

import sphinx.ext.autosummary
import torch
from numpydoc.docscrape_sphinx import SphinxDocString

import skcoop

sys.path.insert(0, str(Path(__file__).parent / "sphinxext"))

project = "skcoop"
author = "skcoop developers"
copyright = "skcoop developers"
release = skcoop.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

# The benchmark results are Markdown files written by the benchmark scripts;
# MyST renders them (tables, code, figures) from that single source.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
myst_enable_extensions = ["colon_fence", "attrs_block", "attrs_inline"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "**.ipynb_checkpoints",
    "auto_examples/*.md5",
    "sphinxext",
    # The benchmark scripts' Markdown results are included into
    # benchmarks/index.md (MyST ``{include}``), not pages of their own.
    "benchmarks.md",
    *(
        f"benchmarks/{path.name}"
        for path in (Path(__file__).parent / "benchmarks").glob("*.md")
        if path.name != "index.md"
    ),
]
root_doc = "index"

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
# Document the methods the package defines (including those of its private
# base classes), never the inherited sklearn / torch ones: their docstrings
# use the sklearn glossary (``:term:``), which needs intersphinx.
autodoc_default_options = {
    "members": True,
    "inherited-members": (
        "BaseEstimator,ClassifierMixin,TransformerMixin,_SetOutputMixin,"
        "_MetadataRequester,Module,RuntimeError,BaseException"
    ),
}
autodoc_typehints = "none"  # numpydoc's types carry the contract
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# A summary ends at the first sentence; "(Eq. 4-5)" or "(Fig. 6)" do not end
# one (autosummary otherwise cuts "... features (Eq.").
sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS = (
    *sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS,
    "Eq.",
    "Eqs.",
    "Fig.",
    "Figs.",
    "Sec.",
    "Tab.",
)
_ABBREVIATIONS = sphinx.ext.autosummary.WELL_KNOWN_ABBREVIATIONS
# numpydoc does the same for the properties it lists under "Attributes"
# (its own first-sentence rule): let it skip the abbreviations too.
_process_param = SphinxDocString._process_param


def _process_param_whole_sentence(self, param, desc, fake_autosummary):
    display, new_desc = _process_param(self, param, desc, fake_autosummary)
    if fake_autosummary and new_desc and new_desc[-1].endswith(_ABBREVIATIONS):
        obj_doc = pydoc.getdoc(getattr(self._obj, param, None))
        paragraph = " ".join(re.split(r"\n\s*\n", obj_doc.strip())[0].split())
        end = 0
        for match in re.finditer(r"\.(?:\s|$)", paragraph):
            end = match.end()
            if not paragraph[:end].rstrip().endswith(_ABBREVIATIONS):
                break
        new_desc = [paragraph[:end].strip() if end else paragraph]
    return display, new_desc


SphinxDocString._process_param = _process_param_whole_sentence
# No network here or in CI: add inventories only if they are vendored.
intersphinx_mapping = {}

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": ("skcoop",),
    "backreferences_dir": "generated",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "capture_repr": (),  # print what an example shows; no stray reprs
    "matplotlib_animations": False,
    # The quick start first, then the others by file name.
    "within_subsection_order": "gallery_order.QuickStartFirst",
}

# Examples train with few epochs on purpose; skorch and torch may say so.
warnings.filterwarnings("ignore", category=UserWarning, module="torch")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcoop {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    # The search as a button at the right: six sections fit in one header row.
    "navbar_persistent": [],
    "navbar_end": ["search-button", "theme-switcher"],
}
# Single pages have no section to navigate: no (empty) left sidebar there.
html_sidebars = {
    "index": [],
    "api": [],
    "benchmarks/index": [],
    "changelog": [],
    "developer_notes": [],
    "auto_examples/index": [],
}
html_show_sourcelink = False


# -- docstring fix-ups ----------------------------------------------------------
# scikit-learn's metadata-routing methods (``set_fit_request`` and co., and
# the ``get_metadata_routing`` every estimator inherits) are generated or
# inherited on every estimator class; they are not part of skcoop's API and
# their docstrings need scikit-learn's glossary. A ``get_metadata_routing``
# skcoop defines itself (``PerModalityTransformer``, ``StackingFusion``: how
# they route metadata to their estimators) is documented.
def _skip_metadata_routing(app, what, name, obj, skip, options):
    if name == "get_metadata_routing":
        return None if _defined_by_skcoop(obj) else True
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def _defined_by_skcoop(obj) -> bool:
    return getattr(obj, "__module__", "").startswith("skcoop")


# The torch modules' overrides of torch's own hooks (``get_extra_state``,
# ``extra_repr``...) are torch internals, not skcoop's API: only ``forward``
# and the methods torch does not define are documented.
_TORCH_MODULE_NAMES = frozenset(dir(torch.nn.Module)) - {"forward"}


def _skip_torch_internals(app, what, name, obj, skip, options):
    if name in _TORCH_MODULE_NAMES:
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
    app.connect("autodoc-skip-member", _skip_torch_internals)


# Right-hand table of contents of the API pages: "fit", not
# "CooperativeClassifier.fit" (which the narrow column would cut).
toc_object_entries_show_parents = "hide"
