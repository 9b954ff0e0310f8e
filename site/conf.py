"""Sphinx configuration of the course website; `make site` (tools/build_site.py) uses it.

Sphinx with MyST-NB reads the notebooks with their stored outputs (never executed) and the
book theme lays them out. Everything a page loads comes from the site itself: MathJax is copied
from the ``sphinx-mathjax-offline`` package instead of Sphinx's default CDN, and widgets (which
would load their JavaScript from a CDN, and need a kernel anyway) are replaced by a note.
"""

from __future__ import annotations

import shutil
import sys
from importlib import metadata
from pathlib import Path

from course_utils.course import repository_url

# tools/build_site.py names the anchors (heading_id), for the pages and for the links it rewrites.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

project = "LLM Foundations"
author = "the LLM Foundations authors"
copyright = "the LLM Foundations authors: code under the MIT licence, text and figures CC BY 4.0"

extensions = ["myst_nb"]
exclude_patterns = ["**/.ipynb_checkpoints"]
# Solutions jump from the title (H1) to each exercise (H3), as the chapters' exercises read.
suppress_warnings = ["myst.header"]

# The notebooks' stored outputs are the content: never run them.
nb_execution_mode = "off"
# No widget JavaScript from a CDN: build_site.py replaces widget outputs with a note.
nb_ipywidgets_js: dict = {}
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "amsmath"]
# Anchors as JupyterLab names them, so `chapter.ipynb#Some-heading` works here as it does there.
myst_heading_anchors = 6
myst_heading_slug_func = "build_site.heading_id"

html_theme = "sphinx_book_theme"
html_title = "LLM Foundations"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_last_updated_fmt = None
# Light or dark as the reader's system prefers (unset, the theme logs an error on a first visit).
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": repository_url(),
    "repository_branch": "main",
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    # No top bar: the sidebar has the search box (the top bar would only repeat it).
    "navbar_persistent": [],
    # The landing page and the solutions list are one table each: no "Contents" column.
    "secondary_sidebar_items": {"**": ["page-toc"], "index": [], "solutions": []},
}

# MathJax from this site, not from a CDN.
MATHJAX_DISTRIBUTION = "sphinx-mathjax-offline"
MATHJAX_PARTS = [
    "tex-chtml.js",  # TeX input, HTML output, the menu: one file
    "input/tex/extensions",  # TeX packages loaded on demand (\require, autoload)
    "output/chtml/fonts/woff-v2",  # the fonts the HTML output uses
    "a11y",  # the menu's accessibility options
    "sre",  # speech, for those options
    "ui",  # the menu's lazy parts
]
mathjax_path = "mathjax/tex-chtml.js"


def copy_mathjax(app, exception) -> None:
    """Copy the parts of MathJax 3 the pages use into ``_static/mathjax`` of the built site."""
    if exception is not None or app.builder.format != "html":
        return
    source = Path(metadata.distribution(MATHJAX_DISTRIBUTION).locate_file("")) / (
        "sphinx-mathjax-offline/static/mathjax"
    )
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / part, target / part)


def setup(app) -> None:
    app.connect("build-finished", copy_mathjax)
