"""Memory and communication per device for every way of splitting training (chapter 6).

Chapter 1 counted what training a model needs in total: weights, gradients, optimizer states
(16 bytes per parameter with mixed-precision Adam) and activations. Spread over many devices,
each one holds a share, and the *layout* decides which share:

* **Data parallelism** (degree ``data_parallel``, N_d): every device runs the whole model on
  its own slice of the batch. ZeRO (Rajbhandari et al. 2020, section 5 and Figure 1) then
  partitions the model states over the N_d devices: stage 1 the optimizer states, stage 2 also
  the gradients, stage 3 also the weights (PyTorch's FSDP is stage 3).
* **Tensor parallelism** (degree ``tensor_parallel``, t): every weight matrix is split across t
  devices (Shoeybi et al. 2019, Megatron-LM, section 3: the first matrix of the MLP and Q, K, V
  by columns, the second matrix and the attention output by rows), and with sequence
  parallelism the activations too (Korthikanti et al. 2022, section 4.2.2).
* **Pipeline parallelism** (degree ``pipeline_parallel``, p): the layers are cut into p stages
  on p devices; micro-batches flow through them (Huang et al. 2019, GPipe; Narayanan et al.
  2021, 1F1B schedule).
* **Activation checkpointing** keeps only each layer's input and recomputes the rest during the
  backward pass (Chen et al. 2016; Korthikanti et al. 2022, section 5).

:func:`device_memory` gives the bytes on the busiest device of a layout, :func:`step_communication`
the bytes each device sends per step and the time they take on a link, and :func:`plan_layouts`
lists the layouts that fit a number of GPUs (the chapter's planner widget).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from course_utils.checks import (
    choice,
    instance_of,
    int_at_least,
    number_in_range,
    positive_int,
    positive_number,
)
from course_utils.config import ModelConfig
from course_utils.memory import (
    ADAM_BYTES_PER_PARAMETER,
    LOGIT_BYTES,
    TrainingMemory,
    activation_bytes_per_layer,
)
from course_utils.parameters import parameter_breakdown

#: The precision recipes of chapter 1's memory model: bytes per parameter of
#: (weights, gradients, optimizer states). "mixed": ZeRO's K = 12 (section 3.1).
RECIPES: Mapping[str, tuple[float, float, float]] = ADAM_BYTES_PER_PARAMETER

ZERO_STAGES = (0, 1, 2, 3)

#: Two models too large for one device, beside chapter 1's Llama-2-7B (``PRESETS``).
LARGE_MODELS: Mapping[str, ModelConfig] = MappingProxyType(
    {
        # Touvron et al. 2023 (Llama 2), Table 1 (70B, grouped-query attention, 4k context);
        # shape from the Hugging Face config.json of meta-llama/Llama-2-70b-hf (hidden 8192,
        # 80 layers, 64 heads, 8 key/value heads, intermediate 28672, vocabulary 32000).
        "llama-2-70b": ModelConfig(
            vocab_size=32_000,
            d_model=8192,
            n_layers=80,
            n_heads=64,
            n_kv_heads=8,
            d_ff=28_672,
            max_seq_len=4096,
        ),
        # Dubey et al. 2024 (The Llama 3 Herd of Models), Table 3: 126 layers, model dimension
        # 16,384, FFN dimension 53,248, 128 attention heads, 8 key/value heads, vocabulary
        # "128,000" (the released tokenizer has 128,256 tokens); pre-trained on 8,192-token
        # sequences (Table 4).
        "llama-3-405b": ModelConfig(
            vocab_size=128_256,
            d_model=16_384,
            n_layers=126,
            n_heads=128,
            n_kv_heads=8,
            d_ff=53_248,
            max_seq_len=8192,
            rope_theta=500_000.0,
        ),
    }
)


@dataclass(frozen=True)
class Layout:
    """How training is split: ``n_devices`` = data × tensor × pipeline parallel degrees.

    ``zero_stage`` 0 is plain data parallelism (DistributedDataParallel), 1 shards the
    optimizer states, 2 also the gradients, 3 also the weights (= FSDP) (chapter 6).
    """

    data_parallel: int = 1
    zero_stage: int = 0
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    activation_checkpointing: bool = False

    def __post_init__(self) -> None:
        for name in ("data_parallel", "tensor_parallel", "pipeline_parallel"):
            positive_int(name, getattr(self, name))
        choice("zero_stage", self.zero_stage, ZERO_STAGES)
        choice("activation_checkpointing", self.activation_checkpointing, (False, True))

    @property
    def n_devices(self) -> int:
        return self.data_parallel * self.tensor_parallel * self.pipeline_parallel

    def describe(self) -> str:
        """A short name, e.g. ``"DP 64 (ZeRO-3) × TP 8 × PP 16"``."""
        sharding = {0: "", 1: " (ZeRO-1)", 2: " (ZeRO-2)", 3: " (ZeRO-3/FSDP)"}[self.zero_stage]
        parts = [f"DP {self.data_parallel}{sharding}"]
        if self.tensor_parallel > 1:
            parts.append(f"TP {self.tensor_parallel}")
        if self.pipeline_parallel > 1:
            parts.append(f"PP {self.pipeline_parallel}")
        text = " × ".join(parts)
        return text + (" + checkpointing" if self.activation_checkpointing else "")


def _check_config(model: ModelConfig | int) -> None:
    if not isinstance(model, ModelConfig) and (
        isinstance(model, bool) or not isinstance(model, int) or model <= 0
    ):
        raise ValueError(f"model must be a ModelConfig or a positive int, got {model!r}")


def check_layout(model: ModelConfig | int, layout: Layout, n_devices: int | None = None) -> None:
    """A ``ValueError`` unless ``layout`` can split ``model`` (over ``n_devices``, if given).

    Tensor parallelism splits attention heads, key/value heads and the MLP's hidden width, so
    its degree must divide each; pipeline parallelism must give every stage whole layers:
    its degree divides ``n_layers``, or ``n_layers + 2`` when the embedding and the output layer
    each take one layer's place on the first and last stage (Llama 3 405B's 126 layers on 16
    stages: Dubey et al. 2024, section 3.3.2). A bare parameter count (no shape) allows data
    parallelism only.
    """
    _check_config(model)
    instance_of("layout", layout, Layout, "(e.g. Layout(data_parallel=8, zero_stage=3))")
    if n_devices is not None:
        n_devices = positive_int("n_devices", n_devices)
        if layout.n_devices != n_devices:
            raise ValueError(
                f"layout must use all n_devices={n_devices}: data_parallel × tensor_parallel × "
                f"pipeline_parallel = {layout.n_devices}"
            )
    if not isinstance(model, ModelConfig):
        if layout.tensor_parallel > 1 or layout.pipeline_parallel > 1:
            raise ValueError(
                "tensor_parallel and pipeline_parallel need the model's shape: give a "
                "ModelConfig, not a parameter count"
            )
        return
    t = layout.tensor_parallel
    for name, size in (
        ("n_heads", model.n_heads),
        ("n_kv_heads", model.n_kv_heads),
        ("d_ff", model.d_ff),
    ):
        if size % t:
            allowed = [d for d in range(1, model.n_kv_heads + 1) if _divides_shape(model, d)]
            raise ValueError(
                f"tensor_parallel={t} must divide {name}={size}; allowed degrees for this "
                f"model: {allowed}"
            )
    p = layout.pipeline_parallel
    if model.n_layers % p and (model.n_layers + 2) % p:
        allowed = [d for d in range(1, model.n_layers + 3) if _stage_split(model.n_layers, d)]
        raise ValueError(
            f"pipeline_parallel={p} must divide n_layers={model.n_layers} (or n_layers + 2); "
            f"allowed degrees for this model: {allowed}"
        )


def _divides_shape(config: ModelConfig, t: int) -> bool:
    return not (config.n_heads % t or config.n_kv_heads % t or config.d_ff % t)


def _stage_split(n_layers: int, p: int) -> list[int] | None:
    """Transformer layers on each of ``p`` stages, or None if they cannot be split evenly."""
    if n_layers % p == 0:
        return [n_layers // p] * p
    if p >= 2 and (n_layers + 2) % p == 0 and (n_layers + 2) // p >= 2:
        per_stage = (n_layers + 2) // p
        return [per_stage - 1] + [per_stage] * (p - 2) + [per_stage - 1]
    return None


@dataclass(frozen=True)
class _Stage:
    params: float  # parameters on one device of this stage (after tensor parallelism)
    layers: int
    first: bool
    last: bool


def _stages(model: ModelConfig | int, layout: Layout) -> list[_Stage]:
    if not isinstance(model, ModelConfig):
        return [_Stage(float(model), 0, True, True)]
    parts = parameter_breakdown(model)
    t, layers = layout.tensor_parallel, _stage_split(model.n_layers, layout.pipeline_parallel)
    norm_per_layer = 2 * model.d_model  # two norm gains per layer, replicated by TP
    per_layer = (parts["attention"] + parts["mlp"]) / model.n_layers / t + norm_per_layer
    embedding = (parts["token_embeddings"] + parts["position_embeddings"]) / t
    # The output layer: its own matrix, or (tied) a copy of the embedding on the last stage
    # when that is not the first (Shoeybi et al. 2019 keep and synchronise such a copy).
    head = parts["lm_head"] / t
    if model.tie_embeddings and layout.pipeline_parallel > 1:
        head = parts["token_embeddings"] / t
    final_norm = parts["norms"] - norm_per_layer * model.n_layers
    stages = []
    for index, count in enumerate(layers):
        first, last = index == 0, index == len(layers) - 1
        params = count * per_layer + (embedding if first else 0)
        params += (head + final_norm) if last else 0
        stages.append(_Stage(params, count, first, last))
    return stages


def device_memory(
    model: ModelConfig | int,
    layout: Layout | None = None,
    *,
    recipe: str = "mixed",
    seq_len: int | None = None,
    micro_batch_size: int = 1,
    micro_batches: int = 1,
    flash_attention: bool = True,
) -> TrainingMemory:
    """Bytes of weights, gradients, optimizer states and activations on the busiest device.

    ``model`` is a :class:`ModelConfig` (or, for model states alone, a parameter count Ψ: then
    activations are 0). ``recipe`` is ``"mixed"`` (2 + 2 + 12 bytes per parameter) or
    ``"fp32"`` (4 + 4 + 8). Each device of a data-parallel group holds, per parameter of its
    share, (ZeRO, Figure 1): stage 0 all of w + g + K; stage 1 w + g + K/N_d; stage 2
    w + (g + K)/N_d; stage 3 (w + g + K)/N_d. Tensor parallelism divides the matrices (norm
    gains stay replicated), pipeline parallelism gives each device its stage's layers.

    Activations: chapter 1's per-layer count for ``micro_batch_size`` sequences of
    ``seq_len`` tokens (default ``max_seq_len``), divided by t (sequence parallelism,
    Korthikanti et al. 2022, eq. 4). Under a 1F1B pipeline the first stage holds
    min(p, micro_batches) micro-batches at once (Narayanan et al. 2021, section 2.2); the last
    holds the logits (split over t). With checkpointing a layer keeps only its 16-bit input,
    plus one layer's full activations while it is recomputed. The reported device is the
    stage whose total is largest. Temporary buffers (FSDP's gathered layer, communication
    buckets) and fragmentation come on top (chapter 6).
    """
    _check_config(model)
    layout = Layout() if layout is None else layout
    check_layout(model, layout)
    w, g, k = RECIPES[choice("recipe", recipe, RECIPES)]
    micro_batch_size = positive_int("micro_batch_size", micro_batch_size)
    micro_batches = positive_int("micro_batches", micro_batches)
    if isinstance(model, ModelConfig):
        seq_len = model.max_seq_len if seq_len is None else positive_int("seq_len", seq_len)
    n_d, zero = layout.data_parallel, layout.zero_stage
    weight_share = 1 / n_d if zero >= 3 else 1.0
    gradient_share = 1 / n_d if zero >= 2 else 1.0
    state_share = 1 / n_d if zero >= 1 else 1.0
    best: TrainingMemory | None = None
    p, t = layout.pipeline_parallel, layout.tensor_parallel
    for index, stage in enumerate(_stages(model, layout)):
        activations = 0.0
        if isinstance(model, ModelConfig):
            full = activation_bytes_per_layer(
                model, micro_batch_size, seq_len, flash_attention=flash_attention
            )
            in_flight = min(p - index, micro_batches)
            tokens = micro_batch_size * seq_len
            if layout.activation_checkpointing:
                kept = in_flight * stage.layers * 2 * tokens * model.d_model + full
            else:
                kept = in_flight * stage.layers * full
            activations = kept / t
            if stage.last:
                activations += (
                    2 * 2 * tokens * model.d_model + LOGIT_BYTES * tokens * model.vocab_size
                ) / t
        memory = TrainingMemory(
            weights=w * stage.params * weight_share,
            gradients=g * stage.params * gradient_share,
            optimizer_states=k * stage.params * state_share,
            activations=activations,
        )
        if best is None or memory.total > best.total:
            best = memory
    return best


# ---------------------------------------------------------------------------------------
# Communication
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interconnect:
    """A link between accelerators: its published bandwidth and where it is published."""

    name: str
    bytes_per_second: float  # per GPU, each direction: what one device can send at once
    published: str  # the figure as the datasheet prints it
    source: str


#: Per-GPU, per-direction bandwidth of common links. NVLink figures are printed as the sum of
#: both directions, so a device sends at half of them; InfiniBand as the line rate of one port
#: (one port per GPU in NVIDIA's DGX systems), in gigabits.
INTERCONNECTS: Mapping[str, Interconnect] = MappingProxyType(
    {
        "NVLink 3 (A100)": Interconnect(
            "NVLink 3 (A100 SXM)",
            300e9,
            "600 GB/s",
            "NVIDIA A100 Tensor Core GPU datasheet: NVIDIA NVLink 600GB/s (third generation, 12 "
            "links; both directions together).",
        ),
        "NVLink 4 (H100)": Interconnect(
            "NVLink 4 (H100 SXM)",
            450e9,
            "900 GB/s",
            "NVIDIA H100 Tensor Core GPU datasheet: NVIDIA NVLink 900GB/s for H100 SXM (fourth "
            "generation, 18 links; both directions together).",
        ),
        "InfiniBand HDR": Interconnect(
            "InfiniBand HDR (ConnectX-6)",
            200e9 / 8,
            "200 Gb/s",
            "NVIDIA ConnectX-6 VPI adapter datasheet: up to 200Gb/s HDR InfiniBand per port.",
        ),
        "InfiniBand NDR": Interconnect(
            "InfiniBand NDR (ConnectX-7)",
            400e9 / 8,
            "400 Gb/s",
            "NVIDIA ConnectX-7 adapter datasheet and user manual: single-port NDR 400Gb/s "
            "InfiniBand.",
        ),
    }
)


def ring_all_reduce_bytes(message_bytes: float, n: int) -> float:
    """Bytes each of ``n`` devices sends to all-reduce ``message_bytes``: 2·(n−1)/n of it.

    A ring all-reduce is a reduce-scatter then an all-gather, each sending (n−1) chunks of
    1/n of the message (Patarasuk and Yuan 2009) (chapter 6).
    """
    message_bytes = float(message_bytes)
    if not math.isfinite(message_bytes) or message_bytes < 0:
        raise ValueError(f"message_bytes must be a finite number >= 0, got {message_bytes!r}")
    n = positive_int("n", n)
    return 2 * (n - 1) / n * message_bytes


def ring_gather_bytes(message_bytes: float, n: int) -> float:
    """Bytes each device sends for one reduce-scatter or one all-gather: (n−1)/n of it."""
    return ring_all_reduce_bytes(message_bytes, n) / 2


@dataclass(frozen=True)
class StepCommunication:
    """Bytes one device sends in one training step, by kind of parallelism (chapter 6)."""

    data_parallel: float
    tensor_parallel: float
    pipeline_parallel: float

    @property
    def total(self) -> float:
        return self.data_parallel + self.tensor_parallel + self.pipeline_parallel

    def seconds(self, fast_link: Interconnect, slow_link: Interconnect) -> float:
        """Time to send it all: tensor parallelism on ``fast_link`` (inside a server),
        data and pipeline traffic on ``slow_link``; no overlap with compute, no latency."""
        instance_of("fast_link", fast_link, Interconnect)
        instance_of("slow_link", slow_link, Interconnect)
        across = self.data_parallel + self.pipeline_parallel
        return self.tensor_parallel / fast_link.bytes_per_second + (
            across / slow_link.bytes_per_second
        )


def step_communication(
    model: ModelConfig | int,
    layout: Layout,
    *,
    recipe: str = "mixed",
    seq_len: int | None = None,
    micro_batch_size: int = 1,
    micro_batches: int = 1,
) -> StepCommunication:
    """Bytes each device sends per step for its layout's collectives (chapter 6).

    * Data parallelism, stages 0–2: the gradients (``recipe``'s gradient bytes) are
      all-reduced, 2·(N_d−1)/N_d of them (stage 2 reduce-scatters the gradients and
      all-gathers the updated weights: the same volume, ZeRO section 7.2.1). Stage 3 adds an
      all-gather of the weights for the backward pass: 3·(N_d−1)/N_d, 1.5× (section 7.2.2).
    * Tensor parallelism: per layer and micro-batch, two all-reduces of the b·s·h activations
      in the forward pass and two in the backward (Shoeybi et al. 2019, section 3 and Figure
      4), in 16-bit; two more with activation checkpointing, whose recomputed forward repeats
      them (Korthikanti et al. 2022, section 5).
    * Pipeline parallelism: a stage in the middle sends each micro-batch's activations forward
      and their gradients back, b·s·h 16-bit values each way, split over the t devices of the
      stage (Narayanan et al. 2021, section 4.1, scatter/gather).
    """
    _check_config(model)
    check_layout(model, layout)
    w, g, _ = RECIPES[choice("recipe", recipe, RECIPES)]
    micro_batch_size = positive_int("micro_batch_size", micro_batch_size)
    micro_batches = positive_int("micro_batches", micro_batches)
    params = max(stage.params for stage in _stages(model, layout))
    n_d = layout.data_parallel
    if layout.zero_stage < 3:
        data = ring_all_reduce_bytes(g * params, n_d)
    else:
        data = ring_gather_bytes(g * params, n_d) + 2 * ring_gather_bytes(w * params, n_d)
    tensor = pipeline = 0.0
    if isinstance(model, ModelConfig):
        seq_len = model.max_seq_len if seq_len is None else positive_int("seq_len", seq_len)
        activation = 2 * micro_batch_size * seq_len * model.d_model  # 16-bit b·s·h
        t, p = layout.tensor_parallel, layout.pipeline_parallel
        layers = max(_stage_split(model.n_layers, p))
        per_layer = 6 if layout.activation_checkpointing else 4
        tensor = micro_batches * layers * per_layer * ring_all_reduce_bytes(activation, t)
        if p > 1:
            pipeline = micro_batches * 2 * activation / t
    return StepCommunication(data, tensor, pipeline)


def pipeline_bubble(pipeline_parallel: int, micro_batches: int, interleaving: int = 1) -> float:
    """Share of a pipeline step spent idle: (p − 1) / (v·m) of the useful time (chapter 6).

    With p stages and m micro-batches, GPipe and 1F1B schedules idle for p − 1 micro-batch
    slots at the start and end of each step (Huang et al. 2019; Narayanan et al. 2021,
    section 2.2); an interleaved schedule with v model chunks per device divides that by v
    (Narayanan et al. 2021, section 2.2; Dubey et al. 2024, section 3.3.2).
    """
    p = positive_int("pipeline_parallel", pipeline_parallel)
    m = positive_int("micro_batches", micro_batches)
    v = positive_int("interleaving", interleaving)
    return (p - 1) / (v * m)


# ---------------------------------------------------------------------------------------
# The planner: which layouts fit
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One layout with its per-device memory and per-step communication (chapter 6)."""

    layout: Layout
    memory: TrainingMemory
    communication: StepCommunication
    communication_seconds: float
    compute_seconds: float  # the step's FLOPs on one device, bubble included
    tokens_per_step: int
    fits: bool

    @property
    def step_seconds(self) -> float:
        """Compute (with the pipeline bubble) plus communication, none of it overlapped."""
        return self.compute_seconds + self.communication_seconds

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_per_step / self.step_seconds


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def plan_layouts(
    model: ModelConfig,
    n_gpus: int,
    gpu_memory_bytes: float,
    *,
    gpus_per_node: int = 8,
    recipe: str = "mixed",
    seq_len: int | None = None,
    micro_batch_size: int = 1,
    micro_batches: int = 1,
    fast_link: str = "NVLink 4 (H100)",
    slow_link: str = "InfiniBand NDR",
    peak_flops_per_second: float = 989e12,
    mfu: float = 0.4,
    only_fitting: bool = True,
) -> list[Plan]:
    """Every layout of ``n_gpus`` GPUs for ``model``, with memory per GPU and step time.

    Layouts: every ZeRO stage, with and without activation checkpointing, every tensor-parallel
    degree that divides the heads, the MLP width and ``gpus_per_node`` (tensor parallelism
    stays inside a server, on ``fast_link``), every pipeline degree that splits the layers,
    and data parallelism over the rest. A plan fits when its device's total is at most
    ``gpu_memory_bytes``. Its step time is the compute, 6·N FLOPs per token (8·N with
    checkpointing's second forward pass) at ``mfu`` of ``peak_flops_per_second`` (default: an
    H100's dense bf16 at 40%, about Llama 3's 38–43%, Dubey et al. 2024, Table 4), stretched by
    the pipeline bubble, plus the communication without overlap. Sorted fastest first, in
    tokens per second (chapter 6's widget).
    """
    instance_of("model", model, ModelConfig)
    n_gpus = positive_int("n_gpus", n_gpus)
    gpu_memory_bytes = positive_number("gpu_memory_bytes", gpu_memory_bytes)
    gpus_per_node = positive_int("gpus_per_node", gpus_per_node)
    peak_flops_per_second = positive_number("peak_flops_per_second", peak_flops_per_second)
    mfu = number_in_range("mfu", mfu, 0, 1, include_low=False)
    fast = INTERCONNECTS[choice("fast_link", fast_link, INTERCONNECTS)]
    slow = INTERCONNECTS[choice("slow_link", slow_link, INTERCONNECTS)]
    seq_len = model.max_seq_len if seq_len is None else positive_int("seq_len", seq_len)
    kwargs = {
        "recipe": recipe,
        "seq_len": seq_len,
        "micro_batch_size": micro_batch_size,
        "micro_batches": micro_batches,
    }
    n_params = sum(stage.params for stage in _stages(model, Layout()))
    plans = []
    for t in _divisors(n_gpus):
        if t > gpus_per_node or gpus_per_node % t or not _divides_shape(model, t):
            continue
        for p in _divisors(n_gpus // t):
            if _stage_split(model.n_layers, p) is None:
                continue
            n_d = n_gpus // (t * p)
            tokens = n_d * micro_batches * micro_batch_size * seq_len
            for zero in ZERO_STAGES if n_d > 1 else (0,):
                for checkpointing in (False, True):
                    layout = Layout(n_d, zero, t, p, checkpointing)
                    memory = device_memory(model, layout, **kwargs)
                    fits = memory.total <= gpu_memory_bytes
                    if not (fits or only_fitting is False):
                        continue
                    communication = step_communication(model, layout, **kwargs)
                    flops = (8 if checkpointing else 6) * n_params * tokens
                    compute = flops / (n_gpus * peak_flops_per_second * mfu)
                    compute *= 1 + pipeline_bubble(p, micro_batches)
                    plans.append(
                        Plan(
                            layout,
                            memory,
                            communication,
                            communication.seconds(fast, slow),
                            compute,
                            tokens,
                            fits,
                        )
                    )
    return sorted(plans, key=lambda plan: -plan.tokens_per_second)


def plan_table(plans: list[Plan], limit: int = 8) -> str:
    """The first ``limit`` plans as a text table: GB per GPU and time per step (chapter 6)."""
    limit = int_at_least("limit", limit, 1)
    header = (
        f"{'layout':<44}{'states':>8}{'activ.':>8}{'total':>8}{'sent':>9}{'comm.':>8}"
        f"{'step':>8}{'tokens/s':>10}"
    )
    rows = [header, "-" * len(header)]
    for plan in plans[:limit]:
        m = plan.memory
        rows.append(
            f"{plan.layout.describe():<44}{m.model_states / 1e9:>6.1f}GB"
            f"{m.activations / 1e9:>6.1f}GB{m.total / 1e9:>6.1f}GB"
            f"{plan.communication.total / 1e9:>7.1f}GB{plan.communication_seconds:>7.2f}s"
            f"{plan.step_seconds:>7.2f}s{plan.tokens_per_second:>10,.0f}"
        )
    if not plans:
        rows.append("(no layout fits: more GPUs, more memory per GPU, or a shorter sequence)")
    return "\n".join(rows)
