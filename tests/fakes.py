"""A fake engine for judge logic (like prometheus-eval's MockLLM): deterministic, no model, no Ray."""
from __future__ import annotations

import math
import random
from typing import Sequence

from judge_ray.engines.base import Engine, EngineOptions, SamplingParams


def _slots(prompt: str, names: str) -> list[str]:
    """The answers of a judge prompt, in slot order (Assistant 1, 2, ... or A, B, ...)."""
    found = []
    for name in names:
        start = f"[The Start of Assistant {name}'s Answer]"
        if start not in prompt:
            break
        found.append(prompt.split(start)[1].split(f"[The End of Assistant {name}")[0])
    return found


class FakeEngine(Engine):
    """Generates `"<reply seed=S> ..."`; prefers the option whose slot holds an answer containing `good_word`.

    `free_verdicts` makes the free text end with a well-formed verdict for that share of prompts (by seed).
    """

    name = "fake"

    def __init__(self, good_word: str = "GOOD", confidence: float = 2.0, free_verdicts: float = 0.0,
                 replies: dict[str, str] | None = None):
        self.tokenizer = None
        self.max_model_len = 4096
        self.good_word, self.confidence, self.free_verdicts = good_word, confidence, free_verdicts
        self.replies = replies or {}
        self.calls: list[tuple[str, int]] = []

    def chat(self, user: str, assistant_prefix: str = "", system=None) -> str:
        return f"<user>{user}</user><assistant>{assistant_prefix}"

    def _score(self, text: str) -> int:
        return 9 if self.good_word in text else 2

    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        out = []
        for prompt, p in zip(prompts, params):
            self.calls.append(("generate", p.seed))
            if "UNREADABLE" in prompt:  # a judge that writes no verdict for this example
                out.append("I cannot decide.")
                continue
            if "[The Start of Assistant 1's Answer]" in prompt:  # JudgeLM: score each slot by its content
                slots = _slots(prompt, "123456789")
                out.append(" ".join(str(self._score(a)) for a in slots) + "\nAssistant 1 vs the others.")
                continue
            if "[The Start of Assistant C's Answer]" in prompt:  # pairwise over N >= 3: name the best slot
                scores = [self._score(a) for a in _slots(prompt, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
                out.append(f"Compared them. [[{'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[scores.index(max(scores))]}]]")
                continue
            if "[The Start of Assistant's Answer]" in prompt and 'Score: [[0.5]]' in prompt:  # 0-1 grading
                answer = prompt.split("[The Start of Assistant's Answer]")[1]
                out.append(f"Compared.\nScore: [[{1.0 if self.good_word in answer else 0.2}]]")
                continue
            if "[The Start of Assistant's Answer]" in prompt:  # single-answer grading
                answer = prompt.split("[The Start of Assistant's Answer]")[1]
                out.append(f"Explained.\nRating: [[{self._score(answer)}]]")
                continue
            for key, reply in self.replies.items():
                if key in prompt:
                    out.append(reply)
                    break
            else:
                rng = random.Random(p.seed)
                text = f"reply seed={p.seed} word{rng.randint(0, 99)}"
                if rng.random() < self.free_verdicts:
                    text += " so [[A]]" if rng.random() < 0.5 else " so [[B]]"
                out.append(text)
        return out

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        results = []
        for prompt in prompts:
            self.calls.append(("choose", 0))
            scores = {o: 0.0 for o in options}
            if options and options[0] == "A" and "Assistant A's Answer]" in prompt:  # pairwise over N slots
                for o, answer in zip(options, _slots(prompt, "".join(options))):
                    scores[o] = self.confidence * (self.good_word in answer)
            elif list(options) == ["0", "1"] and prompt.endswith("Score: [["):  # a 0-1 grade: 1 for the good answer
                answer = prompt.split("[The Start of Assistant's Answer]")[1]
                scores["1" if self.good_word in answer else "0"] = self.confidence
            elif options and options[0] == "0" and prompt.endswith("Score: [[0."):  # the tenth: 0.2
                scores["2"] = self.confidence
            elif options and options[0] == "1":  # difficulty: longer instructions are "harder"
                scores = {o: (int(o) if len(prompt) > 400 else -int(o)) * 0.5 for o in options}
            else:  # categories: the first option
                scores[options[0]] = 1.0
            top = max(scores.values())
            norm = math.log(sum(math.exp(v - top) for v in scores.values())) + top
            results.append({o: v - norm for o, v in scores.items()})
        return results


class PathEngine(FakeEngine):
    """The fake as `engine=tests.fakes:PathEngine` builds it: `Class(model_path, options)`, the contract of an
    engine of one's own."""

    def __init__(self, model_path: str, options: EngineOptions | None = None):
        super().__init__()
        self.model_path, self.options = model_path, options


class FragileEngine(PathEngine):
    """`engine=tests.fakes:FragileEngine`: judges like the fake until a prompt carries `DIES`; from then on every
    call raises, as an engine whose process has died would (the replica and its tokenizer-free checks live on)."""

    DIES = "ENGINE-DIES-HERE"

    def __init__(self, model_path: str, options: EngineOptions | None = None):
        super().__init__(model_path, options)
        self.dead = False

    def _check(self, prompts: Sequence[str]) -> None:
        if self.dead or any(self.DIES in p for p in prompts):
            self.dead = True
            raise RuntimeError("engine process died")

    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        self._check(prompts)
        return super()._generate(prompts, params)

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        self._check(prompts)
        return super().option_logprobs(prompts, options)
