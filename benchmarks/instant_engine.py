"""A trivial engine for measuring the data plane alone (benchmarks/scale.py): answers in microseconds, no model.

It keeps the contract the stages rely on — a modified instruction that differs from the original, answers that
differ between y_w and y_l, a log-probability for every option — and derives everything from the prompt and
seed, so runs are reproducible. Loaded by Ray workers as `engine=instant_engine:InstantEngine` with this folder
on PYTHONPATH.
"""
from __future__ import annotations

import hashlib
from typing import Sequence

from judge_ray.engines.base import Engine, EngineOptions, SamplingParams


def _unit(text: str) -> float:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little") / 2**32


class InstantEngine(Engine):
    name = "instant"

    def __init__(self, model_path: str = "", options: EngineOptions | None = None):  # no model: options unused
        self.tokenizer = None
        self.max_model_len = 1 << 20

    def chat(self, user: str, assistant_prefix: str = "", system=None) -> str:
        return f"{user}\n>>{assistant_prefix}"

    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        return [f"Variant {p.seed}: {len(prompt) % 97} things to say." for prompt, p in zip(prompts, params)]

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        import math

        out = []
        for prompt in prompts:
            weights = {o: 0.1 + _unit(prompt + o) for o in options}
            total = sum(weights.values())
            out.append({o: math.log(w / total) for o, w in weights.items()})
        return out
