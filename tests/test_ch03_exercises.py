"""Chapter 3's function exercises explain what is wrong, not just that it is."""

from __future__ import annotations

import torch

from course_utils.exercises import check


def test_rms_norm_exercise_catches_layer_norm_and_non_functions():
    def layer_norm(x, weight, eps):
        centred = x - x.mean(-1, keepdim=True)
        return centred / torch.sqrt(centred.pow(2).mean(-1, keepdim=True) + eps) * weight

    assert "off by up to" in check("3.1", layer_norm).message
    assert "expected a function" in check("3.1", 3.0).message
    assert "same shape" in check("3.1", lambda x, weight, eps: x.sum()).message


def test_causal_mask_exercise_names_the_mistake():
    def ones(n):
        return torch.ones(n, n, dtype=torch.bool)

    assert "swapped" in check("3.2", lambda n: ones(n).tril()).message
    assert "attend to itself" in check("3.2", lambda n: ones(n).triu()).message
    assert "boolean" in check("3.2", lambda n: ones(n).triu(1).float()).message
    assert "earlier position" in check("3.2", lambda n: ones(n).tril(-1) | ones(n).triu(1)).message
    assert "not blocked" in check("3.2", lambda n: ones(n).triu(2)).message
