"""The config tree: typed dataclasses validated by omegaconf, loaded from `conf/` with `key=value` overrides.

Why structured configs: an unknown or misspelt key must fail loudly on load, not be ignored for hours of a
run. Every option of every job lives here, so `conf/*.yaml` and the code can't drift apart unnoticed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from judge_ray.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
ENGINES = ("auto", "vllm", "transformers")
PRECISIONS = ("fp32", "bf16", "fp16")
SEED_CATEGORIES = ("coding", "math", "reasoning", "knowledge", "writing", "advice")


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


@dataclass
class SelectionConfig:
    categories: list[str] = field(default_factory=lambda: list(SEED_CATEGORIES))  # categories to balance over
    per_category: int = 4  # balanced: at most this many of each category, hardest first
    min_difficulty: float = 1.0  # expected 1-5 difficulty the model gives; below it an instruction is skipped
    max_candidates: Optional[int] = None  # classify a seeded sample of this many instructions; None = all


@dataclass
class GenerationConfig:
    """Sampling for response-pair construction (y_w, x', y_l)."""

    temperature: float = 0.7  # sampling temperature for answers and modified instructions
    top_p: float = 0.9  # nucleus sampling for answers and modified instructions
    max_tokens: int = 96  # longest answer (y_w, y_l) in tokens
    modify_max_tokens: int = 48  # longest modified instruction x' in tokens
    eval_fraction: float = 0.25  # share of pairs held out to evaluate each iteration's judge


@dataclass
class JudgeConfig:
    """Judgment sampling from the current judge."""

    samples: int = 4  # N judgments per pair
    temperature: float = 0.8  # sampling temperature of the judge's reasoning and verdict
    top_p: float = 0.95  # nucleus sampling of the judge's reasoning
    max_tokens: int = 96  # reasoning tokens before the forced verdict
    balance_sft: bool = True  # keep as many A-winners as B-winners in the SFT set
    swap_augment: bool = False  # also train each kept judgment with the answers swapped and the verdict flipped


@dataclass
class TrainConfig:
    workers: int = 2  # Ray Train workers (ZeRO shards the model across them)
    use_gpu: bool = False  # one GPU per worker (NCCL); false: CPU workers over gloo
    cpus_per_worker: int = 1  # logical CPUs each train worker reserves
    precision: str = "fp32"  # fp32 on CPU; bf16 on GPU
    zero_stage: int = 3  # DeepSpeed ZeRO stage 0-3 (3 partitions parameters, gradients, optimizer state)
    epochs: int = 1  # passes over the SFT set
    lr: float = 1.0e-5  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    batch_size_per_worker: int = 2  # sequences per worker per micro-step
    grad_accum: int = 1  # micro-steps per optimizer step
    max_length: int = 768  # longest training sequence in tokens (longer ones are truncated from the left)
    max_failures: int = 2  # worker deaths survived by restarting from the last checkpoint
    deepspeed_optimizer: bool = False  # DeepSpeed's fused AdamW (JIT-compiled; right on GPU)
    keep_checkpoints: bool = False  # ZeRO checkpoints are only needed until the model is exported


@dataclass
class EvalConfig:
    samples: int = 3  # k judgments per pair and order, majority-voted
    labelled_samples: int = 1  # k on the labelled sets (larger than the held-out split)
    labelled_max_tokens: int = 0  # reasoning tokens on the labelled sets; 0 = the verdict alone (one forward pass)
    temperature: float = 0.8  # sampling temperature of evaluation judgments
    top_p: float = 0.95  # nucleus sampling of evaluation judgments
    max_tokens: int = 96  # reasoning tokens before the forced verdict in evaluation
    both_orders: bool = True  # judge every pair as A-B and B-A: consistency and position bias
    baseline: bool = True  # also evaluate the seed judge M_0, as iteration 0


@dataclass
class RayConfig:
    address: Optional[str] = None  # None: RAY_ADDRESS if set, else a local cluster
    num_cpus: Optional[int] = None  # logical CPUs of a local cluster
    pool_size: int = 1  # engine actors per Ray Data stage
    actor_cpus: float = 1.0  # logical CPUs per engine actor (its torch threads follow)
    actor_gpus: float = 0.0  # GPUs per engine actor (0 on CPU)
    batch_size: int = 16  # rows per map_batches call on an engine actor
    block_rows: int = 256  # rows per block of an engine stage, the unit of resume; no-model steps this small run here


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
    vllm: VllmConfig = field(default_factory=VllmConfig)


# ---- jobs/train_judge.py ----
@dataclass
class JudgeDataConfig:
    path: Optional[str] = None  # JSONL / JSON / Parquet file, a saved `datasets` directory, or a hub dataset id
    split: Optional[str] = None  # for a dataset with splits (default: train)
    limit: Optional[int] = None  # the first N rows only


@dataclass
class RecipeConfig:
    """JudgeLM's data recipes; each decided per record from a derived seed."""

    swap_ratio: float = 0.5  # share of records whose A/B-swapped copy is used
    swap_mode: str = "add"  # add: original + swapped copy | replace: swapped in place (JudgeLM's code)
    reference: bool = True  # reference support: show the reference answer when the record has one
    reference_drop: float = 0.5  # of those, the share shown without it (reference drop)


@dataclass
class TrainJudgeConfig:
    model: str = "smollm2"  # base model to fine-tune: tiny | smollm2 | a HF directory | a Hugging Face id
    run: RunConfig = field(default_factory=lambda: RunConfig(name="judgelm"))
    data: JudgeDataConfig = field(default_factory=JudgeDataConfig)
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ray: RayConfig = field(default_factory=RayConfig)


# ---- jobs/evaluate.py ----
LAYOUTS = ("auto", "pandalm", "judgelm", "mtbench", "arena", "rewardbench", "llmbar", "autoj", "pairs")
FORMATS = ("auto", "judgelm", "pairwise")
MODES = ("single", "both", "vote", "both_vote")
VOTING_MODES = ("vote", "both_vote")  # modes that sample judge.samples judgments per order
GRADINGS = ("pairwise", "single_answer")
TIE_POLICIES = ("class", "exclude")
UNPARSEABLE_POLICIES = ("tie", "miss", "half")
PREDICTED_TIE_POLICIES = ("miss", "half")


@dataclass
class BenchmarkConfig:
    path: Optional[str] = None  # the benchmark file / dataset directory / hub id
    layout: str = "auto"  # auto | pandalm | judgelm | mtbench | arena | rewardbench | llmbar | autoj | pairs
    split: Optional[str] = None  # the split of a dataset with several (default: train, then test)
    limit: Optional[int] = None  # the first N usable examples only
    turn: int = 1  # MT-Bench: the turn judged (1-based)
    strict: bool = False  # refuse the file at its first unusable row instead of skipping and listing it


@dataclass
class EvalJudgeConfig:
    model: Optional[str] = None  # a preset, HF directory or id, or a self-taught run directory (every iteration)
    predictions: Optional[str] = None  # score a predictions JSONL instead of running a model
    format: str = "auto"  # judgelm (`s1 s2` scores) | pairwise ([[A]]/[[B]]) | auto (from the model's record)
    grading: str = "pairwise"  # pairwise | single_answer (each answer rated 1-10 alone, the higher wins)
    mode: str = "both"  # single (one order) | both (both orders, combined) | vote (k samples, majority) | both_vote
    samples: int = 3  # k for mode=vote and both_vote (both orders, k samples each, majority per order)
    temperature: float = 0.0  # 0 = greedy; vote needs > 0
    top_p: float = 1.0  # nucleus sampling of the judge
    max_tokens: int = 64  # longest judge output (reasoning or explanation) in tokens
    reference: bool = True  # show the benchmark's reference answer when it has one


@dataclass
class PolicyConfig:
    ties: str = "class"  # class: tie is a label and a prediction | exclude: tie-labelled examples left out
    unparseable: str = "tie"  # an unreadable output counts as: tie | miss (wrong) | half (0.5, RewardBench)
    predicted_ties: str = "miss"  # where tie is no class (two-class benchmark, ties excluded): miss | half


@dataclass
class EvaluateConfig:
    engine: str = "auto"  # auto (vLLM when it can run) | vllm | transformers
    run: RunConfig = field(default_factory=lambda: RunConfig(name="eval"))
    benchmark: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    judge: EvalJudgeConfig = field(default_factory=EvalJudgeConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    vllm: VllmConfig = field(default_factory=VllmConfig)


# ---- jobs/serve.py ----
@dataclass
class ServeSettings:
    app_name: str = "judge"  # the Serve application's name
    route_prefix: str = "/"  # where the judge routes are mounted
    host: str = "127.0.0.1"  # 0.0.0.0 on a cluster
    port: int = 8000  # HTTP port of the Serve proxy
    batching: bool = True  # @serve.batch: concurrent requests share one engine call
    max_batch_size: int = 8  # most requests one engine call serves
    batch_wait_timeout_s: float = 0.05  # how long a batch waits to fill
    max_input_tokens: int = 1536  # a longer prompt is a 413 naming the longest field
    max_samples: int = 8  # the most a `vote` request may ask for
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
    working_dir: Optional[str] = None  # runtime_env working_dir (a zip URI) in the generated Serve config
    pip: list[str] = field(default_factory=list)  # runtime_env pip packages in the generated Serve config


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


@dataclass
class ServeConfig:
    model: str = "smollm2"  # preset | HF directory | HF id | a self-taught run directory (its best iteration)
    engine: str = "auto"  # auto (vLLM when it can run) | vllm | transformers
    format: str = "auto"  # pairwise ([[A]]/[[B]], a constrained verdict) | judgelm (scores) | auto
    serve: ServeSettings = field(default_factory=ServeSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    vllm: VllmConfig = field(default_factory=VllmConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    write_serve_config: Optional[str] = None  # write the Serve config YAML (for `serve deploy`) here and exit


def _choice(problems: list[str], key: str, value: str, allowed: tuple) -> None:
    if value not in allowed:
        problems.append(f"{key}={value!r} must be one of {', '.join(allowed)}")


def _check_train(problems: list[str], t: TrainConfig) -> None:
    _choice(problems, "train.precision", t.precision, PRECISIONS)
    if t.zero_stage not in (0, 1, 2, 3):
        problems.append(f"train.zero_stage={t.zero_stage} must be 0..3")
    for k in ("workers", "epochs", "batch_size_per_worker", "grad_accum", "max_length"):
        if getattr(t, k) < 1:
            problems.append(f"train.{k}={getattr(t, k)} must be at least 1")


def _check_sampling(problems: list[str], name: str, t: Any) -> None:
    if t.temperature < 0:
        problems.append(f"{name}.temperature must be >= 0")
    if not 0 < t.top_p <= 1:
        problems.append(f"{name}.top_p must be in (0, 1]")


def _check(cfg: SelfTaughtConfig) -> None:
    """Value checks omegaconf's types can't express."""
    problems: list[str] = []
    if ":" not in cfg.engine:  # package.module:ClassName is an engine of one's own
        _choice(problems, "engine", cfg.engine, ENGINES)
    _check_train(problems, cfg.train)
    positive = {
        "iterations": cfg.iterations, "judge.samples": cfg.judge.samples, "eval.samples": cfg.eval.samples,
        "eval.labelled_samples": cfg.eval.labelled_samples,
        "ray.pool_size": cfg.ray.pool_size, "ray.batch_size": cfg.ray.batch_size, "ray.block_rows": cfg.ray.block_rows,
        "selection.per_category": cfg.selection.per_category,
        "generation.max_tokens": cfg.generation.max_tokens, "judge.max_tokens": cfg.judge.max_tokens,
    }
    problems += [f"{k}={v} must be at least 1" for k, v in positive.items() if v < 1]
    if cfg.eval.labelled_max_tokens < 0 or cfg.eval.max_tokens < 0:
        problems.append("eval.max_tokens and eval.labelled_max_tokens must be >= 0 (0 = the verdict alone)")
    if not 0.0 <= cfg.generation.eval_fraction < 1.0:
        problems.append(f"generation.eval_fraction={cfg.generation.eval_fraction} must be in [0, 1)")
    for name, t in (("judge", cfg.judge), ("eval", cfg.eval), ("generation", cfg.generation)):
        _check_sampling(problems, name, t)
    d = cfg.data
    if d.min_chars < 0 or d.max_chars < 0 or (d.max_chars and d.max_chars < d.min_chars):
        problems.append(f"data.min_chars={d.min_chars} and data.max_chars={d.max_chars} must be >= 0, "
                        "max_chars >= min_chars (or 0 = no limit)")
    if d.max_instructions is not None and d.max_instructions < 1:
        problems.append(f"data.max_instructions={d.max_instructions} must be at least 1 (or null = all)")
    if not cfg.selection.categories:
        problems.append("selection.categories must name at least one category")
    if len(cfg.selection.categories) > 26:
        problems.append("selection.categories: at most 26 (each is offered as a letter A-Z)")
    if not cfg.model:
        problems.append("model must name a preset (tiny, smollm2), a directory or a Hugging Face id")
    if problems:
        raise ConfigError("bad config: " + "; ".join(problems))



def _check_train_judge(cfg: TrainJudgeConfig) -> None:
    problems: list[str] = []
    if not cfg.data.path:
        problems.append("data.path must name the labelled judgments (JSONL, Parquet, or a datasets dir/id)")
    r = cfg.recipe
    _choice(problems, "recipe.swap_mode", r.swap_mode, ("add", "replace"))
    for k in ("swap_ratio", "reference_drop"):
        if not 0.0 <= getattr(r, k) <= 1.0:
            problems.append(f"recipe.{k}={getattr(r, k)} must be in [0, 1]")
    if cfg.data.limit is not None and cfg.data.limit < 1:
        problems.append("data.limit must be at least 1 (or null)")
    _check_train(problems, cfg.train)
    if problems:
        raise ConfigError("bad config: " + "; ".join(problems))


def _check_evaluate(cfg: EvaluateConfig) -> None:
    problems: list[str] = []
    j, b, p = cfg.judge, cfg.benchmark, cfg.policy
    _choice(problems, "engine", cfg.engine, ENGINES)
    _choice(problems, "benchmark.layout", b.layout, LAYOUTS)
    _choice(problems, "judge.format", j.format, FORMATS)
    _choice(problems, "judge.mode", j.mode, MODES)
    _choice(problems, "judge.grading", j.grading, GRADINGS)
    _choice(problems, "policy.ties", p.ties, TIE_POLICIES)
    _choice(problems, "policy.unparseable", p.unparseable, UNPARSEABLE_POLICIES)
    _choice(problems, "policy.predicted_ties", p.predicted_ties, PREDICTED_TIE_POLICIES)
    if not b.path:
        problems.append("benchmark.path must name the benchmark file or dataset")
    if bool(j.model) == bool(j.predictions):
        problems.append("give exactly one of judge.model (run a judge) and judge.predictions (score a file)")
    if j.samples < 1 or b.turn < 1:
        problems.append("judge.samples and benchmark.turn must be at least 1")
    if j.max_tokens < (0 if j.format == "pairwise" else 1):
        problems.append("judge.max_tokens must be at least 1 (0, the verdict alone, needs judge.format=pairwise)")
    if j.mode in VOTING_MODES and j.temperature <= 0 and j.model:
        problems.append(f"judge.mode={j.mode} samples k judgments: it needs judge.temperature > 0")
    _check_sampling(problems, "judge", j)
    if j.grading == "single_answer" and j.format == "pairwise":
        problems.append("judge.grading=single_answer rates one answer: judge.format must be auto or judgelm")
    if b.limit is not None and b.limit < 1:
        problems.append("benchmark.limit must be at least 1 (or null)")
    if problems:
        raise ConfigError("bad config: " + "; ".join(problems))


def _check_serve(cfg: ServeConfig) -> None:
    problems: list[str] = []
    s, d = cfg.serve, cfg.deployment
    _choice(problems, "engine", cfg.engine, ENGINES)
    _choice(problems, "format", cfg.format, FORMATS)
    if not cfg.model:
        problems.append("model must name a preset, a directory, a Hugging Face id or a self-taught run")
    if not 1 <= d.min_replicas <= d.max_replicas:
        problems.append(f"deployment.min_replicas={d.min_replicas} must be >= 1 and <= deployment.max_replicas="
                        f"{d.max_replicas}")
    if d.initial_replicas is not None and not d.min_replicas <= d.initial_replicas <= d.max_replicas:
        problems.append("deployment.initial_replicas must lie between min_replicas and max_replicas")
    if s.batching and d.max_ongoing_requests < s.max_batch_size:
        problems.append(f"deployment.max_ongoing_requests={d.max_ongoing_requests} must be >= serve.max_batch_size="
                        f"{s.max_batch_size} (it caps the batch)")
    for key, value in (("serve.max_batch_size", s.max_batch_size), ("serve.max_input_tokens", s.max_input_tokens),
                       ("serve.max_samples", s.max_samples), ("serve.vote_samples", s.vote_samples),
                       ("serve.max_tokens", s.max_tokens), ("deployment.max_ongoing_requests", d.max_ongoing_requests),
                       ("serve.max_body_bytes", s.max_body_bytes), ("serve.unhealthy_after", s.unhealthy_after),
                       ("deployment.max_queued_requests", d.max_queued_requests),
                       ("serve.openai_max_tokens", s.openai_max_tokens), ("serve.openai_max_n", s.openai_max_n),
                       ("serve.openai_max_prompt_chars", s.openai_max_prompt_chars)):
        if value < 1:
            problems.append(f"{key}={value} must be at least 1")
    if s.vote_samples > s.max_samples:
        problems.append("serve.vote_samples must be <= serve.max_samples")
    if s.request_timeout_s <= 0:
        problems.append("serve.request_timeout_s must be > 0")
    if d.health_check_period_s <= 0 or d.health_check_timeout_s <= 0:
        problems.append("deployment.health_check_period_s and health_check_timeout_s must be > 0")
    if d.target_ongoing_requests <= 0 or d.num_cpus < 0 or d.num_gpus < 0:
        problems.append("deployment.target_ongoing_requests must be > 0 and num_cpus/num_gpus >= 0")
    if not s.route_prefix.startswith("/") or not s.openai_route_prefix.startswith("/"):
        problems.append("serve.route_prefix and serve.openai_route_prefix must start with /")
    if s.openai and s.openai_route_prefix == s.route_prefix:
        problems.append("serve.openai_route_prefix must differ from serve.route_prefix")
    if problems:
        raise ConfigError("bad config: " + "; ".join(problems))


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
        obj = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"bad config ({path.name}): {_one_line(exc)}") from None
    CHECKS.get(type(obj), lambda _: None)(obj)
    return obj


CHECKS = {SelfTaughtConfig: _check, TrainJudgeConfig: _check_train_judge, EvaluateConfig: _check_evaluate,
          ServeConfig: _check_serve}
SCHEMAS.update({"self_taught": SelfTaughtConfig, "train_judge": TrainJudgeConfig, "evaluate": EvaluateConfig,
                "serve": ServeConfig})


def to_yaml(cfg: Any) -> str:
    """The resolved config exactly as run, for the run directory."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def config_from_yaml(text: str | dict, schema: type = SelfTaughtConfig) -> Any:
    """A config saved as YAML text (a run's config.yaml) or passed as a plain dict (Serve's `args`)."""
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.create(text)))


__all__ = ["SelfTaughtConfig", "TrainJudgeConfig", "EvaluateConfig", "ServeConfig", "schema_for", "load_config",
           "to_yaml", "config_from_yaml", "default_config_path", "CONF_DIR", "MISSING"]
