"""Training-step time of chapter 7's dense model and its MoE twin, and the two dispatches.

    python bench/bench_moe_step.py

One thread (the course's reproducible setting). Chapter 7's two models (2 layers of width 64;
a SwiGLU MLP 256 wide, or 8 experts 128 wide with top-2 routing) take alternating training
steps on the same batches, so that machine noise hits both alike; the table gives the median
milliseconds per step and the median of the paired ratios. Then the token-by-token and the
sorted dispatch of one MoE layer on 1,024 tokens, the same way.
"""

from __future__ import annotations

import statistics
import time

import torch

from course_utils import CharTokenizer, DecoderLM, ModelConfig, TrainingConfig, training_text
from course_utils.moe import MoEFeedForward, dispatch_loop, dispatch_sorted, route
from course_utils.training import Trainer, split_tokens


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def paired(first, second, repeats: int) -> tuple[float, float, float]:
    """Median seconds of each and the median of the paired ratios second / first."""
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(first))
        b.append(timed(second))
    ratios = [y / x for x, y in zip(a, b, strict=True)]
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def main() -> None:
    torch.set_num_threads(1)
    text = training_text()
    tokenizer = CharTokenizer.train(text)
    train_ids, val_ids = split_tokens(tokenizer.encode(text), validation_fraction=0.1)
    shape = dict(vocab_size=tokenizer.vocab_size, d_model=64, n_layers=2, n_heads=4,
                 max_seq_len=64, tie_embeddings=True)  # fmt: skip
    dense = ModelConfig(**shape, d_ff=256)
    moe = ModelConfig(**shape, d_ff=256, n_experts=8, experts_per_token=2, d_expert=128)
    settings = TrainingConfig(steps=10_000, batch_size=16, context_len=64)
    trainers = [
        Trainer(DecoderLM(c), train_ids, val_ids, settings, device="cpu") for c in (dense, moe)
    ]
    for trainer in trainers:  # warm up
        trainer.train_step()
    d, m, ratio = paired(trainers[0].train_step, trainers[1].train_step, repeats=40)
    print("training step (batch 16 x 64 characters), median of 40, one thread")
    print(f"{'dense':<28}{d * 1e3:>8.1f} ms")
    print(f"{'MoE, 8 experts, top-2':<28}{m * 1e3:>8.1f} ms   ({ratio:.2f}x dense, paired median)")

    torch.manual_seed(0)
    layer = MoEFeedForward(moe)
    x = torch.randn(1024, 64)
    with torch.no_grad():
        weights, indices = route(layer.router(x), 2)
        sort, loop, ratio = paired(
            lambda: dispatch_sorted(x, weights, indices, layer.experts),
            lambda: dispatch_loop(x, weights, indices, layer.experts),
            repeats=5,
        )
    print("\ndispatch of 1,024 tokens to 8 experts (top-2), forward only, median of 5")
    print(f"{'sorted by expert':<28}{sort * 1e3:>8.2f} ms")
    print(f"{'token by token':<28}{loop * 1e3:>8.1f} ms   ({ratio:.0f}x slower, paired median)")


if __name__ == "__main__":
    main()
