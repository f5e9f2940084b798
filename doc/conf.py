"""Sphinx configuration for meas_realbogus.

Rubin packages build their docs with documenteer inside the stack; outside it this plain
Sphinx configuration (autodoc with numpydoc-style docstrings via napoleon) builds the same
pages from PyPI alone.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "python")))

project = "meas_realbogus"
author = "meas_realbogus developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports = ["torch"]
default_role = "py:obj"
nitpicky = False
intersphinx_mapping = {}
html_theme = "alabaster"
html_static_path = []
exclude_patterns = ["_build"]
suppress_warnings = ["ref.python"]
