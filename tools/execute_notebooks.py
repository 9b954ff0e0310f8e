"""Re-execute notebooks in place, top to bottom, in a clean kernel (``make execute``).

Outputs are stored under the same settings the tests compare them with
(``course_utils.environment.REPRODUCIBLE_ENV``, network blocked), and everything that would
churn between two runs (cell timing metadata, widget model ids, progress bars' elapsed time,
the interpreter's patch version) is removed or renumbered, so executing twice in a row
leaves ``git diff`` empty.

    python tools/execute_notebooks.py                     # every notebook and solution
    python tools/execute_notebooks.py notebooks/01_scale.ipynb
    python tools/execute_notebooks.py --timings           # also record run times (2 cores)
    python tools/execute_notebooks.py --timings --cores 4 # ... on 4 cores

With ``--timings`` the run is pinned to ``--cores`` CPU cores (2 by default, what a learner's
laptop or a free cloud notebook offers; the kernels inherit the pinning) and each notebook's
wall-clock seconds go to ``course_utils/data/runtimes.json``, from which chapter 0's table and
the instructor guide's table (``tools/runtime_table.py``) are made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils.checks import positive_int
from course_utils.course import RUNTIMES
from course_utils.environment import use_reproducible_settings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: A tqdm bar's elapsed time, time left and rate, as a finished bar's widget stores them:
#: "[01:28&lt;00:00,  9.74step/s" (HTML-escaped, figure spaces) or "[00:05<00:00, 1.20s/run".
PROGRESS_TIMING = re.compile(
    r"\[\d+:\d+(?::\d+)?(?:<|&lt;)[\d:?]+,[\s\u2007]*(?:[\d.]+|\?)(?:s/\w+|\w+/s)"
)


def all_notebooks() -> list[Path]:
    """Chapters first, then their solutions, each in numeric order."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))


def renumber_widget_ids(text: str, notebook: nbformat.NotebookNode) -> str:
    """Replace random widget model ids by 0000…0001, 0000…0002, … in a stable order.

    The order follows the widgets' structure, not their random ids (which also set the order
    of the saved state): first the widgets displayed in cells, in cell order, then, depth
    first, the models each one refers to, in the order of its (sorted) attributes.
    """
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    if not state:
        return text
    order: dict[str, str] = {}

    def visit(model_id: str) -> None:
        if model_id in order or model_id not in state:
            return
        order[model_id] = f"{len(order) + 1:032x}"
        attributes = json.dumps(state[model_id], sort_keys=True)
        for reference in re.findall(r"IPY_MODEL_([0-9a-f]{32})", attributes):
            visit(reference)

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            if view:
                visit(view["model_id"])
    masked = {m: re.sub(r"[0-9a-f]{32}", "", json.dumps(state[m], sort_keys=True)) for m in state}
    for model_id in sorted(state, key=masked.__getitem__):  # models no displayed widget uses
        visit(model_id)
    renamed = re.sub(r"[0-9a-f]{32}", lambda m: order.get(m.group(0), m.group(0)), text)
    # Serialise again so that the widget state is sorted by the new ids, not the random ones.
    return nbformat.writes(nbformat.reads(renamed, as_version=4))


def coalesce_streams(cell: nbformat.NotebookNode) -> None:
    """Merge consecutive stdout (or stderr) outputs, which the kernel splits at random times."""
    merged: list[nbformat.NotebookNode] = []
    for output in cell.get("outputs", []):
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    cell.outputs = merged


def strip_root(cell: nbformat.NotebookNode, root: Path = ROOT) -> None:
    """Make paths inside the repository relative in tracebacks and printed text.

    A traceback names every file it passes through; stored as is, it would carry the path of
    the machine the notebook was executed on.
    """
    prefix = f"{root}{os.sep}"
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            output.traceback = [line.replace(prefix, "") for line in output.traceback]
        elif output.output_type == "stream":
            output.text = output.text.replace(prefix, "")


def mask_progress_timings(notebook: nbformat.NotebookNode) -> None:
    """Replace the wall-clock part of finished progress bars in the saved widget state.

    The bar's count and postfix (e.g. the final loss) stay; only the time and rate, which
    differ on every run, become "[time, rate".
    """
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        value = model.get("state", {}).get("value")
        if isinstance(value, str):
            model["state"]["value"] = PROGRESS_TIMING.sub("[time, rate", value)


def tidy(notebook: nbformat.NotebookNode) -> None:
    """Drop metadata that differs between runs or machines."""
    mask_progress_timings(notebook)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            coalesce_streams(cell)
            strip_root(cell)
        if cell.cell_type == "code" and "skip-execution" in cell.metadata.get("tags", []):
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.get("language_info", {}).pop("version", None)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }


def pin_to_cores(cores: int) -> int:
    """Run this process and the kernels it starts on the first ``cores`` CPUs; return how many.

    Where the operating system cannot pin (macOS, Windows), nothing changes and the machine's
    own core count is returned, so the record says what the numbers were measured on.
    """
    positive_int("cores", cores)
    if not hasattr(os, "sched_setaffinity"):
        return os.cpu_count() or 1
    available = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, available[:cores])
    return len(os.sched_getaffinity(0))


def record_timings(times: dict[str, float], cores: int, path: Path = RUNTIMES) -> None:
    """Merge ``times`` (seconds by notebook file name) into the run-time record at ``path``."""
    recorded = json.loads(path.read_text())
    recorded["seconds"].update({name: round(s, 1) for name, s in times.items()})
    recorded["measured_on"] = f"{cores} CPU cores, OMP_NUM_THREADS=1"
    path.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")


def execute(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place; return its wall-clock run time in seconds."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    tidy(notebook)
    path.write_text(renumber_widget_ids(nbformat.writes(notebook), notebook) + "\n")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all notebooks")
    parser.add_argument(
        "--timings", action="store_true", help=f"record run times in {RUNTIMES.relative_to(ROOT)}"
    )
    parser.add_argument(
        "--cores",
        type=int,
        default=2,
        help="with --timings: CPU cores to pin the run to (default: 2)",
    )
    args = parser.parse_args(argv)
    cores = pin_to_cores(args.cores) if args.timings else None
    use_reproducible_settings()
    paths = [p.resolve() for p in args.notebooks] or all_notebooks()
    times: dict[str, float] = {}
    for path in paths:
        seconds = execute(path)
        times[path.name] = seconds
        print(f"{seconds:7.1f} s  {path.relative_to(ROOT)}", flush=True)
    if cores is not None:
        record_timings(times, cores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
