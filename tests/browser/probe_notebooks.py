"""Two small notebooks the browser test writes beside the course's, to test itself.

``widget_probe.ipynb`` works: two figures (PNG, SVG) and two sliders wired the two usual ways
(``interact`` printing into an Output, ``observe`` updating a Label), like chapters 1 and 2.
It proves the interaction checks work before those chapters exist. ``broken_probe.ipynb``
fails in each way the test must catch, so the checks are shown to fail when they should.
"""

from __future__ import annotations

from nbformat import v4

WIDGET_PROBE = "widget_probe.ipynb"
BROKEN_PROBE = "broken_probe.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

WIDGET_PROBE_CELLS = [
    "import ipywidgets as widgets\nimport matplotlib.pyplot as plt",
    """fig, ax = plt.subplots(figsize=(4, 2.5))
ax.plot([1, 2, 4], [3, 1, 2])
ax.set_title("a figure")
plt.show()""",
    """from IPython.display import SVG

SVG('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    '<rect width="120" height="40" fill="teal"/></svg>')""",
    """@widgets.interact(d_model=widgets.IntSlider(value=64, min=32, max=512, step=32,
                                             description="width d_model"))
def show_parameters(d_model):
    print(f"{12 * d_model**2:,} parameters per layer")""",
    """budget = widgets.IntSlider(value=20, min=18, max=24, description="log10 compute",
                           continuous_update=False)
optimum = widgets.Label()


def update(change=None):
    optimum.value = f"N_opt = {10 ** (budget.value / 2):.3g} parameters"


budget.observe(update, names="value")
update()
widgets.VBox([budget, optimum])""",
]

BROKEN_PROBE_CELLS = [
    ("import ipywidgets as widgets\nfrom IPython.display import Image, display", []),
    # A raises-exception cell is expected to fail: no problem.
    ("1 / 0", ["raises-exception"]),
    # What a kernel whose ipywidgets the page's widget manager does not know produces.
    (
        'mismatched = widgets.IntSlider(description="mismatched")\n'
        'mismatched._view_module_version = "99.0.0"\n'
        "mismatched",
        [],
    ),
    # A stored widget view whose model is gone: "Error displaying widget: model not found".
    (
        'display({"application/vnd.jupyter.widget-view+json": {"version_major": 2,\n'
        '         "version_minor": 0, "model_id": "0" * 32},\n'
        '         "text/plain": "IntSlider(value=0)"}, raw=True)',
        [],
    ),
    ('display(Image(data=b"these bytes are not a PNG", format="png"))', []),
    # interact shows what its function raises inside its Output widget.
    ('widgets.interact(lambda n: n / 0, n=widgets.IntSlider(value=1, description="n"));', []),
    ('raise RuntimeError("deliberately broken")', []),
]


def widget_probe() -> v4.NotebookNode:
    """A working notebook with two figures and two interactive sliders."""
    notebook = v4.new_notebook(cells=[v4.new_code_cell(source) for source in WIDGET_PROBE_CELLS])
    notebook.metadata["kernelspec"] = KERNELSPEC
    return notebook


def broken_probe() -> v4.NotebookNode:
    """A notebook that breaks a widget, a figure and a cell on purpose."""
    cells = [
        v4.new_code_cell(source, metadata={"tags": tags}) for source, tags in BROKEN_PROBE_CELLS
    ]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = KERNELSPEC
    return notebook
