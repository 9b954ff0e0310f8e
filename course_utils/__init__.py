"""course_utils: the tested implementations behind the LLM Foundations notebooks.

Importing the package has no side effects: it seeds nothing, prints nothing and
downloads nothing. Each chapter's public names are re-exported here.
"""

from course_utils.compute import training_flops, training_run
from course_utils.config import ModelConfig
from course_utils.course import CHAPTERS, chapter_table
from course_utils.environment import (
    best_device,
    environment_report,
    set_seed,
    setup_notebook,
)
from course_utils.exercises import check
from course_utils.flops import forward_flops_per_token
from course_utils.generation import generate, kv_cache_bytes
from course_utils.layers import RMSNorm, causal_mask
from course_utils.model import DecoderLM, LLMBlock
from course_utils.parameters import count_parameters, estimate_parameters, parameter_breakdown

__version__ = "0.1.0"

__all__ = [
    # chapter 0: the course itself
    "CHAPTERS",
    "best_device",
    "chapter_table",
    "check",
    "environment_report",
    "set_seed",
    "setup_notebook",
    # chapter 1: what makes a model large
    "ModelConfig",
    "count_parameters",
    "estimate_parameters",
    "parameter_breakdown",
    "training_flops",
    "training_run",
    # chapter 2: scaling laws
    # chapter 3: the decoder-only transformer
    "DecoderLM",
    "LLMBlock",
    "RMSNorm",
    "causal_mask",
    "forward_flops_per_token",
    "generate",
    "kv_cache_bytes",
    # chapter 4: training data
    # chapter 5: training a tiny LLM
]
