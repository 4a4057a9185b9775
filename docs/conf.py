"""Sphinx configuration of the skcoop documentation.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
from the repository root. Nothing here needs the network: no intersphinx
inventories, and the gallery's data are bundled or generated.
"""

import warnings

import skcoop

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
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5"]
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
        "_MetadataRequester,Module,RuntimeError"
    ),
}
autodoc_typehints = "none"  # numpydoc's types carry the contract
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
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
}

# Examples train with few epochs on purpose; skorch and torch may say so.
warnings.filterwarnings("ignore", category=UserWarning, module="torch")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

# -- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcoop {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False


# -- docstring fix-ups ----------------------------------------------------------
# scikit-learn's metadata-routing methods (``set_fit_request`` and co.) are
# generated on every estimator class; they are not part of skcoop's API and
# their docstrings need scikit-learn's glossary.
def _skip_metadata_routing(app, what, name, obj, skip, options):
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
