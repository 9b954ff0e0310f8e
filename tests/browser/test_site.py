"""The course website as a reader sees it: built offline, served locally, read in Chromium.

The site is built once for these tests (``tools/build_site.py``, what ``make site`` runs) into a
temporary folder, with the network blocked as in the whole suite, and checked without a browser
for anything it would load from elsewhere. Then each page is served on 127.0.0.1 and opened in
headless Chromium with every request off the machine blocked: it must load without console
errors, typeset its formulas, render its figures, keep every internal link and ``#anchor``
working, show each exercise check's stored output and link to Binder and Colab; the navigation
must lead through the chapters in course order (solutions kept out of it). A screenshot of each
page goes to ``screenshots/site/`` for a person to look at.

Run only the browser tests with ``pytest -m browser``; skip them with ``pytest -m "not browser"``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from course_utils.course import CHAPTERS, repository_url
from tests.browser.site import broken_links, problems_on, serve, visit
from tests.notebook_files import NOTEBOOKS, ROOT, output_text, read

SCREENSHOTS = ROOT / "screenshots" / "site"
REPOSITORY = urlsplit(repository_url()).path.strip("/")
browser_test = pytest.mark.browser

CHAPTER_PAGES = [f"notebooks/{c.notebook.removesuffix('.ipynb')}.html" for c in CHAPTERS]
SOLUTION_PAGES = [
    f"notebooks/solutions/{c.solutions.removesuffix('.ipynb')}.html"
    for c in CHAPTERS
    if (NOTEBOOKS / "solutions" / c.solutions).exists()
]
OTHER_PAGES = ["index.html", "solutions.html", "docs/instructors.html", "search.html?q=scaling"]
PAGES = OTHER_PAGES[:1] + CHAPTER_PAGES + SOLUTION_PAGES + OTHER_PAGES[1:]


def notebook_of(page: str) -> Path | None:
    """The notebook a page shows (None for the pages that are not notebooks)."""
    path = ROOT / page.replace(".html", ".ipynb")
    return path if page.startswith("notebooks/") else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The website, built from the committed notebooks into a temporary folder (its html/)."""
    if importlib.util.find_spec("sphinx") is None or importlib.util.find_spec("myst_nb") is None:
        pytest.fail("the site needs the `site` extra: `make venv`, or pip install -e '.[site]'")
    out = tmp_path_factory.mktemp("site")
    began = time.monotonic()
    built = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert built.returncode == 0, f"the site did not build:\n{built.stdout}\n{built.stderr}"
    print(f"site built in {time.monotonic() - began:.1f} s")
    return out / "html"


# What a page loads by itself (not what it links to): these must all come from the site.
LOADED = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "embed": "src",
    "object": "data",
}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?P<url>(?:https?:)?//[^'")\s]+)""")


class _LoadedResources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in LOADED and values.get(LOADED[tag]):
            self.urls.append(values[LOADED[tag]])
        if tag == "link" and values.get("href"):
            rel = set((values.get("rel") or "").split())
            if rel & {"stylesheet", "preload", "modulepreload", "icon", "prefetch", "manifest"}:
                self.urls.append(values["href"])
        for value in (values.get("style") or "", values.get("srcset") or ""):
            self.urls += [m["url"] for m in CSS_URL.finditer(value)] + re.findall(
                r"(?:https?:)?//\S+", values.get("srcset") or ""
            )


def external_resources(html: str) -> list[str]:
    """URLs on other machines that an HTML page (or CSS text) would load when opened."""
    parser = _LoadedResources()
    parser.feed(html)
    urls = parser.urls + [m["url"] for m in CSS_URL.finditer(html)]
    return [url for url in urls if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE)]


def test_the_resource_scan_finds_what_a_page_would_fetch_from_elsewhere():
    page = """<html><head>
        <script src="https://cdn.example.org/mathjax.js"></script>
        <script src="_static/local.js"></script>
        <link rel="stylesheet" href="//fonts.example.org/font.css">
        <link rel="next" href="https://example.org/not-loaded.html">
        <style>@font-face { src: url("https://fonts.example.org/a.woff2"); }</style>
        </head><body><img src="http://example.org/a.png"><a href="https://example.org">a link</a>
        <img src="data:image/png;base64,AAAA"></body></html>"""
    assert external_resources(page) == [
        "https://cdn.example.org/mathjax.js",
        "//fonts.example.org/font.css",
        "http://example.org/a.png",
        "https://fonts.example.org/a.woff2",
    ]


def test_the_site_builds_offline_with_every_page_and_nothing_to_fetch(site: Path):
    missing = [page for page in PAGES if not (site / page.partition("?")[0]).is_file()]
    assert not missing, f"pages missing from the site: {missing}"
    fetched = {}
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        urls = external_resources(path.read_text(encoding="utf-8"))
        if urls:
            fetched[str(path.relative_to(site))] = urls
    assert not fetched, f"pages and styles that would load from other machines: {fetched}"
    # MathJax is part of the site, and every page with a formula loads it from there.
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (
        '_static/mathjax/tex-chtml.js"' in (site / "notebooks" / "03_architecture.html").read_text()
    )
    # The download button gives the notebook as committed, not the page's version of it.
    for page in CHAPTER_PAGES:
        notebook = page.replace(".html", ".ipynb")
        assert (site / "_sources" / notebook).read_bytes() == (ROOT / notebook).read_bytes()


@pytest.fixture(scope="module")
def site_url(site: Path, chromium: str):
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def visits(browser, site_url: str) -> dict:
    """Each page, visited once (when a test first asks for it); screenshots saved."""
    cache = {}

    def get(page: str):
        if page not in cache:
            name = re.sub(r"[^\w.-]+", "-", page.replace(".html", "").replace("/", "--"))
            shot = SCREENSHOTS / f"{name}.png"
            cache[page] = visit(browser, site_url + page, screenshot=shot)
        return cache[page]

    return get


def launch_urls(notebook: Path) -> tuple[str, str]:
    """Binder and Colab for ``notebook``, in the forms of README's badges."""
    path = notebook.relative_to(ROOT).as_posix()
    return (
        f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/{path}",
        f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/{path}",
    )


# $$display$$ or $inline$ as MyST's dollarmath reads it: no space inside the dollars, and no
# digit after the closing one (so "$2 per hour and $3" is money, not a formula).
FORMULA = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?=\S)[^$\n]+?(?<=\S)\$(?!\d)", re.DOTALL)


def words(text: str) -> str:
    return " ".join(text.split())


def notebook_expectations(notebook: Path, shown: dict) -> list[str]:
    """What the page of ``notebook`` must show of it: math, figures, checks, launch links."""
    problems = []
    cells = read(notebook).cells
    formulas = sum(len(FORMULA.findall(c.source)) for c in cells if c.cell_type == "markdown")
    if formulas and not shown["math"]:
        problems.append(f"the notebook has {formulas} formulas ($...$) but the page shows none")
    figures = sum(
        any(kind.startswith("image/") for kind in output.get("data", {}))
        for cell in cells
        for output in cell.get("outputs", [])
    )
    on_page = sum(image["output"] for image in shown["images"])
    if on_page < figures:
        problems.append(f"the notebook stores {figures} figures, the page shows {on_page}")
    page_text = words(shown["text"])
    for cell in cells:
        if cell.cell_type == "code" and re.search(r"^check\(", cell.source, re.MULTILINE):
            first = next((line for line in output_text(cell).splitlines() if line.strip()), "")
            if words(first) not in page_text:
                problems.append(f"the stored output of {cell.source.strip()!r} is not shown")
    for url in launch_urls(notebook):
        if url not in shown["links"]:
            problems.append(f"no launch link {url}")
    return problems


@browser_test
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_well_in_chromium(visits, site: Path, site_url: str, page: str):
    seen = visits(page)
    problems = problems_on(seen) + broken_links(seen.shown["links"], site_url, site)
    notebook = notebook_of(page)
    if notebook is not None:
        problems += notebook_expectations(notebook, seen.shown)
    assert not problems, f"{page}:\n" + "\n".join(problems)


def internal_page(link: str, site_url: str) -> str:
    return link.removeprefix(site_url).partition("#")[0]


@browser_test
def test_navigation_leads_through_the_chapters_in_course_order(visits, site_url: str):
    # The sidebar lists every chapter, in order, then the reference pages; no solution notebook.
    landing = visits("index.html")
    sidebar = [internal_page(link, site_url) for link in landing.shown["sidebar"]]
    assert sidebar == ["index.html", *CHAPTER_PAGES, "solutions.html", "docs/instructors.html"]
    # "Next" from the landing page walks the chapters in CHAPTERS order, never a solution.
    walked, page = [], "index.html"
    while visits(page).shown["next"]:
        page = internal_page(visits(page).shown["next"], site_url)
        walked.append(page)
    assert walked == [*CHAPTER_PAGES, "solutions.html", "docs/instructors.html"]
    # The solutions are one click from their list.
    listed = {internal_page(link, site_url) for link in visits("solutions.html").shown["links"]}
    assert set(SOLUTION_PAGES) <= listed


@browser_test
def test_the_page_checks_catch_broken_pages(browser, tmp_path: Path):
    """A page with every fault the checks look for: each one is reported."""
    (tmp_path / "here.html").write_text('<p id="there">an anchor</p>')
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "probe.html").write_text(
        """<html><body>
        <span class="math">\\(x^2\\)</span>
        <img src="broken.png" alt="a figure that does not decode">
        <img src="missing.png" alt="a figure that is not there">
        <script src="https://cdn.example.org/library.js"></script>
        <script>throw new Error("deliberately broken");</script>
        <a href="here.html#there">fine</a> <a href="here.html#nowhere">no such anchor</a>
        <a href="gone.html">no such page</a> <a href="https://example.org/">elsewhere</a>
        </body></html>"""
    )
    with serve(tmp_path) as url:
        seen = visit(browser, url + "probe.html")
        problems = problems_on(seen) + broken_links(seen.shown["links"], url, tmp_path)
    expected = [
        "console error: deliberately broken",
        "request off this machine (blocked): https://cdn.example.org/library.js",
        "request failed: 404 " + url + "missing.png",
        "1 of 1 formulas not typeset",
        "image broken.png did not render",
        "image missing.png did not render",
        f"broken anchor: {url}here.html#nowhere",
        f"broken link: {url}gone.html",
    ]
    for fault in expected:
        assert any(problem.startswith(fault) for problem in problems), (
            f"{fault!r} not reported among:\n" + "\n".join(problems)
        )
    assert not any("here.html#there" in problem for problem in problems)
    assert not any(
        'example.org/"' in problem or problem.endswith("example.org/") for problem in problems
    )
