"""The engine interface the pipeline stages are written against.

Both implementations take the same token ids (our tokenizer, chat template applied, no special tokens added)
and share the constrained-choice sampler below, so the stages above see the same outputs from either engine.
"""
from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from judge_ray.errors import UserError
from judge_ray.formats.chat import render_chat


@dataclass(frozen=True)
class EngineOptions:
    """What an engine is built with: `Engine(model_path, options)`, every kind alike (the config's `vllm` and
    `ray` sections, `engines.factory.engine_options`). Each engine reads the fields that apply to it."""

    dtype: str = "auto"  # auto: the model's own (bfloat16 on GPU where it has it); float32 for CPU tests
    max_model_len: int = 2048  # longest prompt + generation
    seed: int = 0  # the engine's own seed (every request also carries its own)
    batch_size: int = 16  # transformers: prompts per forward pass
    gpu_memory_utilization: float = 0.85  # vLLM: share of GPU memory it may take
    enforce_eager: bool = True  # vLLM: no CUDA graphs / torch.compile (~20 s per start on CPU)
    cpu_kvcache_gib: int = 1  # vLLM on CPU: KV cache size
    tensor_parallel_size: int = 1  # vLLM: GPUs one engine shards the model over


@dataclass(frozen=True)
class SamplingParams:
    """One request's sampling: one completion, reproducible from its own seed whatever its batch. Several
    samples of a prompt are several requests, each with a seed derived for it (`stages.seeds.derive_seed`)."""

    max_tokens: int = 128
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0


@dataclass(frozen=True)
class Choice:
    """A constrained choice: the option taken and the model's probability of each option (renormalised)."""

    choice: str
    probs: dict[str, float]

    @property
    def prob(self) -> float:
        return self.probs[self.choice]


def sample_choice(logprobs: dict[str, float], temperature: float, seed: int) -> Choice:
    """Pick among options from their log-probabilities: argmax at temperature 0, else a seeded draw.

    `probs` are the model's own relative probabilities (temperature 1); the draw uses `temperature`.
    """
    options = list(logprobs)
    top = max(logprobs.values())
    weights = [math.exp(logprobs[o] - top) for o in options]
    total = sum(weights)
    probs = {o: w / total for o, w in zip(options, weights)}
    if temperature <= 0:
        return Choice(max(options, key=lambda o: logprobs[o]), probs)
    tempered = [math.exp((logprobs[o] - top) / temperature) for o in options]
    pick = random.Random(seed).choices(options, weights=tempered, k=1)[0]
    return Choice(pick, probs)


def per_row(value: float | Sequence[float], n: int) -> list[float]:
    return [float(value)] * n if isinstance(value, (int, float)) else [float(v) for v in value]


def single_token_ids(tokenizer: Any, options: Sequence[str]) -> list[int]:
    """Each option must be one token, so its probability is one next-token probability."""
    ids = []
    for option in options:
        encoded = tokenizer.encode(option, add_special_tokens=False)
        if len(encoded) != 1:
            raise UserError(f"choice {option!r} is {len(encoded)} tokens for this tokenizer; choices must be one token")
        ids.append(encoded[0])
    return ids


class Engine(ABC):
    """Batched generation plus a constrained choice, on one model."""

    name: str = "engine"
    tokenizer: Any
    max_model_len: int

    def chat(self, user: str, assistant_prefix: str = "", system: Optional[str] = None) -> str:
        return render_chat(self.tokenizer, user, assistant_prefix, system)

    def encode(self, text: str, reserve: int = 0) -> list[int]:
        """Token ids of a rendered prompt; over-long prompts keep their end (where the question to answer is)."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        limit = max(1, self.max_model_len - reserve)
        return ids[-limit:]

    def generate(self, prompts: Sequence[str], params: SamplingParams | Sequence[SamplingParams]) -> list[str]:
        """One completion per rendered prompt (one SamplingParams for all, or one per prompt)."""
        if isinstance(params, SamplingParams):
            params = [params] * len(prompts)
        if len(params) != len(prompts):
            raise ValueError("one SamplingParams per prompt")
        return self._generate(list(prompts), list(params)) if prompts else []

    def choose(self, prompts: Sequence[str], options: Sequence[str], temperature: float | Sequence[float],
               seeds: Sequence[int]) -> list[Choice]:
        """The next token after each prompt, restricted to `options` (single tokens); one temperature for all
        or one per prompt.

        Repeated prompts (N verdict-alone samples of one pair) are read once: the forward pass is the same,
        only each row's seeded draw differs.
        """
        unique = list(dict.fromkeys(prompts))
        read = dict(zip(unique, self.option_logprobs(unique, options))) if unique else {}
        temps = per_row(temperature, len(prompts))
        return [sample_choice(read[p], t, seed) for p, t, seed in zip(prompts, temps, seeds)]

    def generate_then_choose(self, prompts: Sequence[str], params: Sequence[SamplingParams], suffix: str,
                             options: Sequence[str], temperature: float | Sequence[float],
                             seeds: Sequence[int]) -> list[tuple[str, Choice]]:
        """Generate a continuation, append `suffix`, then make a constrained choice (a judgment's reasoning and
        its verdict). The verdict prompt is the chat prompt + the generated text + suffix.

        This default does two engine calls; vLLM's prefix cache makes the second nearly free. Engines without
        one override it to do both in one pass.
        """
        texts = self.generate(prompts, params)
        choices = self.choose([p + t + suffix for p, t in zip(prompts, texts)], options, temperature, seeds)
        return list(zip(texts, choices))

    @abstractmethod
    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        """One completion per (prompt, params)."""

    @abstractmethod
    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        """log p(option | prompt) for each single-token option."""

    def close(self) -> None:
        """Release the model (engine processes, GPU memory)."""
