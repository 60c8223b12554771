"""The config tree: typed dataclasses validated by omegaconf, loaded from `conf/` with `key=value` overrides.

Why structured configs: an unknown or misspelt key must fail loudly on load, not be ignored for hours of a
run. Every option of every job lives here, so `conf/*.yaml` and the code can't drift apart unnoticed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from judge_ray.attacks import REPLACING_SHARE
from judge_ray.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
SEED_CATEGORIES = ("coding", "math", "reasoning", "knowledge", "writing", "advice")


class Choice(str, Enum):
    """A config enumeration. omegaconf checks a value against the members on merge and names the key in its
    error; a member is its value (it compares, hashes, formats and serialises as the plain string), so the code
    reads it as one. Member names equal their values."""

    def __str__(self) -> str:
        return str(self.value)


class LogLevel(Choice):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class Precision(Choice):
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class BenchmarkLayout(Choice):
    auto = "auto"
    pandalm = "pandalm"
    judgelm = "judgelm"
    mtbench = "mtbench"
    arena = "arena"
    rewardbench = "rewardbench"
    llmbar = "llmbar"
    autoj = "autoj"
    pairs = "pairs"
    rewardbench2 = "rewardbench2"
    ranked = "ranked"
    mmvet = "mmvet"
    judgebench = "judgebench"
    helpsteer2 = "helpsteer2"


class JudgeFormat(Choice):
    auto = "auto"
    judgelm = "judgelm"
    pairwise = "pairwise"


class JudgeMode(Choice):
    single = "single"
    both = "both"
    vote = "vote"
    both_vote = "both_vote"
    debiased = "debiased"  # both orders, the verdict read with the slot prior cancelled (pairwise format)


class Grading(Choice):
    pairwise = "pairwise"
    single_answer = "single_answer"


TiePolicy = Choice("TiePolicy", {"class": "class", "exclude": "exclude"})  # `class` is a Python keyword


class UnparseablePolicy(Choice):
    tie = "tie"
    miss = "miss"
    half = "half"


class PredictedTiePolicy(Choice):
    miss = "miss"
    half = "half"


class SwapMode(Choice):
    add = "add"
    replace = "replace"


ENGINES = ("auto", "vllm", "transformers")  # or package.module:ClassName, so `engine` stays a string


def is_import_path(kind: str) -> bool:
    """`package.module:ClassName`: an Engine subclass of the user's own (it must import on every Ray worker)."""
    module, _, name = kind.partition(":")
    return bool(module) and name.isidentifier()
LAYOUTS = tuple(m.value for m in BenchmarkLayout)
MODES = tuple(m.value for m in JudgeMode)
VOTING_MODES = (JudgeMode.vote.value, JudgeMode.both_vote.value)  # modes that sample judge.samples per order


class _Rules:
    """Range and cross-field rules of a section, run in `__post_init__` (on load, and wherever code builds the
    section). Each problem starts with the field's name; the loader prefixes the section's key."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def check(self, ok: bool, problem: str) -> "_Rules":
        if not ok:
            self.problems.append(problem)
        return self

    def at_least(self, section: Any, minimum: float, *names: str) -> "_Rules":
        for name in names:
            self.check(getattr(section, name) >= minimum, f"{name}={getattr(section, name)} must be at least {minimum}")
        return self

    def done(self) -> None:
        if self.problems:
            raise ValueError("; ".join(self.problems))


def _optional_at_least_1(rules: _Rules, section: Any, *names: str) -> None:
    for name in names:
        value = getattr(section, name)
        rules.check(value is None or value >= 1, f"{name}={value} must be at least 1 (or null)")


@dataclass
class LogConfig:
    level: LogLevel = LogLevel.info  # info: progress and results | debug (= --verbose) | warning | error


@dataclass
class RunConfig:
    name: str = "default"  # the run's directory name under root
    root: str = "runs"  # run directories live at <root>/<name>
    seed: int = 0  # every sample, split and recipe derives its seed from this
    overwrite: bool = False  # replace a finished run of the same name instead of refusing


@dataclass
class DataConfig:
    instructions: Optional[str] = None  # corpus: file, folder, glob, datasets dir or hub id; None = bundled seeds
    instruction_field: Optional[str] = None  # the field holding the instruction when no known layout fits
    min_chars: int = 1  # instructions shorter than this (characters, stripped) are dropped
    max_chars: int = 4000  # longer ones are dropped too; 0 = no limit
    language: Optional[str] = None  # keep rows whose language field matches (en / English); ignored without one
    max_instructions: Optional[int] = None  # seeded cap on the instructions kept after dedup; None = all
    labelled_eval: list[str] = field(default_factory=lambda: ["bundled"])  # eval sets (benchmark files); bundled: 66

    def __post_init__(self) -> None:
        rules = _Rules().check(self.min_chars >= 0 and self.max_chars >= 0 and
                               (not self.max_chars or self.max_chars >= self.min_chars),
                               f"min_chars={self.min_chars} and max_chars={self.max_chars} must be >= 0, "
                               "max_chars >= min_chars (or 0 = no limit)")
        _optional_at_least_1(rules, self, "max_instructions")
        rules.done()


@dataclass
class SelectionConfig:
    categories: list[str] = field(default_factory=lambda: list(SEED_CATEGORIES))  # categories to balance over
    per_category: int = 4  # balanced: at most this many of each category, hardest first
    min_difficulty: float = 1.0  # expected 1-5 difficulty the model gives; below it an instruction is skipped
    max_candidates: Optional[int] = None  # classify a seeded sample of this many instructions; None = all

    def __post_init__(self) -> None:
        rules = _Rules().at_least(self, 1, "per_category")
        rules.check(0 < len(self.categories) <= 26,
                    "categories must name 1 to 26 categories (each is offered as a letter A-Z)")
        _optional_at_least_1(rules, self, "max_candidates")
        rules.done()


@dataclass
class SamplingConfig:
    """How a section samples text: every section that generates has these three keys, with these rules."""

    temperature: float = 0.8  # sampling temperature (0 = greedy)
    top_p: float = 0.95  # nucleus sampling: the smallest set of tokens with this much probability
    max_tokens: int = 96  # longest generation in tokens

    def rules(self) -> _Rules:
        return (_Rules().check(self.temperature >= 0, f"temperature={self.temperature} must be >= 0")
                .check(0 < self.top_p <= 1, f"top_p={self.top_p} must be in (0, 1]")
                .at_least(self, 0, "max_tokens"))

    def __post_init__(self) -> None:
        self.rules().done()


@dataclass
class GenerationConfig(SamplingConfig):
    """Sampling for response-pair construction (y_w, x', y_l)."""

    temperature: float = 0.7  # sampling temperature for answers and modified instructions
    top_p: float = 0.9  # nucleus sampling for answers and modified instructions
    max_tokens: int = 96  # longest answer (y_w, y_l) in tokens
    modify_max_tokens: int = 48  # longest modified instruction x' in tokens
    eval_fraction: float = 0.25  # share of pairs held out to evaluate each iteration's judge

    def __post_init__(self) -> None:
        (self.rules().at_least(self, 1, "max_tokens", "modify_max_tokens")
         .check(0.0 <= self.eval_fraction < 1.0, f"eval_fraction={self.eval_fraction} must be in [0, 1)").done())


@dataclass
class JudgeConfig(SamplingConfig):
    """Judgment sampling from the current judge: reasoning (max_tokens), then the verdict.

    max_tokens = 0 samples the verdict alone (one forward pass, the A/B choice drawn at `temperature`) and
    trains the judge to give it without reasoning: the read the CPU evaluation of the labelled sets makes.
    """

    samples: int = 4  # N judgments per pair
    max_tokens: int = 96  # reasoning tokens before the verdict; 0 = the verdict alone (trained without reasoning)
    balance_sft: bool = True  # keep as many A-winners as B-winners in the SFT set
    swap_augment: bool = False  # also train each kept judgment with the answers swapped and the verdict flipped
    adversarial: float = 0.0  # share of training pairs whose y_l carries an attack (a `train` variant, attacks.py)
    adversarial_replacing: float = REPLACING_SHARE  # of the attacked pairs, the share whose y_l a master key
    #                                                 replaces (shorter) rather than extends: a judge learns length

    def __post_init__(self) -> None:
        self.rules().at_least(self, 1, "samples").check(
            0 <= self.adversarial <= 1, f"adversarial={self.adversarial} must lie in [0, 1]").check(
            0 <= self.adversarial_replacing <= 1,
            f"adversarial_replacing={self.adversarial_replacing} must lie in [0, 1]").done()


LR_SCHEDULES = ("constant", "cosine")


@dataclass
class TrainConfig:
    workers: int = 2  # Ray Train workers (ZeRO shards the model across them)
    use_gpu: bool = False  # one GPU per worker (NCCL); false: CPU workers over gloo
    cpus_per_worker: float = 1.0  # logical CPUs each train worker reserves (its torch threads follow)
    precision: Precision = Precision.fp32  # fp32 on CPU; bf16 on GPU (fp16 too)
    zero_stage: int = 3  # DeepSpeed ZeRO stage 0-3 (3 partitions parameters, gradients, optimizer state)
    epochs: int = 1  # passes over the SFT set
    lr: float = 1.0e-5  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    lr_schedule: str = "constant"  # constant | cosine (linear warmup, then cosine decay to 0 by the last step)
    warmup_ratio: float = 0.03  # cosine: share of the optimizer steps spent warming up (JudgeLM's 0.03)
    batch_size_per_worker: int = 2  # sequences per worker per micro-step (pairs, under pair_orders)
    pair_orders: bool = False  # a pair's rows (same pair_id, or id in a JudgeLM file) in one micro-batch
    grad_accum: int = 1  # micro-steps per optimizer step
    max_length: int = 768  # longest training sequence in tokens (longer ones are truncated from the left)
    max_failures: int = 2  # worker deaths survived by restarting from the last checkpoint
    deepspeed_optimizer: bool = False  # DeepSpeed's fused AdamW (JIT-compiled; right on GPU)
    keep_checkpoints: bool = False  # ZeRO checkpoints are only needed until the model is exported

    def __post_init__(self) -> None:
        (_Rules().check(self.zero_stage in (0, 1, 2, 3), f"zero_stage={self.zero_stage} must be 0..3")
         .at_least(self, 1, "workers", "epochs", "batch_size_per_worker", "grad_accum", "max_length")
         .at_least(self, 0, "max_failures").check(self.lr > 0, f"lr={self.lr} must be > 0")
         .check(self.cpus_per_worker > 0, f"cpus_per_worker={self.cpus_per_worker} must be > 0")
         .check(self.lr_schedule in LR_SCHEDULES,
                f"lr_schedule={self.lr_schedule!r} must be one of {', '.join(LR_SCHEDULES)}")
         .check(0.0 <= self.warmup_ratio < 1.0, f"warmup_ratio={self.warmup_ratio} must be in [0, 1)").done())


@dataclass
class EvalConfig(SamplingConfig):
    """Each iteration's judge on the held-out pairs and the labelled sets (max_tokens: reasoning on held-out)."""

    samples: int = 3  # k judgments per pair and order, majority-voted (k = 1: the greedy verdict)
    labelled_samples: int = 1  # k on the labelled sets (larger than the held-out split); 1 = the greedy verdict
    labelled_max_tokens: int = 0  # reasoning tokens on the labelled sets; 0 = the verdict alone (one forward pass)
    both_orders: bool = True  # judge every pair as A-B and B-A: consistency and position bias
    debiased: bool = False  # read each pair's verdict with the slot prior cancelled (judge.mode=debiased; k = 1)
    baseline: bool = True  # also evaluate the seed judge M_0, as iteration 0
    select_on: Optional[str] = None  # eval set that picks the best iteration: heldout | labelled:<stem>; None: largest

    def __post_init__(self) -> None:
        rules = self.rules().at_least(self, 1, "samples", "labelled_samples").at_least(self, 0, "labelled_max_tokens")
        voting = self.samples > 1 or self.labelled_samples > 1
        rules.check(not voting or self.temperature > 0,
                    f"temperature={self.temperature}: k > 1 samples per order need a temperature > 0").done()


@dataclass
class RayConfig:
    address: Optional[str] = None  # None: RAY_ADDRESS if set, else a local cluster
    num_cpus: Optional[int] = None  # logical CPUs of a local cluster
    pool_size: int = 1  # engine actors per Ray Data stage
    actor_cpus: float = 1.0  # logical CPUs per engine actor (its torch threads follow; 0: holds none)
    actor_gpus: float = 0.0  # GPUs per engine actor (0 on CPU)
    batch_size: int = 16  # rows per map_batches call on an engine actor
    block_rows: int = 256  # rows per block of an engine stage, the unit of resume; stages this small (CPU) run here
    fit_cpus: bool = True  # on a cluster too small for the CPU asks, scale them down to fit (false: wait instead)
    startup_timeout_s: int = 600  # the longest a phase waits for what no node offers yet (an autoscaler adding it)

    def __post_init__(self) -> None:
        rules = (_Rules().at_least(self, 1, "pool_size", "batch_size", "block_rows")
                 .at_least(self, 0, "actor_gpus", "startup_timeout_s"))
        rules.check(self.actor_cpus >= 0, f"actor_cpus={self.actor_cpus} must be >= 0")
        _optional_at_least_1(rules, self, "num_cpus")
        rules.done()


@dataclass
class VllmConfig:
    dtype: str = "auto"  # auto: bfloat16 where the model/hardware use it; float32 for tests
    max_model_len: int = 2048  # longest prompt + generation vLLM reserves KV cache for
    gpu_memory_utilization: float = 0.85  # share of GPU memory vLLM may take
    enforce_eager: bool = True  # torch.compile costs ~20 s per engine start on CPU
    cpu_kvcache_gib: int = 1  # KV cache size on CPU (VLLM_CPU_KVCACHE_SPACE)
    tensor_parallel_size: int = 1  # GPUs one vLLM engine shards the model over


@dataclass
class SelfTaughtConfig:
    model: str = "smollm2"  # seed judge M_0: tiny | smollm2 | a local HF directory | a Hugging Face id
    generator: Optional[str] = None  # model that writes y_w, x', y_l; None = the seed model
    engine: str = "auto"  # auto | vllm | transformers
    iterations: int = 2  # T: rounds of judge -> reject -> fine-tune the seed
    run: RunConfig = field(default_factory=RunConfig)
    data: DataConfig = field(default_factory=DataConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    log: LogConfig = field(default_factory=LogConfig)
    vllm: VllmConfig = field(default_factory=VllmConfig)

    def __post_init__(self) -> None:
        (_Rules().check(_engine_ok(self.engine), _engine_problem(self.engine)).at_least(self, 1, "iterations")
         .check(bool(self.model), "model must name a preset (tiny, smollm2), a directory or a Hugging Face id")
         .check(self.eval.select_on in (None, *self.eval_set_names()),
                f"eval.select_on={self.eval.select_on!r} must name an eval set of this run: "
                + ", ".join(self.eval_set_names()))
         .done())

    def eval_set_names(self) -> list[str]:
        """The names the loop's evaluation sets go by in each iteration's metrics.json."""
        from judge_ray.labelled import labelled_name

        return ["heldout"] + [f"labelled:{labelled_name(p)}" for p in self.data.labelled_eval]


def _engine_ok(engine: str) -> bool:
    return engine in ENGINES or is_import_path(engine)


def _engine_problem(engine: str) -> str:
    return f"engine={engine!r} must be one of {', '.join(ENGINES)} (or package.module:ClassName)"


# ---- jobs/train_judge.py ----
@dataclass
class JudgeDataConfig:
    path: Optional[str] = None  # JSONL / JSON / Parquet file or folder, a saved `datasets` directory, or a hub id
    split: Optional[str] = None  # for a dataset with splits (default: train)
    limit: Optional[int] = None  # the first N rows only

    def __post_init__(self) -> None:
        rules = _Rules()
        _optional_at_least_1(rules, self, "limit")
        rules.done()


@dataclass
class RecipeConfig:
    """JudgeLM's data recipes; each decided per record from a derived seed."""

    swap_ratio: float = 0.5  # share of records whose A/B-swapped copy is used
    swap_mode: SwapMode = SwapMode.add  # add: original + swapped copy | replace: swapped in place (JudgeLM's code)
    reference: bool = True  # reference support: show the reference answer when the record has one
    reference_drop: float = 0.5  # of those, the share shown without it (reference drop)
    context: bool = True  # context support: show the record's context block (an image as text) when it has one
    context_drop: float = 0.5  # of those, the share shown without it (context drop)

    def __post_init__(self) -> None:
        rules = _Rules()
        for name in ("swap_ratio", "reference_drop", "context_drop"):
            rules.check(0.0 <= getattr(self, name) <= 1.0, f"{name}={getattr(self, name)} must be in [0, 1]")
        rules.done()


@dataclass
class TrainJudgeConfig:
    model: str = "smollm2"  # base model to fine-tune: tiny | smollm2 | a HF directory | a Hugging Face id
    run: RunConfig = field(default_factory=lambda: RunConfig(name="judgelm"))
    data: JudgeDataConfig = field(default_factory=JudgeDataConfig)
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    log: LogConfig = field(default_factory=LogConfig)


# ---- jobs/evaluate.py ----
@dataclass
class BenchmarkConfig:
    path: Optional[str] = None  # the benchmark file / dataset directory / hub id
    layout: BenchmarkLayout = BenchmarkLayout.auto  # auto | pandalm | judgelm | mtbench | arena | rewardbench | ...
    split: Optional[str] = None  # the split of a dataset with several (default: train, then test)
    limit: Optional[int] = None  # the first N usable examples only
    turn: int = 1  # MT-Bench: the turn judged (1-based)
    strict: bool = False  # refuse the file at its first unusable row instead of skipping and listing it
    max_answers: int = 26  # ranked layouts: a row with more answers than this is skipped (26: [[A]]..[[Z]])
    responses: Optional[str] = None  # mmvet: the model's answers to grade (JSON object keyed by question id)
    descriptions: Optional[str] = None  # mmvet: the images as text, keyed by imagename (text or caption/ocr/objects)

    def __post_init__(self) -> None:
        rules = _Rules().at_least(self, 1, "turn")
        rules.check(2 <= self.max_answers <= 26, f"max_answers={self.max_answers} must be in 2..26")
        _optional_at_least_1(rules, self, "limit")
        rules.done()


@dataclass
class EvalJudgeConfig(SamplingConfig):
    model: Optional[str] = None  # a preset, HF directory or id, or a self-taught run directory (every iteration)
    predictions: Optional[str] = None  # score a predictions JSONL instead of running a model
    format: JudgeFormat = JudgeFormat.auto  # judgelm (`s1 s2` scores) | pairwise ([[A]]/[[B]]) | auto (its record)
    grading: Grading = Grading.pairwise  # pairwise | single_answer (each answer rated 1-10 alone, the higher wins)
    mode: JudgeMode = JudgeMode.both  # single | both (both orders) | vote (k samples) | both_vote | debiased
    samples: int = 3  # k for mode=vote and both_vote (both orders, k samples each, majority per order)
    temperature: float = 0.0  # 0 = greedy; vote needs > 0
    top_p: float = 1.0  # nucleus sampling of the judge
    max_tokens: int = 64  # longest judge output (reasoning or explanation) in tokens
    reference: bool = True  # show the benchmark's reference answer when it has one
    context: bool = True  # show the item's context block (an image described as text) when it has one
    rotations: int = 0  # ranked benchmarks: answer orders per item beyond single mode (< N: the N cyclic shifts)

    def __post_init__(self) -> None:
        rules = self.rules().at_least(self, 1, "samples").at_least(self, 0, "rotations")
        rules.check(self.max_tokens >= (0 if self.format == JudgeFormat.pairwise else 1),
                    "max_tokens must be at least 1 (0, the verdict alone, needs format=pairwise)")
        rules.check(self.mode not in VOTING_MODES or self.temperature > 0 or not self.model,
                    f"mode={self.mode} samples k judgments: it needs temperature > 0")
        rules.check(not (self.grading == Grading.single_answer and self.format == JudgeFormat.pairwise),
                    "grading=single_answer rates one answer: format must be auto or judgelm")
        rules.check(self.mode != JudgeMode.debiased or (self.grading == Grading.pairwise
                                                        and self.format != JudgeFormat.judgelm),
                    "mode=debiased reads the verdict's probability in both orders: it needs the pairwise format")
        rules.check(self.mode != JudgeMode.debiased or not self.predictions,
                    "mode=debiased reads a model's probabilities: a predictions file has none")
        rules.done()


@dataclass
class PolicyConfig:
    ties: TiePolicy = TiePolicy["class"]  # class: tie is a label and a prediction | exclude: tie labels left out
    unparseable: UnparseablePolicy = UnparseablePolicy.tie  # an unreadable output: tie | miss (wrong) | half (0.5)
    predicted_ties: PredictedTiePolicy = PredictedTiePolicy.miss  # where tie is no class (two-class): miss | half


@dataclass
class EvaluateConfig:
    engine: str = "auto"  # auto (vLLM when it can run) | vllm | transformers
    run: RunConfig = field(default_factory=lambda: RunConfig(name="eval"))
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    judge: EvalJudgeConfig = field(default_factory=EvalJudgeConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    log: LogConfig = field(default_factory=LogConfig)
    vllm: VllmConfig = field(default_factory=VllmConfig)

    def __post_init__(self) -> None:
        _Rules().check(_engine_ok(self.engine), _engine_problem(self.engine)).done()


# ---- jobs/serve.py ----
@dataclass
class ServeSettings:
    app_name: str = "judge"  # the Serve application's name
    route_prefix: str = "/"  # where the judge routes are mounted
    host: str = "127.0.0.1"  # 0.0.0.0 on a cluster
    port: int = 8000  # HTTP port of the Serve proxy
    batching: bool = True  # concurrent requests share one engine call (serving/batcher.py)
    max_batch_size: int = 8  # most requests one engine call serves
    batch_wait_timeout_s: float = 0.05  # the longest a request waits for company once the engine is free
    max_input_tokens: int = 1536  # a longer prompt is a 413 naming the longest field
    max_samples: int = 8  # the most a `vote` request may ask for
    max_answers: int = 8  # the most answers a /v1/rank request may give (each order is one engine call)
    vote_samples: int = 3  # `vote` without `samples`
    vote_temperature: float = 0.8  # sampling temperature of `vote` judgments
    max_tokens: int = 64  # explanation tokens per judgment
    auth_token_env: str = "JUDGE_RAY_API_TOKEN"  # when this variable is set, every route but /healthz needs it
    allow_anonymous: bool = False  # serve without a token on a non-loopback host (refused otherwise)
    max_body_bytes: int = 262144  # request bodies over this are a 413, refused while reading, before parsing
    unhealthy_after: int = 3  # engine failures in a row after which the health check fails (replica replaced)
    request_timeout_s: float = 300.0  # a request not answered by then is a 504 (queueing included)
    openai: bool = False  # also serve OpenAI-compatible routes through ray.serve.llm (needs vLLM)
    openai_route_prefix: str = "/openai"  # where the OpenAI-compatible routes are mounted
    openai_max_tokens: int = 512  # most tokens an OpenAI-route request may generate (its default when unset)
    openai_max_n: int = 4  # most choices (`n`) an OpenAI-route request may ask for
    openai_max_prompt_chars: int = 32768  # longest prompt on the OpenAI routes, in characters (token ids: ids)
    # code and packages come with the image (Dockerfile), never a working_dir or a pip install at start-up
    env_vars: dict[str, str] = field(default_factory=dict)  # the generated Serve config's runtime_env: these only

    def __post_init__(self) -> None:
        rules = _Rules().at_least(self, 1, "max_batch_size", "max_input_tokens", "max_samples", "vote_samples",
                                  "max_answers",
                                  "max_tokens", "max_body_bytes", "unhealthy_after", "openai_max_tokens",
                                  "openai_max_n", "openai_max_prompt_chars")
        rules.check(self.vote_samples <= self.max_samples, "vote_samples must be <= max_samples")
        rules.check(2 <= self.max_answers <= 26, f"max_answers={self.max_answers} must be in 2..26")
        rules.check(self.vote_temperature > 0, f"vote_temperature={self.vote_temperature} must be > 0 (votes sample)")
        rules.check(self.request_timeout_s > 0, "request_timeout_s must be > 0")
        rules.check(self.route_prefix.startswith("/") and self.openai_route_prefix.startswith("/"),
                    "route_prefix and openai_route_prefix must start with /")
        rules.check(not self.openai or self.openai_route_prefix != self.route_prefix,
                    "openai_route_prefix must differ from route_prefix")
        rules.done()


@dataclass
class DeploymentSettings:
    """Replicas and autoscaling of the judge deployment (Ray Serve's autoscaling_config)."""

    min_replicas: int = 1  # autoscaling floor
    max_replicas: int = 2  # autoscaling ceiling
    initial_replicas: Optional[int] = None  # replicas at start; null = min_replicas
    target_ongoing_requests: float = 4.0  # requests per replica the autoscaler aims for
    max_ongoing_requests: int = 32  # at least max_batch_size, or batches are capped by it
    max_queued_requests: int = 128  # requests waiting per caller beyond that; more are a 503 (bounded queue)
    queue_full_retry_after_s: int = 1  # the Retry-After of that 503
    num_cpus: float = 1.0  # CPUs per replica
    num_gpus: float = 0.0  # GPUs per replica
    health_check_period_s: float = 10.0  # how often Serve calls a replica's check_health
    health_check_timeout_s: float = 30.0  # a health check not answered by then fails the replica

    def __post_init__(self) -> None:
        rules = _Rules().check(1 <= self.min_replicas <= self.max_replicas,
                               f"min_replicas={self.min_replicas} must be >= 1 and <= max_replicas={self.max_replicas}")
        rules.check(self.initial_replicas is None or self.min_replicas <= self.initial_replicas <= self.max_replicas,
                    "initial_replicas must lie between min_replicas and max_replicas")
        rules.at_least(self, 1, "max_ongoing_requests", "max_queued_requests")
        rules.check(self.health_check_period_s > 0 and self.health_check_timeout_s > 0,
                    "health_check_period_s and health_check_timeout_s must be > 0")
        rules.check(self.target_ongoing_requests > 0 and self.num_cpus >= 0 and self.num_gpus >= 0,
                    "target_ongoing_requests must be > 0 and num_cpus/num_gpus >= 0")
        rules.done()


@dataclass
class ServeConfig:
    model: str = "smollm2"  # preset | HF directory | HF id | a self-taught run directory (its best iteration)
    engine: str = "auto"  # auto (vLLM when it can run) | vllm | transformers
    format: JudgeFormat = JudgeFormat.auto  # pairwise ([[A]]/[[B]], a constrained verdict) | judgelm (scores) | auto
    serve: ServeSettings = field(default_factory=ServeSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    vllm: VllmConfig = field(default_factory=VllmConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    log: LogConfig = field(default_factory=LogConfig)
    write_serve_config: Optional[str] = None  # write the Serve config YAML (for `serve deploy`) here and exit

    def __post_init__(self) -> None:
        s, d = self.serve, self.deployment
        (_Rules().check(_engine_ok(self.engine), _engine_problem(self.engine))
         .check(bool(self.model), "model must name a preset, a directory, a Hugging Face id or a self-taught run")
         .check(not s.batching or d.max_ongoing_requests >= s.max_batch_size,
                f"deployment.max_ongoing_requests={d.max_ongoing_requests} must be >= serve.max_batch_size="
                f"{s.max_batch_size} (it caps the batch)").done())


# ---- jobs/render_k8s.py: the KubeRay manifests in k8s/ ----
@dataclass
class ImageSettings:
    repository: str = "judge-ray"  # the registry path scripts/image.sh pushes to (yours: conf/k8s.yaml)
    tag: str = "0.1.0"  # the tag every pod runs; scripts/image.sh tags its build with the git SHA and renders that
    app_dir: str = "/home/ray/judge_ray"  # where the image holds jobs/ and conf/ (the Dockerfile's WORKDIR)

    def __post_init__(self) -> None:
        (_Rules().check(bool(self.repository) and ":" not in self.repository.rsplit("/", 1)[-1],
                        f"repository={self.repository!r} must be a registry path without a tag")
         .check(bool(self.tag) and "/" not in self.tag and ":" not in self.tag, f"tag={self.tag!r} is not a tag")
         .check(self.app_dir.startswith("/"), "app_dir must be absolute").done())


@dataclass
class PodSettings:
    cpus: int = 8  # CPUs a pod asks for (Ray's num-cpus follows the limit)
    cpu_limit: Optional[int] = None  # null = cpus
    memory: str = "64Gi"  # memory a pod asks for
    memory_limit: Optional[str] = None  # null = memory
    gpus: int = 0  # GPUs of a pod (nvidia.com/gpu, Ray's num-gpus)
    shm: Optional[str] = None  # a memory-backed /dev/shm this large (NCCL and vLLM need more than 64 MiB)

    def __post_init__(self) -> None:
        _Rules().at_least(self, 0, "cpus", "gpus").check(self.cpu_limit is None or self.cpu_limit >= self.cpus,
                                                         "cpu_limit must be >= cpus").done()


@dataclass
class GroupSizes:
    min: int = 0  # the autoscaler's floor (0: the group starts empty and grows on demand)
    max: int = 4  # its ceiling
    replicas: Optional[int] = None  # pods at creation; null = min

    def __post_init__(self) -> None:
        rules = _Rules().check(0 <= self.min <= self.max, f"min={self.min} must be >= 0 and <= max={self.max}")
        rules.check(self.replicas is None or self.min <= self.replicas <= self.max, "replicas must lie in [min, max]")
        rules.done()


@dataclass
class JobManifest:
    config: str = "conf/self_taught_gpu.yaml"  # the loop's config, as the image holds it under image.app_dir
    overrides: list[str] = field(default_factory=lambda: ["run.root=/mnt/shared/runs", "run.name=default"])  # key=value
    gpus: GroupSizes = field(default_factory=GroupSizes)  # the GPU group (grows from 0 for the job's asks)
    idle_timeout_s: int = 300  # the autoscaler removes a node idle this long
    ttl_s: int = 3600  # the finished job's cluster is deleted after this
    deadline_s: int = 86400  # a job still running after this is stopped
    backoff_limit: int = 1  # resubmissions of a failed job (it resumes)


@dataclass
class ServiceManifest:
    config: str = "conf/serve_gpu.yaml"  # the endpoint's config (its Serve config is embedded)
    gpus: GroupSizes = field(default_factory=lambda: GroupSizes(min=2, max=8))  # GPU pods for the replicas
    idle_timeout_s: int = 300  # the autoscaler removes a node idle this long
    upgrade: str = "NewCluster"  # NewCluster: a second cluster serves before the switch | None: update in place
    redis_address: str = "redis://judge-ray-redis:6379"  # GCS fault tolerance: where the head's state is kept
    redis_secret: str = "judge-ray-redis"  # the secret holding its `password`
    token_secret: str = "judge-ray-api"  # the secret holding the endpoint's bearer `token`

    def __post_init__(self) -> None:
        _Rules().check(self.upgrade in ("NewCluster", "None"), f"upgrade={self.upgrade!r}: NewCluster or None").done()


@dataclass
class DevManifest:
    gpus: GroupSizes = field(default_factory=GroupSizes)  # GPU pods of the interactive cluster
    cpus: GroupSizes = field(default_factory=lambda: GroupSizes(min=0, max=4, replicas=1))  # CPU pods beside them
    cpu_pod: PodSettings = field(default_factory=lambda: PodSettings(cpus=4, memory="16Gi"))  # one CPU pod
    idle_timeout_s: int = 600  # the autoscaler removes a node idle this long


@dataclass
class DeployConfig:
    image: ImageSettings = field(default_factory=ImageSettings)
    head: PodSettings = field(default_factory=lambda: PodSettings(cpus=2, cpu_limit=4, memory="8Gi",
                                                                  memory_limit="16Gi"))  # schedules nothing (0 CPUs)
    gpu_pod: PodSettings = field(default_factory=lambda: PodSettings(cpus=8, memory="64Gi", gpus=1, shm="16Gi"))
    bf16_label: str = "nvidia.com/gpu.compute.major"  # a bf16 config's GPU pods need this label (GPU feature discovery)
    bf16_min_major: int = 8  # ... at least this (Ampere and later compute bf16)
    shared_claim: str = "judge-ray-shared"  # the ReadWriteMany volume every pod mounts
    shared_mount: str = "/mnt/shared"  # where
    shared_size: str = "500Gi"  # its size (run directories, checkpoints, the model cache)
    storage_class: Optional[str] = None  # its storage class; null = the cluster's default
    env_vars: dict[str, str] = field(default_factory=dict)  # the RayJob's runtime_env: variables only
    job: JobManifest = field(default_factory=JobManifest)
    service: ServiceManifest = field(default_factory=ServiceManifest)
    dev: DevManifest = field(default_factory=DevManifest)
    log: LogConfig = field(default_factory=LogConfig)
    out: str = "k8s"  # where the manifests are written (scripts/image.sh renders a build's into build/k8s)
    check: bool = False  # compare with the files in `out` instead of writing; differences are an error


# What each job needs that no default can give (so not a section rule: the schema's defaults must load).
def _require_train_judge(cfg: TrainJudgeConfig) -> list[str]:
    return [] if cfg.data.path else ["data.path must name the labelled judgments (JSONL, Parquet, or a datasets "
                                     "dir/id)"]


def _require_evaluate(cfg: EvaluateConfig) -> list[str]:
    problems = [] if cfg.benchmark.path else ["benchmark.path must name the benchmark file or dataset"]
    if bool(cfg.judge.model) == bool(cfg.judge.predictions):
        problems.append("give exactly one of judge.model (run a judge) and judge.predictions (score a file)")
    return problems


SCHEMAS: dict[str, type] = {}  # filled below: conf/<prefix>*.yaml -> schema


def schema_for(path: str | Path) -> type:
    """conf/train_judge*.yaml -> TrainJudgeConfig, conf/evaluate*.yaml -> EvaluateConfig, ..."""
    stem = Path(path).stem
    for prefix, schema in SCHEMAS.items():
        if stem.startswith(prefix):
            return schema
    return SelfTaughtConfig


def _one_line(exc: OmegaConfBaseException) -> str:
    """omegaconf errors span several lines (full_key, object_type...): keep the first, it names the key."""
    first = str(exc).strip().splitlines()[0]
    key = getattr(exc, "full_key", None)
    return f"{key}: {first}" if key and str(key) not in first else first


def _quote_dash(override: str) -> str:
    """`key=-` (stdout, as in write_serve_config=-) is a string: YAML alone would read a bare dash as a list."""
    key, _, value = override.partition("=")
    return f"{key}='-'" if value.strip() == "-" else override


def default_config_path(schema: type) -> Path:
    """conf/<job>.yaml for a job's schema (conf/self_taught.yaml for the loop)."""
    return CONF_DIR / next((f"{k}.yaml" for k, v in SCHEMAS.items() if v is schema), "self_taught.yaml")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                schema: type = SelfTaughtConfig) -> Any:
    """Load `path` (default conf/self_taught.yaml) over the schema's defaults, then apply `key=value` overrides.

    Unknown keys, wrong types and bad values raise ConfigError with one line naming the key.
    """
    path = Path(path) if path else default_config_path(schema)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    base = OmegaConf.structured(schema)
    try:
        file_cfg = OmegaConf.load(path)
    except Exception as exc:  # yaml.YAMLError and friends: a malformed file is the user's to fix
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(file_cfg, DictConfig):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    for item in overrides or []:
        if "=" not in item or item.startswith("="):
            raise ConfigError(f"override {item!r} is not key=value")
    try:
        merged = OmegaConf.merge(base, file_cfg)
        if overrides:
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([_quote_dash(o) for o in overrides]))
    except OmegaConfBaseException as exc:
        raise ConfigError(f"bad config ({path.name}): {_one_line(exc)}") from None
    obj = _instantiate(merged)
    problems = REQUIRED.get(type(obj), lambda _: [])(obj)
    if problems:
        raise ConfigError("bad config: " + "; ".join(problems))
    return obj


def _instantiate(merged: DictConfig) -> Any:
    """The dataclasses, their `__post_init__` rules run; a broken rule is a ConfigError naming its keys."""
    try:
        return OmegaConf.to_object(merged)
    except ValueError as exc:
        raise ConfigError("bad config: " + _locate(merged, exc)) from None
    except OmegaConfBaseException as exc:
        raise ConfigError(f"bad config: {_one_line(exc)}") from None


def _locate(node: DictConfig, exc: ValueError, prefix: str = "") -> str:
    """The innermost section whose rules fail, its key prefixed to each of its problems ("train.workers=0 ...")."""
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig) and OmegaConf.get_type(child) not in (dict, None):
            try:
                OmegaConf.to_object(child)
            except ValueError as inner:
                return _locate(child, inner, f"{prefix}{key}.")
    return "; ".join(prefix + problem for problem in str(exc).split("; "))


REQUIRED = {TrainJudgeConfig: _require_train_judge, EvaluateConfig: _require_evaluate}
SCHEMAS.update({"self_taught": SelfTaughtConfig, "train_judge": TrainJudgeConfig, "evaluate": EvaluateConfig,
                "serve": ServeConfig, "k8s": DeployConfig})


def to_yaml(cfg: Any) -> str:
    """The resolved config exactly as run, for the run directory."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def config_from_yaml(text: str | dict, schema: type = SelfTaughtConfig) -> Any:
    """A config saved as YAML text (a run's config.yaml) or passed as a plain dict (Serve's `args`)."""
    return _instantiate(OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.create(text)))


def plain_dict(cfg: Any) -> dict:
    """A config (or section) as plain Python values, enumerations as their strings: for YAML and JSON."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), enum_to_str=True)


__all__ = ["SelfTaughtConfig", "TrainJudgeConfig", "EvaluateConfig", "ServeConfig", "DeployConfig", "schema_for",
           "load_config", "to_yaml", "config_from_yaml", "plain_dict", "default_config_path", "CONF_DIR"]
