"""Chapter 7's exercises say what is wrong, not just that it is."""

from __future__ import annotations

import torch

from course_utils.exercises import check


def test_route_exercise_names_the_mistake():
    def top_k_logits(logits, k):  # the right experts, but raw logits as weights
        return torch.topk(logits, k, dim=-1)

    def lowest(logits, k):
        weights, indices = torch.topk(-logits, k, dim=-1)
        return torch.softmax(-weights, -1), indices

    assert "not 1" in check("7.1", top_k_logits).message
    assert "wrong experts" in check("7.1", lowest).message
    assert "pair" in check("7.1", lambda logits, k: logits).message
    assert "expected a function" in check("7.1", 3).message
    softmax_of_top_logits = check(
        "7.1", lambda x, k: (torch.softmax(torch.topk(x, k).values, -1), torch.topk(x, k).indices)
    )
    assert softmax_of_top_logits.correct  # the paper's formula is the same routing


def test_counting_exercises_reject_the_usual_slips():
    assert "too low" in check("7.2", 46.7 * 2 / 8).message
    assert "too large" in check("7.2", 46.7).message
    assert "too small" in check("7.3", 25.8).message
    assert check("7.3", 93.4).correct
