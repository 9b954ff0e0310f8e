"""One JupyterLab server and one Chromium for all the browser tests (stopped after them).

Notebooks are opened and run a few at a time (``BROWSER_TEST_PARALLEL``, default: one per CPU
core, at most 4): while a test checks one notebook, the next ones already run in their own
tabs and kernels. Each test then waits only for its own notebook.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import nbformat
import pytest

from tests.browser.lab import (
    CHROMIUM_FLAGS,
    INSTALL_HINT,
    JupyterLab,
    NotebookRun,
    find_chromium,
    serve_copy,
)
from tests.browser.probe_notebooks import BROKEN_PROBE, WIDGET_PROBE, broken_probe, widget_probe
from tests.notebook_files import NOTEBOOKS

OPEN_TIMEOUT_S = 120  # page load and kernel start, under load


@dataclass
class Timings:
    """Seconds spent by the browser tests, printed at the end of the run."""

    setup: dict[str, float] = field(default_factory=dict)
    notebooks: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)
    ended: float = 0.0


TIMINGS = pytest.StashKey[Timings]()


def timings(config: pytest.Config) -> Timings:
    return config.stash.setdefault(TIMINGS, Timings())


@pytest.fixture(scope="package")
def chromium(request: pytest.FixtureRequest) -> str:
    timings(request.config)  # the clock starts here
    path = find_chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is missing in CI: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return path


@pytest.fixture(scope="package")
def browser(request: pytest.FixtureRequest, chromium: str):
    from playwright.sync_api import sync_playwright

    began = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        timings(request.config).setup["launch Chromium"] = time.monotonic() - began
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def jupyterlab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium: str
) -> Iterator[JupyterLab]:
    """JupyterLab serving a copy of notebooks/ (never the committed files) plus the probes."""
    home = tmp_path_factory.mktemp("jupyterlab")
    served = home / "notebooks"
    serve_copy(NOTEBOOKS, served)
    nbformat.write(widget_probe(), served / WIDGET_PROBE)
    nbformat.write(broken_probe(), served / BROKEN_PROBE)
    began = time.monotonic()
    lab = JupyterLab(served, home)
    timings(request.config).setup["start JupyterLab"] = time.monotonic() - began
    yield lab
    lab.stop()
    timings(request.config).ended = time.monotonic()


class CourseRun:
    """Starts notebooks ahead of the tests that check them, ``parallel`` at a time."""

    def __init__(self, browser, lab: JupyterLab, order: list[str], parallel: int) -> None:
        self.browser, self.lab, self.parallel = browser, lab, parallel
        self.waiting = list(order)
        self.running: dict[str, NotebookRun] = {}

    def _start(self, name: str) -> None:
        if name in self.waiting:
            self.waiting.remove(name)
        self.running[name] = NotebookRun.start(self.browser, self.lab, name, OPEN_TIMEOUT_S)

    def started(self, name: str) -> NotebookRun:
        """The notebook, running (started now if it was not yet), and the next ones too."""
        if name not in self.running:
            self._start(name)
        while self.waiting and len(self.running) < self.parallel:
            self._start(self.waiting[0])
        return self.running[name]

    def close(self, name: str) -> None:
        self.running.pop(name).close()


@pytest.fixture(scope="package")
def course_run(request: pytest.FixtureRequest, browser, jupyterlab: JupyterLab) -> CourseRun:
    # Run the notebooks in the order the selected tests will ask for them.
    order = []
    for item in request.session.items:
        name = getattr(item, "callspec", None) and item.callspec.params.get("notebook")
        if name and name not in order:
            order.append(name)
    parallel = int(os.environ.get("BROWSER_TEST_PARALLEL", min(4, os.cpu_count() or 1)))
    return CourseRun(browser, jupyterlab, order, max(1, parallel))


@pytest.fixture
def lab_notebook(request: pytest.FixtureRequest, course_run: CourseRun, notebook: str):
    """``notebook`` open in JupyterLab, its cells running; its times go to the summary."""
    run = course_run.started(notebook)
    yield run
    if run.done_at:
        run.seconds["check"] = time.monotonic() - run.done_at
    timings(request.config).notebooks.append((notebook, run.seconds))
    course_run.close(notebook)


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    spent = config.stash.get(TIMINGS, None)
    if spent is None or not spent.notebooks:
        return
    write = terminalreporter.write_line
    terminalreporter.section("browser test: seconds per notebook")
    columns = {"open": "open", "run": "run all", "check": "check"}
    write(f"{'notebook':<32}" + "".join(f"{title:>9}" for title in columns.values()))
    for name, seconds in spent.notebooks:
        row = [f"{seconds[key]:.1f}" if key in seconds else "-" for key in columns]
        write(f"{name:<32}" + "".join(f"{cell:>9}" for cell in row))
    setup = ", ".join(f"{what} {seconds:.1f} s" for what, seconds in spent.setup.items())
    total = (spent.ended or time.monotonic()) - spent.began
    write(f"set-up: {setup}; all browser tests: {total:.1f} s")
