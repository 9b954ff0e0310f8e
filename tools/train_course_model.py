"""Train the course's shipped model and record how it was made.

Runs :func:`course_utils.course_model.train_course_model` (chapter 5's recipe on chapter 4's
corpus, on one CPU thread, a few minutes) and writes two files next to each other:

* ``course_utils/data/course_model.pt``: the checkpoint (weights, config and tokenizer; read
  with ``torch.load(..., weights_only=True)``);
* ``course_utils/data/course_model.json``: its provenance: date, CPU, Python and torch
  versions, seed, model and training settings, the command, wall and CPU time, the first training
  losses, every validation loss and the final one, and the checkpoint's SHA-256.

    python tools/train_course_model.py

Rerunning it retrains the model from scratch; on the same CPU and torch version it gives the
same weights, elsewhere the same first losses up to float rounding (``tests/test_course_model.py``
checks them).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import sys
import time

import torch

from course_utils.checkpoints import save_checkpoint
from course_utils.course_model import (
    CHECKPOINT,
    MODEL_SETTINGS,
    PROVENANCE,
    TRAINING,
    VALIDATION_FRACTION,
    train_course_model,
    validation_loss,
)
from course_utils.environment import cpu_name
from course_utils.parameters import estimate_parameters

FIRST_LOSSES = 20  # training losses recorded step by step, for the reproduction test


def main() -> None:
    began, cpu_began = time.perf_counter(), time.process_time()
    model, tokenizer, history = train_course_model()
    seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - cpu_began
    save_checkpoint(CHECKPOINT, model, tokenizer)
    record = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python tools/train_course_model.py",
        "cpu": cpu_name(),
        "threads": 1,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "seed": TRAINING.seed,
        "corpus": "course_utils.pipeline.training_text() (chapter 4), one token per character",
        "validation_fraction": VALIDATION_FRACTION,
        "model": MODEL_SETTINGS | {"vocab_size": tokenizer.vocab_size},
        "parameters": estimate_parameters(model.config),
        "training": TRAINING.to_dict(),
        "steps": len(history.train_loss),
        "tokens": TRAINING.tokens,
        "wall_seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "first_train_losses": history.train_loss[:FIRST_LOSSES],
        "eval_steps": history.eval_steps,
        "val_loss": history.val_loss,
        "final_val_loss": validation_loss(model),
        "checkpoint_bytes": CHECKPOINT.stat().st_size,
        "checkpoint_sha256": hashlib.sha256(CHECKPOINT.read_bytes()).hexdigest(),
    }
    PROVENANCE.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(
        f"{record['parameters']:,} parameters, {record['steps']} steps in {seconds:.0f} s "
        f"({cpu_seconds:.0f} s of CPU); "
        f"validation loss {record['final_val_loss']:.4f} nats; "
        f"{record['checkpoint_bytes'] / 1e6:.2f} MB -> {CHECKPOINT}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
