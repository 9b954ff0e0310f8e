"""Chapter 0's practice exercise: how checks work."""

from __future__ import annotations

from course_utils.exercises.framework import Exercise, exact_count, register

register(
    Exercise(
        id="0.1",
        prompt="How many parameters does torch.nn.Linear(4, 3) have, bias included?",
        hint="a Linear(in, out) layer stores an out x in weight matrix and one bias per output.",
        judge=exact_count(4 * 3 + 3),
        example_solution=lambda: 4 * 3 + 3,
        example_mistake=lambda: 4 * 3,
        explanation="12 weights (3 x 4) plus 3 biases.",
    )
)
