"""Chapter 6's exercises: memory and communication when training is split over devices."""

from __future__ import annotations

from course_utils.exercises import Exercise, close_to, register
from course_utils.parallelism import (
    Layout,
    device_memory,
    pipeline_bubble,
    ring_all_reduce_bytes,
)
from course_utils.presets import PRESETS

# Exercise 6.1: Llama-2-7B on 8 GPUs with ZeRO stage 2.
_PSI = PRESETS["llama-2-7b"].estimated_params

register(
    Exercise(
        id="6.1",
        prompt="Llama-2-7B (6,738,415,616 parameters) is trained with mixed-precision Adam on 8 "
        "GPUs with ZeRO stage 2. How many GB of weights, gradients and optimizer states does "
        "each GPU hold?",
        hint="stage 2 partitions the gradients (2 bytes) and the optimizer states (12 bytes) "
        "over the 8 GPUs; every GPU keeps all 16-bit weights (2 bytes). 1 GB = 1e9 bytes.",
        judge=close_to(device_memory(_PSI, Layout(8, zero_stage=2)).model_states / 1e9),
        example_solution=lambda: (2 * _PSI + (2 + 12) * _PSI / 8) / 1e9,
        example_mistake=lambda: 16 * _PSI / 8 / 1e9,
        explanation="About 25.3 GB: 13.5 GB of weights that every GPU keeps, and an eighth of the "
        "94 GB of gradients and Adam states. Stage 3 (FSDP) would also split the weights: 13.5 GB.",
    )
)

register(
    Exercise(
        id="6.2",
        prompt="A 1.5-billion-parameter model is trained with plain data parallelism on 64 GPUs; "
        "its bf16 gradients are averaged with a ring all-reduce after every step. How many GB "
        "does each GPU send per step?",
        hint="a ring all-reduce is a reduce-scatter then an all-gather: each GPU sends "
        "2·(N−1)/N times the message, here 2 bytes per parameter.",
        judge=close_to(ring_all_reduce_bytes(2 * 1.5e9, 64) / 1e9),
        example_solution=lambda: 2 * 63 / 64 * 2 * 1.5e9 / 1e9,
        example_mistake=lambda: 63 / 64 * 2 * 1.5e9 / 1e9,
        explanation="About 5.9 GB, almost twice the gradients' 3 GB whatever the number of GPUs: "
        "at 50 GB/s (InfiniBand NDR) that is about 0.12 s per step unless it overlaps with the "
        "backward pass.",
    )
)

register(
    Exercise(
        id="6.3",
        prompt="A pipeline of 16 stages runs 32 micro-batches per step with a 1F1B schedule and "
        "no interleaving. What is its bubble: the idle time as a fraction of the time spent "
        "computing?",
        hint="the first stage waits p − 1 micro-batch slots before its first backward pass and "
        "the last ones wait as long at the end: (p − 1) / m.",
        judge=close_to(pipeline_bubble(16, 32)),
        example_solution=lambda: (16 - 1) / 32,
        example_mistake=lambda: 16 / 32,
        explanation="15/32, about 47%: pipelines need many more micro-batches than stages. Llama "
        "3 interleaves several model chunks per device, dividing the bubble by their number "
        "(Dubey et al. 2024, section 3.3.2).",
    )
)
