"""Executing a notebook twice stores the same file: widget ids and stream splits are tidied."""

from __future__ import annotations

import importlib.util
import uuid

import nbformat

from tests.notebook_files import ROOT

_SPEC = importlib.util.spec_from_file_location(
    "execute_notebooks", ROOT / "tools" / "execute_notebooks.py"
)
execute_notebooks = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(execute_notebooks)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def notebook_with_widgets(ids: list[str]) -> nbformat.NotebookNode:
    """A box (ids[0]) holding two sliders (ids[1], ids[2]) that share a layout (ids[3])."""
    box, first, second, layout = ids
    state = {
        second: {
            "model_name": "IntSliderModel",
            "state": {"layout": f"IPY_MODEL_{layout}", "value": 2},
        },
        layout: {"model_name": "LayoutModel", "state": {}},
        first: {
            "model_name": "IntSliderModel",
            "state": {"layout": f"IPY_MODEL_{layout}", "value": 1},
        },
        box: {
            "model_name": "VBoxModel",
            "state": {"children": [f"IPY_MODEL_{first}", f"IPY_MODEL_{second}"]},
        },
    }
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("box")
    cell.id = "widget-cell"
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={WIDGET_VIEW: {"model_id": box}, "text/plain": "box"}
        )
    ]
    notebook.cells = [cell]
    notebook.metadata["widgets"] = {execute_notebooks.WIDGET_STATE: {"state": state}}
    return notebook


def renumbered(ids: list[str]) -> str:
    notebook = notebook_with_widgets(ids)
    return execute_notebooks.renumber_widget_ids(nbformat.writes(notebook), notebook)


def test_widget_ids_follow_the_structure_not_the_random_ids():
    first_run = renumbered([uuid.uuid4().hex for _ in range(4)])
    ascending = renumbered([f"{i:032x}" for i in (0xA, 0xB, 0xC, 0xD)])
    descending = renumbered([f"{i:032x}" for i in (0xD, 0xC, 0xB, 0xA)])
    assert first_run == ascending == descending
    numbered = nbformat.reads(first_run, as_version=4)
    assert numbered.cells[0].outputs[0].data[WIDGET_VIEW]["model_id"] == f"{1:032x}"
    state = numbered.metadata.widgets[execute_notebooks.WIDGET_STATE]["state"]
    assert state[f"{1:032x}"]["model_name"] == "VBoxModel"
    assert state[f"{2:032x}"]["state"]["value"] == 1  # the box's first child comes next


def test_stream_outputs_are_merged():
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stdout", text="2\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="3\n"),
    ]
    execute_notebooks.coalesce_streams(cell)
    assert [(o.name, o.text) for o in cell.outputs] == [
        ("stdout", "1\n2\n"),
        ("stderr", "warning\n"),
        ("stdout", "3\n"),
    ]


def test_paths_inside_the_repository_are_stored_relative(tmp_path):
    cell = nbformat.v4.new_code_cell("ModelConfig(n_heads=10)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=f"{tmp_path}/course_utils/x.py:3\n"),
        nbformat.v4.new_output(
            "error",
            ename="ValueError",
            evalue="bad",
            traceback=[f"File \x1b[32m{tmp_path}/course_utils/config.py:82\x1b[39m", "ValueError"],
        ),
    ]
    execute_notebooks.strip_root(cell, root=tmp_path)
    assert cell.outputs[0].text == "course_utils/x.py:3\n"
    assert cell.outputs[1].traceback[0] == "File \x1b[32mcourse_utils/config.py:82\x1b[39m"


def test_progress_bar_timings_are_masked_but_their_counts_and_losses_kept():
    values = {
        "a" * 32: "\u20071000/1000\u2007[01:28&lt;00:00,\u2007\u20079.74step/s,\u2007loss=1.290]",
        "b" * 32: "\u200714/14\u2007[01:55&lt;00:00,\u200711.02s/run]",
        "c" * 32: "training:\u2007100%",
    }
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {
        execute_notebooks.WIDGET_STATE: {
            "state": {
                i: {"model_name": "HTMLModel", "state": {"value": v}} for i, v in values.items()
            }
        }
    }
    execute_notebooks.mask_progress_timings(notebook)
    state = notebook.metadata["widgets"][execute_notebooks.WIDGET_STATE]["state"]
    assert state["a" * 32]["state"]["value"] == (
        "\u20071000/1000\u2007[time, rate,\u2007loss=1.290]"
    )
    assert state["b" * 32]["state"]["value"] == "\u200714/14\u2007[time, rate]"
    assert state["c" * 32]["state"]["value"] == values["c" * 32]
