"""The transformers engine: runs wherever torch runs; the reference the vLLM engine is checked against.

Per-row seeds inside one batch: `generate` samples from torch's global RNG, so a row's sample would depend on
which rows shared its batch. Instead generation runs greedy over logits that `_PerRowSampler` has already
reduced to one token per row, drawn with that row's own generator: a row's output depends on its seed only.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch

from judge_ray.engines.base import (Choice, Engine, EngineOptions, SamplingParams, per_row, sample_choice,
                                    single_token_ids)


class _PerRowSampler:
    """A logits processor that samples each row with its own seeded generator (temperature, top-p)."""

    def __init__(self, params: Sequence[SamplingParams]):
        self.params = list(params)
        self.generators = [torch.Generator().manual_seed(int(p.seed)) for p in self.params]

    def sample(self, row: int, logits: torch.Tensor) -> int:
        p = self.params[row]
        logits = logits.float()
        if p.temperature <= 0:
            return int(torch.argmax(logits))
        probs = torch.softmax(logits / p.temperature, dim=-1)
        if p.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < p.top_p
            filtered = torch.zeros_like(probs)
            filtered[order[keep]] = probs[order[keep]]
            probs = filtered / filtered.sum()
        return int(torch.multinomial(probs, 1, generator=self.generators[row]))

    def next_token(self, row: int, logits: torch.Tensor) -> int:
        return self.sample(row, logits)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        forced = torch.full_like(scores, float("-inf"))
        for row in range(scores.shape[0]):
            forced[row, self.next_token(row, scores[row])] = 0.0
        return forced


class _ReasonThenChoose(_PerRowSampler):
    """Per row: sample the reasoning (until EOS or max_tokens), force the suffix tokens, then read the option
    log-probabilities from the raw logits at that step and emit the chosen option, then EOS.

    One `generate` call does what the base class does in two, reusing the KV cache of the reasoning.
    """

    def __init__(self, params: Sequence[SamplingParams], suffix_ids: list[int], option_ids: list[int],
                 options: Sequence[str], temperatures: Sequence[float], seeds: Sequence[int], eos_id: int):
        super().__init__(params)
        self.suffix_ids, self.option_ids, self.options = suffix_ids, option_ids, list(options)
        self.temperatures, self.seeds, self.eos_id = list(temperatures), list(seeds), eos_id
        self.steps = [0] * len(self.params)
        self.reason_len: list[int | None] = [None] * len(self.params)
        self.choices: list = [None] * len(self.params)

    def next_token(self, row: int, logits: torch.Tensor) -> int:
        """Sampling work only while a row is still reasoning; the rest is forced tokens."""
        step = self.steps[row]
        self.steps[row] += 1
        if self.reason_len[row] is None:
            token = self.sample(row, logits) if step < self.params[row].max_tokens else self.eos_id
            if token != self.eos_id:
                return token
            self.reason_len[row] = step
        k = step - self.reason_len[row]
        if k < len(self.suffix_ids):
            return self.suffix_ids[k]
        if k == len(self.suffix_ids):
            logprobs = torch.log_softmax(logits.float(), dim=-1)[self.option_ids].tolist()
            choice = sample_choice(dict(zip(self.options, logprobs)), self.temperatures[row], self.seeds[row])
            self.choices[row] = choice
            return self.option_ids[self.options.index(choice.choice)]
        return self.eos_id


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, model_path: str, options: EngineOptions | None = None, device: str | None = None):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        o = options or EngineOptions()
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = _torch_dtype(o.dtype, self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).to(self.device).eval()
        self.batch_size = o.batch_size
        positions = getattr(self.model.config, "max_position_embeddings", o.max_model_len) or o.max_model_len
        self.max_model_len = min(o.max_model_len, positions)

    def _pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=self.device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self.device)
        return ids, mask

    def _batched_generate(self, prompts: Sequence[str], params: Sequence[SamplingParams], extra_tokens: int,
                          make_processor):
        """Yield (prompt indices, new token ids, processor) per batch. Batches of similar length waste less
        padding; callers put results back in their original slots."""
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            budget = max(params[i].max_tokens for i in idx) + extra_tokens
            inputs = self._generation_inputs([self.encode(prompts[i], reserve=budget) for i in idx])
            processor = make_processor(idx)
            out = self.model.generate(
                **inputs, max_new_tokens=budget, do_sample=False,
                logits_processor=[processor], pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id, num_beams=1, temperature=None, top_p=None, top_k=None,
            )
            yield idx, out[:, inputs["input_ids"].shape[1]:], processor

    def _generation_inputs(self, rows: list[list[int]]) -> dict:
        """`generate`'s inputs for a batch of prompts.

        Why the shared prefix here too: a batch of judge prompts repeats the same instructions, and prefill was
        about a quarter of a batched endpoint call (py-spy, benchmarks/serve_load.py). Rows that share at least
        SHARED_PREFIX_MIN tokens get the prefix's KV cache computed once and repeated over the batch, and are
        padded between prefix and tail instead of on the left: positions come from the attention mask's
        cumulative sum, so every row sees the same positions as unpadded, and the prefix cache is the same for
        all. The plain left-padded batch otherwise."""
        shared = self._shared_prefix(rows)
        if shared is None:
            ids, mask = self._pad(rows)
            return {"input_ids": ids, "attention_mask": mask}
        prefix, cache, tails = shared
        width, pad = max(len(t) for t in tails), self.tokenizer.pad_token_id
        ids = torch.tensor([rows[0][:prefix] + [pad] * (width - len(t)) + t for t in tails], device=self.device)
        mask = torch.tensor([[1] * prefix + [0] * (width - len(t)) + [1] * len(t) for t in tails], device=self.device)
        return {"input_ids": ids, "attention_mask": mask, "past_key_values": cache}

    @torch.inference_mode()
    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        outputs: list[str] = [""] * len(prompts)
        batches = self._batched_generate(prompts, params, 0, lambda idx: _PerRowSampler([params[i] for i in idx]))
        for idx, new_tokens, _ in batches:
            for row, i in enumerate(idx):
                outputs[i] = self.tokenizer.decode(new_tokens[row, :params[i].max_tokens].tolist(),
                                                   skip_special_tokens=True)
        return outputs

    @torch.inference_mode()
    def generate_then_choose(self, prompts: Sequence[str], params: Sequence[SamplingParams], suffix: str,
                             options: Sequence[str], temperature: float | Sequence[float],
                             seeds: Sequence[int]) -> list[tuple[str, Choice]]:
        temps = per_row(temperature, len(prompts))
        suffix_ids = self.tokenizer.encode(suffix, add_special_tokens=False)
        option_ids = single_token_ids(self.tokenizer, options)
        machine = lambda idx: _ReasonThenChoose(  # noqa: E731
            [params[i] for i in idx], suffix_ids, option_ids, options, [temps[i] for i in idx],
            [seeds[i] for i in idx], self.tokenizer.eos_token_id)
        results: list = [None] * len(prompts)
        for idx, new_tokens, done in self._batched_generate(prompts, params, len(suffix_ids) + 2, machine):
            for row, i in enumerate(idx):
                reasoning = new_tokens[row, :done.reason_len[row]].tolist()
                results[i] = (self.tokenizer.decode(reasoning, skip_special_tokens=True), done.choices[row])
        return results

    @torch.inference_mode()
    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        token_ids = single_token_ids(self.tokenizer, options)
        results: list[dict[str, float]] = []
        for start in range(0, len(prompts), self.batch_size):
            logits = self.next_token_logits([self.encode(p, reserve=1) for p in prompts[start:start + self.batch_size]])
            logprobs = torch.log_softmax(logits, dim=-1)[:, token_ids].cpu().tolist()
            results += [dict(zip(options, row)) for row in logprobs]
        return results

    def _shared_prefix(self, rows: list[list[int]]) -> Optional[tuple[int, Any, list[list[int]]]]:
        """(prefix length, the prefix's KV cache repeated over the batch, each row's tail) when the rows share at
        least SHARED_PREFIX_MIN tokens (every row keeps a tail token); None for a batch with nothing to share."""
        prefix = min(_common_prefix_len(rows), min(len(r) for r in rows) - 1)
        if len(rows) < 2 or prefix < SHARED_PREFIX_MIN:
            return None
        cache = self.model(input_ids=torch.tensor([rows[0][:prefix]], device=self.device),
                           use_cache=True).past_key_values
        cache.batch_repeat_interleave(len(rows))
        return prefix, cache, [r[prefix:] for r in rows]

    @torch.inference_mode()
    def next_token_logits(self, rows: list[list[int]]) -> torch.Tensor:
        """Logits of the token after each row of ids.

        Why the shared prefix: every judge prompt opens with the same ~200-token instructions, and on a CPU a
        verdict is all prefill. Rows that share a prefix of at least SHARED_PREFIX_MIN tokens run it once (its KV
        cache is repeated over the batch) and only their differing tails, right-padded, after it: 3-4x less
        compute for a judge prompt, the same logits up to float rounding (tested).
        """
        shared = self._shared_prefix(rows)
        if shared is None:
            ids, mask = self._pad(rows)
            return self.model(input_ids=ids, attention_mask=mask).logits[:, -1, :].float()
        prefix, cache, tails = shared
        width, pad = max(len(t) for t in tails), self.tokenizer.pad_token_id
        ids = torch.tensor([t + [pad] * (width - len(t)) for t in tails], device=self.device)
        mask = torch.tensor([[1] * (prefix + len(t)) + [0] * (width - len(t)) for t in tails], device=self.device)
        positions = torch.arange(prefix, prefix + width, device=self.device).expand(len(rows), -1)
        logits = self.model(input_ids=ids, attention_mask=mask, past_key_values=cache, position_ids=positions,
                            use_cache=True).logits
        last = torch.tensor([len(t) - 1 for t in tails], device=self.device)
        return logits[torch.arange(len(rows), device=self.device), last, :].float()

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


SHARED_PREFIX_MIN = 32  # tokens; below this a second forward pass costs more than the prefix saves


def _common_prefix_len(rows: Sequence[Sequence[int]]) -> int:
    first, n = rows[0], min(len(r) for r in rows)
    for i in range(n):
        token = first[i]
        if any(r[i] != token for r in rows):
            return i
    return n


def _torch_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype in ("auto", ""):
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
