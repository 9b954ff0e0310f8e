"""Running functions on gloo ranks (chapter 6): results, errors, time-outs, no orphans, and
the chapter's worked pieces measured against one process and against the ZeRO formulas."""

from __future__ import annotations

import math
import os

import psutil
import pytest
import torch

from course_utils import distributed
from course_utils.distributed import (
    collectives_demo,
    ddp_gradients,
    echo_rank,
    fail_on_rank,
    fsdp_shard_sizes,
    full_batch_gradients,
    hang_on_rank,
    run_on_ranks,
    single_process_weights,
    zero1_state_bytes,
)
from course_utils.parallelism import Layout, device_memory


def rank_processes() -> list[psutil.Process]:
    """Our live child processes, leaving out multiprocessing's own resource tracker."""
    children = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                child.cmdline()
            ):
                children.append(child)
        except psutil.NoSuchProcess:
            continue
    return children


@pytest.fixture
def no_orphans():
    before = {p.pid for p in rank_processes()}
    yield
    left = [p for p in rank_processes() if p.pid not in before]
    assert not left, f"rank processes left behind: {left}"


def test_an_exception_on_one_rank_names_it_and_ends_every_rank(no_orphans):
    with pytest.raises(RuntimeError, match="rank 1 of 2 failed") as raised:
        run_on_ranks(fail_on_rank, 2, failing_rank=1, timeout=60)
    message = str(raised.value)
    assert "ArithmeticError: rank 1 gives up on purpose" in message
    assert "Traceback" in message


def test_a_hanging_rank_is_killed_at_the_timeout(no_orphans):
    with pytest.raises(TimeoutError, match=r"ranks \[.*1\] of 2 were still running after 4 s"):
        run_on_ranks(hang_on_rank, 2, hanging_rank=1, timeout=4)


def notebook_cell_function(rank, world_size):
    return rank


def test_functions_a_new_process_cannot_import_are_refused_before_starting(no_orphans):
    notebook_cell_function.__module__ = "__main__"  # as if defined in a notebook cell
    try:
        with pytest.raises(ValueError, match="notebook cell"):
            run_on_ranks(notebook_cell_function, 2)
    finally:
        notebook_cell_function.__module__ = __name__
    with pytest.raises(ValueError, match="module-level"):
        run_on_ranks(lambda rank, world_size: rank, 2)
    with pytest.raises(ValueError, match="world_size"):
        run_on_ranks(echo_rank, 0)
    with pytest.raises(ValueError, match="timeout"):
        run_on_ranks(echo_rank, 2, timeout=0)
    assert not rank_processes()


def worked_pieces(rank: int, world_size: int) -> dict:
    """The chapter's four demonstrations in one launch (a rank process starts in seconds)."""
    return {
        "echo": echo_rank(rank, world_size, value=10),
        "collectives": collectives_demo(rank, world_size, numel=1024),
        "ddp": ddp_gradients(rank, world_size, batch_size=8),
        "zero1": zero1_state_bytes(rank, world_size),
        "fsdp": fsdp_shard_sizes(rank, world_size, steps=3),
    }


@pytest.fixture(scope="module")
def pieces():
    before = {p.pid for p in rank_processes()}
    results = run_on_ranks(worked_pieces, 2, timeout=120)
    assert not [p for p in rank_processes() if p.pid not in before]
    return results


def test_ranks_return_their_results_in_rank_order(pieces):
    results = [piece["echo"] for piece in pieces]
    assert [r["rank"] for r in results] == [0, 1]
    assert all(r["world_size"] == 2 and r["sum"] == 21 for r in results)  # 10 + 11
    assert len({r["pid"] for r in results} | {os.getpid()}) == 3  # two fresh processes
    # Ranks inherit this process's environment: under the suite, its network guard.
    if "offline_guard" in os.environ.get("PYTHONPATH", ""):
        assert all("offline_guard" in (r["sitecustomize"] or "") for r in results)


def test_all_reduce_equals_reduce_scatter_then_all_gather(pieces):
    results = [piece["collectives"] for piece in pieces]
    expected = sum(rank + 1 + 0.001 * torch.arange(1024.0) for rank in range(2))
    for result in results:
        assert torch.allclose(result["all_reduce"], expected)
        assert torch.equal(result["all_reduce"], result["reduce_scatter_all_gather"])
        assert result["ring_all_reduce_bytes_sent"] == 4096  # 2·(2−1)/2 × 4,096 bytes
    assert torch.equal(torch.cat([r["shard"] for r in results]), results[0]["all_reduce"])


def test_ddp_gradients_equal_the_full_batch_gradient(pieces):
    reference = full_batch_gradients(batch_size=8)
    for piece in pieces:
        for name, grad in reference.items():
            torch.testing.assert_close(piece["ddp"][name], grad, rtol=1e-5, atol=1e-7)


def test_zero1_and_fsdp_hold_what_the_formulas_say(pieces):
    zero = [piece["zero1"] for piece in pieces]
    n_params = zero[0]["n_params"]
    formula = device_memory(n_params, Layout(2, zero_stage=1), recipe="fp32")
    # ZeRO-1: Adam's moments (8 bytes per parameter in fp32) split in two.
    assert [r["state_bytes"] for r in zero] == [formula.optimizer_states] * 2
    assert sum(r["state_bytes"] for r in zero) == zero[0]["unsharded_state_bytes"]
    shards = [piece["fsdp"] for piece in pieces]
    fsdp = device_memory(n_params, Layout(2, zero_stage=3), recipe="fp32")
    for result in shards:
        assert result["local_params"] * 4 == fsdp.weights  # fp32 weights, half each
        assert result["state_bytes"] == fsdp.optimizer_states
        for full, local in result["shapes"].values():
            assert local[0] * 2 == full[0] and local[1:] == full[1:]
    reference = single_process_weights(steps=3)
    for name, weight in reference.items():
        torch.testing.assert_close(shards[0]["weights"][name], weight, rtol=1e-5, atol=1e-6)


def test_the_loopback_interface_is_found():
    name = distributed.loopback_interface()
    assert name is None or name.startswith("lo")
    assert math.isfinite(distributed.THREADS_PER_RANK)
