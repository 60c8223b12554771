"""The transformers engine: runs wherever torch runs; the reference the vLLM engine is checked against.

Per-row seeds inside one batch: `generate` samples from torch's global RNG, so a row's sample would depend on
which rows shared its batch. Instead generation runs greedy over logits that `_PerRowSampler` has already
reduced to one token per row, drawn with that row's own generator: a row's output depends on its seed only.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from judge_ray.engines.base import Choice, Engine, SamplingParams, per_row, sample_choice, single_token_ids


class _PerRowSampler:
    """A logits processor that samples each row with its own seeded generator (temperature, top-p)."""

    def __init__(self, params: Sequence[SamplingParams]):
        self.params = list(params)
        self.generators = [torch.Generator().manual_seed(int(p.seed)) for p in self.params]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        chosen = torch.empty(scores.shape[0], dtype=torch.long)
        for row, p in enumerate(self.params):
            logits = scores[row].float()
            if p.temperature <= 0:
                chosen[row] = int(torch.argmax(logits))
                continue
            probs = torch.softmax(logits / p.temperature, dim=-1)
            if p.top_p < 1.0:
                sorted_probs, order = torch.sort(probs, descending=True)
                keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < p.top_p
                filtered = torch.zeros_like(probs)
                filtered[order[keep]] = probs[order[keep]]
                probs = filtered / filtered.sum()
            chosen[row] = int(torch.multinomial(probs, 1, generator=self.generators[row]))
        forced = torch.full_like(scores, float("-inf"))
        forced[torch.arange(scores.shape[0]), chosen] = 0.0
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

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        sampled = torch.argmax(super().__call__(input_ids, scores), dim=-1)
        forced = torch.full_like(scores, float("-inf"))
        for row, p in enumerate(self.params):
            step = self.steps[row]
            self.steps[row] += 1
            if self.reason_len[row] is None:
                if step < p.max_tokens and int(sampled[row]) != self.eos_id:
                    token = int(sampled[row])
                else:
                    self.reason_len[row] = step
                    token = self.suffix_ids[0]
            else:
                k = step - self.reason_len[row]
                if k < len(self.suffix_ids):
                    token = self.suffix_ids[k]
                elif k == len(self.suffix_ids):
                    logprobs = torch.log_softmax(scores[row].float(), dim=-1)[self.option_ids].tolist()
                    choice = sample_choice(dict(zip(self.options, logprobs)), self.temperatures[row], self.seeds[row])
                    self.choices[row] = choice
                    token = self.option_ids[self.options.index(choice.choice)]
                else:
                    token = self.eos_id
            forced[row, token] = 0.0
        return forced


class TransformersEngine(Engine):
    name = "transformers"

    def __init__(self, model_path: str, batch_size: int = 16, dtype: str = "auto",
                 max_model_len: int = 2048, device: str | None = None, **_: Any):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = _torch_dtype(dtype, self.device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).to(self.device).eval()
        self.batch_size = batch_size
        positions = getattr(self.model.config, "max_position_embeddings", max_model_len) or max_model_len
        self.max_model_len = min(max_model_len, positions)

    def _pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=self.device)
        mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self.device)
        return ids, mask

    @torch.inference_mode()
    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        outputs: list[str] = [""] * len(prompts)
        # Batches of similar length waste less padding; results go back to their original slots.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch_params = [params[i] for i in idx]
            longest = max(p.max_tokens for p in batch_params)
            ids, mask = self._pad([self.encode(prompts[i], reserve=longest) for i in idx])
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=longest, do_sample=False,
                logits_processor=[_PerRowSampler(batch_params)], pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id, num_beams=1,
                temperature=None, top_p=None, top_k=None,
            )
            new_tokens = out[:, ids.shape[1]:]
            for row, i in enumerate(idx):
                tokens = new_tokens[row, :params[i].max_tokens].tolist()
                outputs[i] = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return outputs

    @torch.inference_mode()
    def generate_then_choose(self, prompts: Sequence[str], params: Sequence[SamplingParams], suffix: str,
                             options: Sequence[str], temperature: float | Sequence[float],
                             seeds: Sequence[int]) -> list[tuple[str, Choice]]:
        temps = per_row(temperature, len(prompts))
        suffix_ids = self.tokenizer.encode(suffix, add_special_tokens=False)
        option_ids = single_token_ids(self.tokenizer, options)
        results: list = [None] * len(prompts)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch_params = [params[i] for i in idx]
            budget = max(p.max_tokens for p in batch_params) + len(suffix_ids) + 2
            ids, mask = self._pad([self.encode(prompts[i], reserve=budget) for i in idx])
            machine = _ReasonThenChoose(batch_params, suffix_ids, option_ids, options, [temps[i] for i in idx],
                                        [seeds[i] for i in idx], self.tokenizer.eos_token_id)
            out = self.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=budget, do_sample=False,
                logits_processor=[machine], pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.tokenizer.eos_token_id, num_beams=1, temperature=None, top_p=None, top_k=None,
            )
            new_tokens = out[:, ids.shape[1]:]
            for row, i in enumerate(idx):
                reasoning = new_tokens[row, :machine.reason_len[row]].tolist()
                results[i] = (self.tokenizer.decode(reasoning, skip_special_tokens=True), machine.choices[row])
        return results

    @torch.inference_mode()
    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        token_ids = single_token_ids(self.tokenizer, options)
        results: list[dict[str, float]] = []
        for start in range(0, len(prompts), self.batch_size):
            ids, mask = self._pad([self.encode(p, reserve=1) for p in prompts[start:start + self.batch_size]])
            logits = self.model(input_ids=ids, attention_mask=mask).logits[:, -1, :].float()
            logprobs = torch.log_softmax(logits, dim=-1)[:, token_ids].cpu().tolist()
            results += [dict(zip(options, row)) for row in logprobs]
        return results

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _torch_dtype(dtype: str, device: str) -> torch.dtype:
    if dtype in ("auto", ""):
        return torch.bfloat16 if device == "cuda" else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
