"""What the OpenAI routes take from ray.llm beyond its public API still matches the pinned Ray (no Ray started)."""
import pytest

from judge_ray.engines.factory import vllm_available
from judge_ray.serving import ray_llm

pytestmark = pytest.mark.skipif(not vllm_available(), reason="ray.serve.llm needs vLLM")


def test_the_ray_llm_contract_holds_for_the_pinned_ray():
    assert ray_llm.contract_problems() == []


def test_a_changed_ingress_is_named(monkeypatch):
    import ray.serve.llm.ingress as ingress

    class Renamed(ingress.OpenAiIngress):  # a Ray that renamed chat's parameters and dropped get_deployment_options
        async def chat(self, payload):
            return None

        get_deployment_options = None

    monkeypatch.setattr(ingress, "OpenAiIngress", Renamed)
    monkeypatch.setattr(ray_llm, "RAY_VERSION", "2.59.0")
    problems = " | ".join(ray_llm.contract_problems())
    assert "OpenAiIngress.chat no longer takes ['body', 'request']" in problems
    assert "OpenAiIngress.get_deployment_options is gone" in problems and "written against 2.59.0" in problems
