"""Run a function on several processes that talk through ``torch.distributed`` (chapter 6).

:func:`run_on_ranks` starts ``world_size`` fresh Python processes (*ranks*) on this machine,
joins them into one gloo process group and calls the same module-level function in each, with
its rank; it returns what each rank returned, in rank order. This is real PyTorch
distributed training, the same library calls a GPU cluster makes, with the CPU's gloo backend
in place of NCCL:

* **Rendezvous through a file**, not a network port: the ranks find each other through a
  ``file://`` store in a fresh temporary folder, so two notebooks (or tests) running at once
  never collide on a port.
* **One thread per rank**, so two ranks on a two-core laptop do not fight over cores.
* **A timeout**, and **no orphans**: if any rank raises, the caller gets a ``RuntimeError``
  naming the rank and carrying its traceback; if the ranks run past ``timeout`` seconds, a
  ``TimeoutError``. Either way every rank process is ended before the call returns.

A function defined in a notebook cell lives in ``__main__``, which a freshly started process
cannot import; that is a ``ValueError`` before anything starts. The chapter's worked pieces
are therefore module-level functions here: :func:`collectives_demo`, :func:`ddp_gradients`,
:func:`zero1_state_bytes` and :func:`fsdp_shard_sizes`.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import os
import pickle
import shutil
import socket
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from course_utils.checks import int_at_least, positive_int, positive_number

#: Threads each rank may use (one core each on a two-core laptop).
THREADS_PER_RANK = 1
#: Seconds between two looks at the ranks while waiting for them.
_POLL_SECONDS = 0.05
#: Seconds a rank gets to end after SIGTERM before it is killed.
_GRACE_SECONDS = 2.0


def loopback_interface() -> str | None:
    """The name of this machine's loopback network interface (``lo`` on Linux, ``lo0`` on macOS).

    Gloo opens its connections on the interface named by ``GLOO_SOCKET_IFNAME``; pointing it
    at loopback keeps every byte the ranks exchange inside this machine.
    """
    with contextlib.suppress(OSError, AttributeError):
        for _, name in socket.if_nameindex():
            if name.startswith("lo"):
                return name
    return None


@contextlib.contextmanager
def _rank_environment() -> Iterator[None]:
    """Environment variables the rank processes start with (they copy ours when started)."""
    settings = {"OMP_NUM_THREADS": str(THREADS_PER_RANK), "MKL_NUM_THREADS": "1"}
    interface = loopback_interface()
    if interface is not None and "GLOO_SOCKET_IFNAME" not in os.environ:
        settings["GLOO_SOCKET_IFNAME"] = interface
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _rank_main(
    fn: Callable[..., Any],
    rank: int,
    world_size: int,
    init_file: str,
    result_file: str,
    timeout: float,
    kwargs: dict[str, Any],
) -> None:
    """What each rank process runs: join the group, call ``fn``, write its result or error.

    The rank's own output (warnings, prints) goes to a log file beside its result, not into
    the caller's notebook; the caller shows its end when the rank fails.
    """
    with open(f"{result_file}.log", "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    torch.set_num_threads(THREADS_PER_RANK)
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"file://{init_file}",
            rank=rank,
            world_size=world_size,
            timeout=datetime.timedelta(seconds=timeout),
        )
        try:
            _write_result(result_file, ("ok", fn(rank, world_size, **kwargs)))
        except BaseException:
            # Written before the group goes down: the other ranks fail only after this one.
            _write_result(result_file, ("error", traceback.format_exc()))
        finally:
            dist.destroy_process_group()
    except BaseException:  # report everything, even SystemExit, to the caller
        if not os.path.exists(result_file):
            _write_result(result_file, ("error", traceback.format_exc()))


def _write_result(result_file: str, outcome: tuple[str, Any]) -> None:
    temporary = f"{result_file}.tmp"
    with open(temporary, "wb") as file:
        pickle.dump(outcome, file)
    os.replace(temporary, result_file)  # the caller never reads a half-written result


def _check_importable(fn: Callable[..., Any]) -> None:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", "")
    if module == "__main__" or module is None:
        raise ValueError(
            f"fn must be a function defined in an importable module, not in a notebook cell or "
            f"script (__main__): a freshly started rank process cannot find {name or fn!r}. Put "
            "it in a .py file and import it (the chapter's functions live in "
            "course_utils.distributed)."
        )
    if "<locals>" in name or "<lambda>" in name:
        raise ValueError(
            f"fn must be a module-level function, got {name!r} (lambdas and nested functions "
            "cannot be sent to another process)"
        )


def _end(processes: list[multiprocessing.process.BaseProcess]) -> None:
    """Terminate, then kill, every process still alive, and reap them all."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + _GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join()
    for process in processes:
        with contextlib.suppress(ValueError):
            process.close()


def _log_tail(result_file: Path, characters: int = 2000) -> str:
    log = Path(f"{result_file}.log")
    text = log.read_text(errors="replace").strip() if log.exists() else ""
    return f"\n--- the rank's output (last lines) ---\n{text[-characters:]}" if text else ""


def run_on_ranks(
    fn: Callable[..., Any], world_size: int = 2, *, timeout: float = 60.0, **kwargs: Any
) -> list[Any]:
    """Call ``fn(rank, world_size, **kwargs)`` on ``world_size`` gloo ranks; results by rank.

    ``fn`` must be a module-level function of an importable module, and its arguments and
    result must be picklable. Raises ``RuntimeError`` naming the first rank that failed, with
    its traceback, ``TimeoutError`` when ranks are still running after ``timeout`` seconds;
    in every case all rank processes have ended when this returns (chapter 6).
    """
    if not callable(fn):
        raise ValueError(f"fn must be a function, got {type(fn).__name__}")
    _check_importable(fn)
    world_size = positive_int("world_size", world_size)
    timeout = positive_number("timeout", timeout)
    context = multiprocessing.get_context("spawn")
    folder = Path(tempfile.mkdtemp(prefix="ranks-"))
    results = [folder / f"rank{rank}.pkl" for rank in range(world_size)]
    processes: list[multiprocessing.process.BaseProcess] = []
    try:
        with _rank_environment():
            for rank in range(world_size):
                process = context.Process(
                    target=_rank_main,
                    args=(fn, rank, world_size, str(folder / "rendezvous"), str(results[rank]))
                    + (timeout, kwargs),
                    name=f"rank{rank}",
                    daemon=True,
                )
                process.start()
                processes.append(process)
        deadline = time.monotonic() + timeout
        outcomes: dict[int, tuple[str, Any]] = {}
        failed_at: dict[int, int] = {}  # rank -> when its failure was written (ns)
        while len(outcomes) < world_size:
            for rank, process in enumerate(processes):
                if rank in outcomes:
                    continue
                if results[rank].exists():
                    with open(results[rank], "rb") as file:
                        outcomes[rank] = pickle.load(file)
                    written = results[rank].stat().st_mtime_ns
                elif process.exitcode is not None:
                    process.join(0.5)  # a result written just before exiting
                    if not results[rank].exists():
                        outcomes[rank] = (
                            "error",
                            f"the process exited with code {process.exitcode}",
                        )
                        written = time.time_ns()
                if rank in outcomes and outcomes[rank][0] == "error":
                    failed_at[rank] = written
            if failed_at:
                # When one rank fails, the others fail too, waiting for it: name the first.
                first = min(failed_at, key=failed_at.get)
                raise RuntimeError(
                    f"rank {first} of {world_size} failed:\n{outcomes[first][1]}"
                    + _log_tail(results[first])
                )
            if len(outcomes) < world_size:
                if time.monotonic() > deadline:
                    late = [rank for rank in range(world_size) if rank not in outcomes]
                    raise TimeoutError(
                        f"ranks {late} of {world_size} were still running after {timeout:g} s; "
                        "all rank processes were ended"
                    )
                time.sleep(_POLL_SECONDS)
        return [outcomes[rank][1] for rank in range(world_size)]
    finally:
        _end(processes)
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# The chapter's worked pieces: each runs on every rank of run_on_ranks
# ---------------------------------------------------------------------------------------


# The names of PyTorch 2.13; older releases (Colab's, for instance) call them *_tensor.
_reduce_scatter = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor
_all_gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor


def collectives_demo(rank: int, world_size: int, numel: int = 1024) -> dict[str, Any]:
    """All-reduce, and the same result as reduce-scatter followed by all-gather (chapter 6).

    Each rank starts from its own vector (rank + 1 + 0.001·index, ``numel`` entries, float32).
    Returns the all-reduced sum, the reduce-scatter-then-all-gather result, this rank's shard
    after the reduce-scatter, and the bytes a ring algorithm makes each rank send for each:
    2·(N−1)/N of the vector for all-reduce, (N−1)/N for each half (Patarasuk and Yuan 2009).
    """
    numel = positive_int("numel", numel)
    if numel % world_size:
        raise ValueError(f"numel must be a multiple of world_size={world_size}, got {numel}")
    mine = rank + 1 + 0.001 * torch.arange(numel, dtype=torch.float32)
    summed = mine.clone()
    dist.all_reduce(summed, op=dist.ReduceOp.SUM)
    shard = torch.empty(numel // world_size)
    _reduce_scatter(shard, mine.clone(), op=dist.ReduceOp.SUM)
    gathered = torch.empty(numel)
    _all_gather(gathered, shard)
    vector_bytes = mine.numel() * mine.element_size()
    return {
        "all_reduce": summed,
        "reduce_scatter_all_gather": gathered,
        "shard": shard,
        "vector_bytes": vector_bytes,
        "ring_all_reduce_bytes_sent": 2 * (world_size - 1) * vector_bytes // world_size,
        "ring_reduce_scatter_bytes_sent": (world_size - 1) * vector_bytes // world_size,
    }


def _tiny_model(seed: int = 0) -> torch.nn.Module:
    """Four 64×64 linear layers with ReLUs between: the chapter's stand-in network."""
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for index in range(4):
        layers.append(torch.nn.Linear(64, 64))
        if index < 3:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _tiny_batch(batch_size: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch_size, 64, generator=generator)
    targets = torch.randn(batch_size, 64, generator=generator)
    return inputs, targets


def full_batch_gradients(batch_size: int = 8) -> dict[str, torch.Tensor]:
    """Gradients of the stand-in network's mean squared error on the whole batch, one process."""
    model = _tiny_model()
    inputs, targets = _tiny_batch(batch_size)
    torch.nn.functional.mse_loss(model(inputs), targets).backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def ddp_gradients(rank: int, world_size: int, batch_size: int = 8) -> dict[str, torch.Tensor]:
    """Gradients after DistributedDataParallel's backward, each rank on its slice (chapter 6).

    Every rank builds the same network (same seed), takes its ``batch_size / world_size``
    examples of the batch and runs forward and backward; DDP all-reduces the gradients and
    divides by the world size, so each rank ends with the full-batch gradient
    (:func:`full_batch_gradients`).
    """
    batch_size = positive_int("batch_size", batch_size)
    if batch_size % world_size:
        raise ValueError(f"batch_size must be a multiple of world_size={world_size}")
    model = torch.nn.parallel.DistributedDataParallel(_tiny_model())
    inputs, targets = _tiny_batch(batch_size)
    per_rank = batch_size // world_size
    mine = slice(rank * per_rank, (rank + 1) * per_rank)
    torch.nn.functional.mse_loss(model(inputs[mine]), targets[mine]).backward()
    return {name: p.grad.clone() for name, p in model.module.named_parameters()}


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Bytes of the per-parameter state tensors an optimizer holds (Adam's two moments).

    The 4-byte step counter Adam keeps per parameter tensor is left out: it is one number per
    tensor, not per parameter.
    """
    total = 0
    for state in optimizer.state.values():
        for name, value in state.items():
            if isinstance(value, torch.Tensor) and name != "step":
                value = value.to_local() if hasattr(value, "to_local") else value  # a DTensor
                total += value.numel() * value.element_size()
    return total


def zero1_state_bytes(rank: int, world_size: int, steps: int = 1) -> dict[str, int]:
    """AdamW state bytes on this rank with ZeRO stage 1 (ZeroRedundancyOptimizer) (chapter 6).

    The stand-in network is trained for ``steps`` steps with
    ``torch.distributed.optim.ZeroRedundancyOptimizer`` wrapping fp32 AdamW: each rank keeps
    the moments of its share of the parameters only. Returns this rank's state bytes, the
    bytes a plain AdamW holds (all parameters), and the parameter count.
    """
    from torch.distributed.optim import ZeroRedundancyOptimizer

    steps = positive_int("steps", steps)
    model = torch.nn.parallel.DistributedDataParallel(_tiny_model())
    optimizer = ZeroRedundancyOptimizer(
        model.parameters(), optimizer_class=torch.optim.AdamW, lr=1e-3
    )
    inputs, targets = _tiny_batch(8)
    for _ in range(steps):
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        optimizer.zero_grad()
    n_params = sum(p.numel() for p in model.parameters())
    return {
        "state_bytes": optimizer_state_bytes(optimizer.optim),
        "unsharded_state_bytes": 8 * n_params,  # two fp32 moments per parameter
        "n_params": n_params,
    }


def fsdp_shard_sizes(rank: int, world_size: int, steps: int = 3) -> dict[str, Any]:
    """FSDP2 (``fully_shard``) parameter shards on this rank, and training unchanged (chapter 6).

    Each linear layer of the stand-in network, then the whole network, is wrapped with
    ``torch.distributed.fsdp.fully_shard`` on a CPU device mesh; every parameter becomes a
    ``DTensor`` of which this rank holds one slice along dimension 0. After ``steps`` AdamW
    steps on the full batch the gathered weights are returned, to compare with training in one
    process (:func:`single_process_weights`).
    """
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    steps = positive_int("steps", steps)
    mesh = init_device_mesh("cpu", (world_size,))
    model = _tiny_model()
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    shapes = {
        name: (tuple(p.shape), tuple(p.to_local().shape)) for name, p in model.named_parameters()
    }
    local = sum(p.to_local().numel() for p in model.parameters())
    full = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    inputs, targets = _tiny_batch(8)
    per_rank = 8 // world_size
    mine = slice(rank * per_rank, (rank + 1) * per_rank)
    for _ in range(steps):
        torch.nn.functional.mse_loss(model(inputs[mine]), targets[mine]).backward()
        optimizer.step()
        optimizer.zero_grad()
    return {
        "shapes": shapes,  # name -> (full shape, this rank's shard shape)
        "local_params": local,
        "full_params": full,
        "state_bytes": optimizer_state_bytes(optimizer),
        "weights": {name: p.full_tensor().detach() for name, p in model.named_parameters()},
    }


def single_process_weights(steps: int = 3) -> dict[str, torch.Tensor]:
    """The stand-in network after ``steps`` AdamW steps on the full batch, in one process."""
    model = _tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    inputs, targets = _tiny_batch(8)
    for _ in range(steps):
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        optimizer.zero_grad()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


# Helpers the tests use to prove run_on_ranks cleans up (module level, so ranks can import them).


def echo_rank(rank: int, world_size: int, value: int = 0) -> dict[str, int]:
    """Each rank's rank, process id, an all-reduced sum, and the start-up hook it loaded.

    The smallest useful job; ``sitecustomize`` shows that rank processes start with the
    caller's environment (the test suite's network guard among it).
    """
    import sys

    total = torch.tensor([float(rank + value)])
    dist.all_reduce(total)
    return {
        "rank": rank,
        "world_size": world_size,
        "pid": os.getpid(),
        "sum": int(total.item()),
        "sitecustomize": getattr(sys.modules.get("sitecustomize"), "__file__", None),
    }


def fail_on_rank(rank: int, world_size: int, failing_rank: int = 1) -> int:
    """Raise on ``failing_rank``; the other ranks wait at a barrier it never reaches."""
    int_at_least("failing_rank", failing_rank, 0)
    if rank == failing_rank:
        raise ArithmeticError(f"rank {rank} gives up on purpose")
    dist.barrier()
    return rank


def hang_on_rank(rank: int, world_size: int, hanging_rank: int = 1) -> int:
    """``hanging_rank`` sleeps far longer than any test waits; the others return at once."""
    if rank == hanging_rank:
        time.sleep(3600)
    return rank


def sharded_states(rank: int, world_size: int, steps: int = 3) -> dict[str, dict[str, Any]]:
    """:func:`zero1_state_bytes` and :func:`fsdp_shard_sizes` in one launch (chapter 6)."""
    return {
        "zero1": zero1_state_bytes(rank, world_size, steps=1),
        "fsdp": fsdp_shard_sizes(rank, world_size, steps=steps),
    }
