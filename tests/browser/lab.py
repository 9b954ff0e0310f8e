"""Drive JupyterLab in a headless Chromium the way a learner uses it (the browser test).

`JupyterLab` serves a folder of notebooks on 127.0.0.1 with token authentication;
`NotebookRun` opens one notebook in its own browser context, runs all cells from the *Run*
menu, waits for the kernel, and reports what the page shows: error outputs, figures that did
not render, widgets that are not live controls. `move_slider` and `lines_containing` are the
pieces of an interaction check: move a slider, watch the text it drives change.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

CHROMIUM_ENV = "CHROMIUM_EXECUTABLE"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_HINT = (
    "the browser test needs Chromium: install it with `apt-get install chromium` "
    f"(Debian/Ubuntu), or set {CHROMIUM_ENV} to a Chromium or Chrome binary"
)
# Keep Chromium quiet and local; Playwright adds --headless and --no-sandbox itself.
CHROMIUM_FLAGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
LONGEST_SCREENSHOT_PX = 16_000

# User settings of the test's JupyterLab: never save the served copy, never ask about news,
# render every cell (so the page holds every output, and a screenshot shows them all).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "scrollPastEnd": False},
}
INSPECT_OUTPUTS_JS = (Path(__file__).with_name("inspect_outputs.js")).read_text()
KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/svg+xml"}


def find_chromium() -> str | None:
    """The Chromium binary to drive: ``$CHROMIUM_EXECUTABLE`` if set, else one on PATH."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise ValueError(f"{CHROMIUM_ENV}={explicit!r} is not an executable file")
        return explicit
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def serve_copy(notebooks: Path, destination: Path) -> None:
    """Copy the notebooks to serve; cells tagged ``skip-execution`` become raw cells.

    JupyterLab's *Run All* ignores that tag, which marks cells the tests must never run.
    """
    shutil.copytree(notebooks, destination, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in destination.rglob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        skipped = [
            index
            for index, cell in enumerate(notebook.cells)
            if "skip-execution" in cell.metadata.get("tags", [])
        ]
        for index in skipped:
            cell = notebook.cells[index]
            notebook.cells[index] = nbformat.v4.new_raw_cell(cell.source, metadata=cell.metadata)
        if skipped:
            nbformat.write(notebook, path)


class JupyterLab:
    """A JupyterLab server from this Python environment, serving ``root`` on 127.0.0.1."""

    def __init__(self, root: Path, home: Path, timeout: float = 90) -> None:
        self.root = root
        self.token = os.urandom(24).hex()
        runtime = home / "runtime"
        settings = home / "settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update(
            JUPYTER_TOKEN=self.token,
            # Keep the person's own Jupyter configuration and extensions out of the test.
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(runtime),
            IPYTHONDIR=str(home / "ipython"),
            # Chapter 5 trains models: its quick mode keeps the run to seconds, not minutes.
            LLM_FOUNDATIONS_QUICK="1",
        )
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",  # the system picks a free port; read back from the runtime file
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={home / 'workspaces'}",
            "--LabApp.news_url=None",
            "--LabApp.extension_manager=readonly",
            # window.jupyterapp: the test reads the notebook model it compares the page with.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "getuid") and os.getuid() == 0:
            command.append("--allow-root")
        self.log = home / "jupyterlab.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root
            )
        try:
            self.url = self._wait_until_serving(runtime, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_serving(self, runtime: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        info = runtime / f"jpserver-{self.process.pid}.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start-up:\n{self.log_tail()}")
            if info.exists():
                try:
                    url = json.loads(info.read_text())["url"]
                    request = urllib.request.Request(
                        f"{url}api/status", headers={"Authorization": f"token {self.token}"}
                    )
                    with urllib.request.urlopen(request, timeout=5):
                        return url
                except (OSError, ValueError, KeyError):
                    pass  # file half-written or server not answering yet
            time.sleep(0.2)
        raise TimeoutError(f"JupyterLab did not start within {timeout:.0f} s:\n{self.log_tail()}")

    def notebook_url(self, name: str) -> str:
        """Open ``name`` in a fresh workspace of its own (nothing else reopens beside it)."""
        workspace = re.sub(r"[^A-Za-z0-9_-]", "-", name)
        path = urllib.parse.quote(name)
        return f"{self.url}lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server; it shuts down the kernels it started."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class NotebookRun:
    """One notebook opened in its own browser context, all of its cells run from the menu."""

    name: str
    page: Page
    seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None  # why it could not be opened or started
    ran_at: float = 0.0
    done_at: float = 0.0

    @classmethod
    def start(cls, browser: Browser, lab: JupyterLab, name: str, timeout: float) -> NotebookRun:
        """Open the notebook, wait for its kernel, choose *Run → Run All Cells*, return at once."""
        page = browser.new_context(viewport=VIEWPORT).new_page()
        run = cls(name, page)
        began = time.monotonic()
        try:
            page.goto(lab.notebook_url(name), timeout=timeout * 1000)
            run._wait_for_kernel("Idle", timeout, "to start")
            run.seconds["open"] = time.monotonic() - began
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        except Exception as error:  # reported by the test that asks for this notebook
            run.failure = f"{name}: could not open and run it in JupyterLab: {error}"
        run.ran_at = time.monotonic()
        return run

    def kernel_status(self) -> str:
        """The kernel state the status bar shows: Idle, Busy, Starting, Dead, …"""
        text = self.page.locator(KERNEL_STATUS).text_content(timeout=5_000) or ""
        return text.rpartition("|")[2].strip()

    def _wait_for_kernel(self, state: str, timeout: float, purpose: str) -> None:
        self.page.wait_for_selector(KERNEL_STATUS, timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while (status := self.kernel_status()) != state:
            if status == "Dead":
                raise RuntimeError(f"{self.name}: the kernel died (waiting for it {purpose})")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name}: kernel still {status!r} after {timeout:.0f} s "
                    f"(waiting for it {purpose})"
                )
            time.sleep(0.2)

    def wait_until_done(self, timeout: float) -> None:
        """Wait until the kernel has run the cells, and the status bar says it is idle again."""
        if self.failure:
            raise RuntimeError(self.failure)
        deadline = self.ran_at + timeout
        while not (self._nothing_pending(deadline, timeout) and self._cells_run_by_kernel()):
            time.sleep(0.5)
        self.done_at = time.monotonic()
        self.seconds["run"] = self.done_at - self.ran_at
        self._wait_for_rendering(timeout=30)

    def _nothing_pending(self, deadline: float, timeout: float) -> bool:
        prompts = self.page.locator(".jp-Notebook .jp-InputArea-prompt").all_text_contents()
        pending = [number for number, prompt in enumerate(prompts, 1) if "*" in prompt]
        status = self.kernel_status()
        if status == "Dead":
            raise RuntimeError(f"{self.name}: the kernel died while running the cells")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{self.name}: still running after {timeout:.0f} s; cells not finished: "
                f"{', '.join(map(str, pending)) or 'none'} (kernel {status})"
            )
        return not pending and status == "Idle"

    def _cells_run_by_kernel(self) -> int:
        """How many cells the kernel has executed, asked in a silent request.

        The request queues behind every cell, and its reply comes after their outputs (which
        can arrive after a cell's own reply, on another channel). Zero: the run has not begun.
        """
        return self.page.evaluate(
            """() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel
                .requestExecute({code: "", silent: true, store_history: false})
                .done.then((reply) => reply.content.execution_count)"""
        )

    def _wait_for_rendering(self, timeout: float) -> None:
        """Give images time to decode and widgets to leave "Loading widget..." (else reported)."""
        with contextlib.suppress(PlaywrightTimeoutError):  # inspect() reports what is left
            self.page.wait_for_function(
                """() => {
                    const outputs = '.jp-Notebook .jp-OutputArea-output';
                    const images = document.querySelectorAll(`${outputs} img`);
                    return [...images].every((image) => image.complete) &&
                        ![...document.querySelectorAll(outputs)]
                            .some((node) => node.textContent.trim() === 'Loading widget...');
                }""",
                timeout=timeout * 1000,
            )

    def report(self) -> list[dict]:
        """Per cell: its outputs, and how each rendered (see inspect_outputs.js)."""
        return self.page.evaluate(INSPECT_OUTPUTS_JS)

    def inspect(self) -> list[str]:
        """Everything wrong with what the page shows, one line per problem (none: all good)."""
        return problems_in(self.report(), self.name)

    def screenshot(self, path: Path) -> None:
        """The whole notebook, top to bottom, with the file browser folded away."""
        path.parent.mkdir(parents=True, exist_ok=True)
        page = self.page
        page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        scroll, visible = page.evaluate(
            """() => {
                const notebook = document.querySelector('.jp-WindowedPanel-outer');
                return [notebook.scrollHeight, notebook.clientHeight];
            }"""
        )
        height = min(VIEWPORT["height"] + scroll - visible, LONGEST_SCREENSHOT_PX)
        page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 1)})
        page.wait_for_timeout(300)  # let JupyterLab lay out the taller window
        page.screenshot(path=path, full_page=True)

    def close(self) -> None:
        """Shut the notebook's kernel down and close its browser context."""
        with contextlib.suppress(PlaywrightError):  # the server stops every kernel at the end
            self.page.evaluate(
                "() => window.jupyterapp.shell.currentWidget?.sessionContext.shutdown()"
            )
        self.page.context.close()


def describe_cell(cell: dict) -> str:
    first_line = next((line for line in cell["source"].splitlines() if line.strip()), "")
    return f"cell {cell['index'] + 1} ({first_line.strip()[:60]!r})"


def problems_in(cells: list[dict], name: str) -> list[str]:
    """Turn inspect_outputs.js's report into readable problems (empty when all is well)."""
    problems = []
    for cell in cells:
        where = f"{name}, {describe_cell(cell)}"
        for output in cell["outputs"]:
            problems += [f"{where}: {problem}" for problem in output_problems(output, cell["tags"])]
    return problems


def output_problems(output: dict, tags: list[str]) -> list[str]:
    """What is wrong with one output as rendered; see inspect_outputs.js for the fields."""
    if not output["found"]:
        return [f"{output['outputType']} output is missing from the page"]
    problems = []
    if output["error"] and "raises-exception" not in tags:
        problems.append(f"error output {output['error']}")
    for traceback in output["nestedTracebacks"]:
        problems.append(f"an Output widget shows an error: {traceback.strip().splitlines()[-1]}")
    broken_images = [image for image in output["images"] if not image["width"]]
    if broken_images:
        problems.append(f"{len(broken_images)} figure(s) did not render (no image data decoded)")
    if IMAGE_TYPES & set(output["mimeTypes"]) and not output["images"]:
        problems.append(f"figure shown without an <img> (rendered as {output['renderedAs']})")
    problems += [
        f"widget failed to render: {widget_error(text)}" for text in output["brokenWidgets"]
    ]
    model = output["widgetModel"]
    if model:  # "" is a closed widget, which JupyterLab hides on purpose
        text = output["text"].strip()
        if "Loading widget..." in text:
            problems.append("widget never rendered: still 'Loading widget...'")
        elif "Error displaying widget" in text:
            line = next(line for line in text.splitlines() if "Error displaying widget" in line)
            problems.append(f"widget failed to render: {line}")
        elif not output["liveWidgets"]:
            problems.append(f"widget shown as plain text, not a live control: {text[:120]!r}")
    return problems


def widget_error(text: str) -> str:
    """The message of ipywidgets' error view, without its console hint and stack trace."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith(("[Open Browser", "at "))]
    return " / ".join(kept)


def slider(page: Page, description: str):
    """The first slider whose description contains ``description``."""
    sliders = page.locator(".jp-Notebook .jupyter-widgets.widget-slider").filter(
        has=page.locator(".widget-label", has_text=description)
    )
    if not sliders.count():
        labels = page.locator(".jp-Notebook .widget-slider .widget-label").all_text_contents()
        raise LookupError(
            f"no slider whose description contains {description!r}; sliders: {labels}"
        )
    return sliders.first


def move_slider(page: Page, description: str) -> tuple[str, str]:
    """Move a slider with the keyboard, to its end (or its start if already there).

    Returns its value before and after, as the slider announces them (``aria-valuetext``).
    """
    handle = slider(page, description).locator(".noUi-handle")
    before = handle.get_attribute("aria-valuetext")
    for key in ("End", "Home"):
        handle.focus()
        handle.press(key)
        after = handle.get_attribute("aria-valuetext")
        if after != before:
            return before, after
    raise AssertionError(f"slider {description!r} did not move from {before!r}")


def lines_containing(page: Page, needle: str) -> list[str]:
    """Every line of displayed output (widgets included) that contains ``needle``."""
    texts = page.locator(".jp-Notebook .jp-Cell-outputArea").all_inner_texts()
    return [line.strip() for text in texts for line in text.splitlines() if needle in line]


def check_interaction(page: Page, control: str, shows: str, timeout: float = 30) -> list[str]:
    """Move the slider described ``control``; the lines showing ``shows`` must change."""
    before = lines_containing(page, shows)
    if not before:
        return [f"no displayed text contains {shows!r} before moving {control!r}"]
    try:
        old, new = move_slider(page, control)
    except (LookupError, AssertionError) as error:
        return [str(error)]
    deadline = time.monotonic() + timeout
    while lines_containing(page, shows) == before:
        if time.monotonic() > deadline:
            return [
                f"moving {control!r} from {old} to {new} did not change what shows {shows!r} "
                f"within {timeout:.0f} s: {before}"
            ]
        time.sleep(0.2)
    return []
