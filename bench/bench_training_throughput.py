"""Training throughput of the course's DecoderLM against Hugging Face's LlamaForCausalLM.

Both models get the same config and the same weights (the course model loads the Llama state
dict), the same batch, the same loss (mean next-token cross-entropy) and the same optimizer
(torch's AdamW, foreach implementation, identical settings), in one process with the same
number of threads. A training step is forward + backward + AdamW step. The two alternate: each
repetition times a few steps of one model and then of the other (which goes first alternates),
and the ratio of the two times is one paired measurement, so a slow moment of the machine
slows both. The table reports medians and the spread of the paired ratios.

Training memory is measured in a fresh child process per model, since one process cannot
attribute memory to one of two models: the growth of its peak resident memory over five training
steps, from just before the first (weights built, optimizer created but still empty). It counts
gradients, AdamW's two moment buffers, the activations saved for the backward pass and whatever
else PyTorch allocates.

    python bench/bench_training_throughput.py                 # the issue's config, 1 thread
    python bench/bench_training_throughput.py --threads 2 --repeats 30
    python bench/bench_training_throughput.py --profile       # where the time goes, per op
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers

from course_utils.config import ModelConfig
from course_utils.hf_llama import to_hf_llama_config
from course_utils.model import DecoderLM, next_token_loss

# The shapes: 4 layers, 4 heads, width 128, a 65-character vocabulary, batch 12 x 64,
# tied embeddings. The SwiGLU width is ModelConfig's default for d_model 128 (512).
CONFIG = ModelConfig(
    vocab_size=65, d_model=128, n_layers=4, n_heads=4, max_seq_len=64, tie_embeddings=True
)
BATCH, CONTEXT = 12, 64


def build_models(config: ModelConfig) -> tuple[DecoderLM, torch.nn.Module]:
    """The two models, with the same weights; checks that their logits agree."""
    hf_config = transformers.LlamaConfig(**to_hf_llama_config(config), attn_implementation="sdpa")
    torch.manual_seed(0)
    reference = transformers.LlamaForCausalLM(hf_config)
    ours = DecoderLM(config)
    ours.load_hf_llama_state_dict(reference.state_dict())
    idx = batch(config)[:, :-1]
    with torch.no_grad():
        gap = (ours(idx) - reference(idx, use_cache=False).logits).abs().max().item()
    if gap > 1e-5:
        raise RuntimeError(f"the two models disagree by {gap:.2g}: not the same computation")
    return ours, reference


def batch(config: ModelConfig) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, config.vocab_size, (BATCH, CONTEXT + 1), generator=generator)


def ours_loss(model: DecoderLM, idx: torch.Tensor) -> torch.Tensor:
    return next_token_loss(model, idx)


def hf_loss(model: torch.nn.Module, idx: torch.Tensor) -> torch.Tensor:
    logits = model(idx[:, :-1], use_cache=False).logits
    return F.cross_entropy(logits.flatten(0, 1), idx[:, 1:].flatten())


def optimizer_for(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1, foreach=True
    )


def train_step(model, loss_fn, optimizer, idx) -> None:
    loss_fn(model, idx).backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def forward_step(model, loss_fn, idx) -> None:
    with torch.no_grad():
        loss_fn(model, idx)


def paired_times(
    steps: dict[str, Callable[[], None]], repeats: int, per_repeat: int
) -> dict[str, list[float]]:
    """Seconds per step of each callable, measured alternately, ``repeats`` times."""
    names = list(steps)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        order = names if repeat % 2 == 0 else names[::-1]
        for name in order:
            began = time.perf_counter()
            for _ in range(per_repeat):
                steps[name]()
            times[name].append((time.perf_counter() - began) / per_repeat)
    return times


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, median, q3


def peak_memory_mb(which: str, threads: int) -> float:
    """Peak resident memory growth of a child process that trains one model (MB)."""
    child = subprocess.run(
        [sys.executable, __file__, "--memory-child", which, "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(child.stdout.strip().splitlines()[-1])["megabytes"]


def memory_child(which: str, steps: int = 5) -> None:
    """Build only one model (the weights do not matter here), then train it a few steps."""
    if which == "ours":
        model, loss_fn = DecoderLM(CONFIG), ours_loss
    else:
        hf_config = transformers.LlamaConfig(
            **to_hf_llama_config(CONFIG), attn_implementation="sdpa"
        )
        model, loss_fn = transformers.LlamaForCausalLM(hf_config), hf_loss
    optimizer = optimizer_for(model)
    idx = batch(CONFIG)
    before = resident_kib("VmRSS")
    if before is not None and reset_peak_resident():
        for _ in range(steps):
            train_step(model, loss_fn, optimizer, idx)
        grown = (resident_kib("VmHWM") - before) * 1024
    else:  # elsewhere than Linux: the growth of the lifetime peak (less exact)
        unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(steps):
            train_step(model, loss_fn, optimizer, idx)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) * unit
    print(json.dumps({"megabytes": grown / 1e6}))


def resident_kib(field: str) -> int | None:
    """VmRSS (resident now) or VmHWM (peak resident) of this process in KiB, on Linux."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def reset_peak_resident() -> bool:
    """Reset the peak resident memory (VmHWM) to the current one; Linux 4.0 or newer."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def profile(ours, reference, idx) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for name, model, loss_fn in (("DecoderLM", ours, ours_loss), ("Llama", reference, hf_loss)):
        optimizer = optimizer_for(model)
        for _ in range(3):
            train_step(model, loss_fn, optimizer, idx)
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(10):
                train_step(model, loss_fn, optimizer, idx)
        events = prof.key_averages()
        total = sum(event.self_cpu_time_total for event in events) / 10 / 1e3
        matmul = sum(
            event.self_cpu_time_total for event in events if event.key in ("aten::mm", "aten::bmm")
        )
        operators = sum(event.count for event in events if event.key.startswith("aten::")) / 10
        print(
            f"\n{name}: {total:.1f} ms per step (profiled), matrix multiplies "
            f"{matmul / 10 / 1e3:.1f} ms, {operators:.0f} aten operators per step"
        )
        print(events.table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=60))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="PyTorch CPU threads (both)")
    parser.add_argument("--repeats", type=int, default=20, help="paired repetitions")
    parser.add_argument("--steps", type=int, default=5, help="steps per model per repetition")
    parser.add_argument("--profile", action="store_true", help="print per-operator profiles")
    parser.add_argument("--memory-child", choices=("ours", "hf"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0

    ours, reference = build_models(CONFIG)
    idx = batch(CONFIG)
    if args.profile:
        profile(ours, reference, idx)
        return 0
    optimizers = {"ours": optimizer_for(ours), "hf": optimizer_for(reference)}
    training = {
        "ours": lambda: train_step(ours, ours_loss, optimizers["ours"], idx),
        "hf": lambda: train_step(reference, hf_loss, optimizers["hf"], idx),
    }
    forward = {
        "ours": lambda: forward_step(ours, ours_loss, idx),
        "hf": lambda: forward_step(reference, hf_loss, idx),
    }
    for steps in (training, forward):  # warm up caches, allocator and kernels
        paired_times(steps, repeats=2, per_repeat=args.steps)
    train_times = paired_times(training, args.repeats, args.steps)
    ours.eval(), reference.eval()
    forward_times = paired_times(forward, args.repeats, args.steps)
    memory = {which: peak_memory_mb(which, args.threads) for which in ("ours", "hf")}

    tokens = BATCH * CONTEXT
    print(
        f"DecoderLM vs transformers {transformers.__version__} LlamaForCausalLM, "
        f"torch {torch.__version__}, {args.threads} thread(s)"
    )
    print(
        f"config: {CONFIG.n_layers} layers, {CONFIG.n_heads} heads, width {CONFIG.d_model}, "
        f"SwiGLU {CONFIG.d_ff}, vocabulary {CONFIG.vocab_size}, tied embeddings; "
        f"batch {BATCH} x {CONTEXT}; AdamW (foreach) for both"
    )
    print(
        f"{args.repeats} paired repetitions of {args.steps} steps each; training memory: growth of"
    )
    print("peak resident memory over 5 training steps, in a fresh process per model\n")
    header = (
        f"{'model':<22} {'train tokens/s':>15} {'forward tokens/s':>17} {'training memory':>16}"
    )
    print(header)
    print("-" * len(header))
    for which, label in (("ours", "course DecoderLM"), ("hf", "Llama (transformers)")):
        train_rate = tokens / statistics.median(train_times[which])
        forward_rate = tokens / statistics.median(forward_times[which])
        print(f"{label:<22} {train_rate:>15,.0f} {forward_rate:>17,.0f} {memory[which]:>13.1f} MB")
    print()
    for what, times in (("training", train_times), ("forward only", forward_times)):
        ratios = [hf / ours for hf, ours in zip(times["hf"], times["ours"], strict=True)]
        q1, median, q3 = quartiles(ratios)
        print(
            f"speed-up, {what:<12}: median {median:.3f}x  (paired ratios, quartiles "
            f"{q1:.3f}-{q3:.3f}, min {min(ratios):.3f}, max {max(ratios):.3f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
