"""Read the course website the way a reader's browser does (the site test).

`serve` serves a folder on 127.0.0.1 from a thread; `visit` opens one page in headless Chromium
with every request that would leave the machine blocked, waits for MathJax and the images, and
returns what the page showed; `problems_on` lists what is wrong with it, and `broken_links` the
links and ``#anchors`` that lead nowhere, checked against the built files.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playwright.sync_api import Browser

from tests.browser.lab import LONGEST_SCREENSHOT_PX, VIEWPORT

LOAD_TIMEOUT_S = 60

# What the page shows, read once MathJax has typeset it. Sphinx puts each formula in an element
# of class "math" (span inline, div displayed); MathJax puts its rendering, an <mjx-container>,
# inside it, and an <mjx-merror> for a formula it could not parse.
READ_PAGE_JS = """() => ({
    title: document.title,
    math: document.querySelectorAll('.math').length,
    typeset: [...document.querySelectorAll('.math')]
        .filter((node) => node.querySelector('mjx-container')).length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map((node) => node.textContent),
    images: [...document.querySelectorAll('img')].map((image) => ({
        src: image.getAttribute('src'), width: image.naturalWidth, height: image.naturalHeight,
        output: Boolean(image.closest('.cell_output')),
    })),
    links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    sidebar: [...document.querySelectorAll('nav.bd-docs-nav a.reference')].map((a) => a.href),
    next: document.querySelector('a.right-next')?.href ?? null,
    text: document.body.innerText,
})"""
# Resolves once MathJax (if the page loads it) has typeset everything and fonts are in.
SETTLED_JS = """async () => {
    if (window.MathJax?.startup?.promise) await window.MathJax.startup.promise;
    await document.fonts.ready;
    await Promise.all([...document.images].map((image) => image.decode().catch(() => null)));
    return true;
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # the test reports failures itself
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port); yields its root URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class PageVisit:
    """What one page showed and did in the browser."""

    url: str
    shown: dict = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def visit(browser: Browser, url: str, screenshot: Path | None = None) -> PageVisit:
    """Open ``url`` in a fresh browser context, blocking every request off this machine."""
    record = PageVisit(url)
    origin = urlsplit(url).netloc
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()

        def route(route) -> None:
            if urlsplit(route.request.url).netloc == origin:
                route.continue_()
            else:
                record.external_requests.append(route.request.url)
                route.abort("blockedbyclient")

        page.route("**/*", route)
        page.on(
            "console",
            lambda message: (
                message.type == "error"
                and record.console_errors.append(f"{message.text} ({message.location.get('url')})")
            ),
        )
        page.on("pageerror", lambda error: record.console_errors.append(str(error)))
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and record.failed_requests.append(f"{response.status} {response.url}")
            ),
        )
        page.on(
            "requestfailed",
            lambda request: (
                urlsplit(request.url).netloc == origin
                and record.failed_requests.append(f"{request.failure} {request.url}")
            ),
        )
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_S * 1000)
        page.evaluate(SETTLED_JS)
        record.shown = page.evaluate(READ_PAGE_JS)
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            height = page.evaluate("() => document.documentElement.scrollHeight")
            clip = {
                "x": 0,
                "y": 0,
                "width": VIEWPORT["width"],
                "height": min(height, LONGEST_SCREENSHOT_PX),
            }
            page.screenshot(path=screenshot, full_page=True, clip=clip)
    finally:
        context.close()
    return record


def problems_on(visit: PageVisit) -> list[str]:
    """Everything wrong with a visited page, one line per problem (none: all good)."""
    shown = visit.shown
    problems = [f"console error: {error}" for error in visit.console_errors]
    problems += [f"request off this machine (blocked): {url}" for url in visit.external_requests]
    problems += [f"request failed: {failure}" for failure in visit.failed_requests]
    if shown["typeset"] < shown["math"]:
        problems.append(
            f"{shown['math'] - shown['typeset']} of {shown['math']} formulas not typeset"
        )
    problems += [f"MathJax could not typeset: {error}" for error in shown["mathErrors"]]
    problems += [
        f"image {image['src']} did not render (natural size {image['width']}x{image['height']})"
        for image in shown["images"]
        if not (image["width"] and image["height"])
    ]
    return problems


class _Anchors(HTMLParser):
    """Every ``id`` (and ``<a name>``) in an HTML file."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def anchors_in(path: Path) -> frozenset[str]:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return frozenset(parser.ids)


def broken_links(links: list[str], root_url: str, root: Path) -> list[str]:
    """Links under ``root_url`` whose file is missing from ``root``, or whose ``#anchor`` is."""
    problems = []
    for link in sorted(set(links)):
        if not link.startswith(root_url):
            continue  # another site: not this test's to load
        path, _, fragment = link[len(root_url) :].partition("#")
        path = unquote(path.split("?")[0])
        target = root / path
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link: {link} (no file {path or '/'})")
        elif fragment and target.suffix == ".html" and unquote(fragment) not in anchors_in(target):
            problems.append(f"broken anchor: {link} (no id {unquote(fragment)!r} in {path})")
    return problems
