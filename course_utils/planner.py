"""The layout planner: model, GPUs and memory in, layouts that fit out (chapter 6).

A widget around :func:`~course_utils.parallelism.plan_layouts`: pick a model, a number of GPUs
and the memory of one GPU, and it lists the layouts whose busiest GPU fits, cheapest in
communication first (see :func:`~course_utils.parallelism.plan_table`).
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from course_utils.checks import choice
from course_utils.config import ModelConfig
from course_utils.parallelism import LARGE_MODELS, plan_layouts, plan_table
from course_utils.presets import PRESETS

#: The models the planner offers: chapter 1's 7B and the two larger ones of chapter 6.
PLANNER_MODELS: dict[str, ModelConfig] = {
    "llama-2-7b": PRESETS["llama-2-7b"].config,
    **LARGE_MODELS,
}
GPU_COUNTS = (8, 16, 32, 64, 128, 256, 512, 1024)
GPU_MEMORY_GB = (24, 40, 80, 141)


def planner_text(
    model: str, n_gpus: int, gpu_memory_gb: float, seq_len: int = 4096, limit: int = 6
) -> str:
    """What the planner shows: the ``limit`` cheapest layouts that fit, as text (chapter 6).

    One sequence of ``seq_len`` tokens per micro-batch and 8 micro-batches per step; tensor
    parallelism on NVLink 4 inside 8-GPU servers, the rest on InfiniBand NDR.
    """
    config = PLANNER_MODELS[choice("model", model, PLANNER_MODELS)]
    plans = plan_layouts(config, n_gpus, gpu_memory_gb * 1e9, seq_len=seq_len, micro_batches=8)
    fitting = f"{len(plans)} layouts fit" if plans else "no layout fits"
    header = f"{model} on {n_gpus} GPUs of {gpu_memory_gb:g} GB, {seq_len:,}-token sequences: "
    return header + fitting + "\n\n" + plan_table(plans, limit=limit)


class LayoutPlanner(widgets.VBox):
    """Drop-downs for model, number of GPUs and GPU memory, and the planner's table."""

    def __init__(self, model: str = "llama-2-70b", n_gpus: int = 64, gpu_memory_gb: int = 80):
        style = {"description_width": "120px"}
        self.model = widgets.Dropdown(
            options=list(PLANNER_MODELS), value=model, description="model", style=style
        )
        self.n_gpus = widgets.Dropdown(
            options=list(GPU_COUNTS), value=n_gpus, description="GPUs", style=style
        )
        self.gpu_memory = widgets.Dropdown(
            options=list(GPU_MEMORY_GB),
            value=gpu_memory_gb,
            description="GB per GPU",
            style=style,
        )
        self.result = widgets.HTML()
        for control in (self.model, self.n_gpus, self.gpu_memory):
            control.observe(self._update, names="value")
        super().__init__([self.model, self.n_gpus, self.gpu_memory, self.result])
        self._update()

    @property
    def text(self) -> str:
        """What the planner shows, as plain text."""
        return planner_text(self.model.value, self.n_gpus.value, self.gpu_memory.value)

    def _update(self, change=None) -> None:
        self.result.value = f"<pre>{html.escape(self.text)}</pre>"


def layout_planner(model: str = "llama-2-70b", n_gpus: int = 64, gpu_memory_gb: int = 80):
    """Build chapter 6's planner widget (defaults: Llama-2-70B on 64 GPUs of 80 GB)."""
    choice("model", model, PLANNER_MODELS)
    choice("n_gpus", n_gpus, GPU_COUNTS)
    choice("gpu_memory_gb", gpu_memory_gb, GPU_MEMORY_GB)
    return LayoutPlanner(model, n_gpus, gpu_memory_gb)
