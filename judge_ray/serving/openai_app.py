"""The judge model through OpenAI-compatible routes: ray.serve.llm's ingress and vLLM deployment, behind the
same guards as the judge routes (bearer token on every route and on the docs, byte cap on bodies) plus
per-request limits on what a caller may ask of the engine (`max_tokens`, `n`, prompt length).

Only the routes a judge needs are mounted: /v1/models, /v1/models/{model}, /v1/completions and
/v1/chat/completions (no embeddings, scoring, tokenize or transcription routes to attack).

    build_openai(cfg, token)  -> the Application (serve.run / jobs/serve.py), or None without vLLM
    openai_builder(args)      -> the same from a plain dict: the `import_path` of the generated Serve config
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from ray import serve
from ray.serve.llm.ingress import OpenAiIngress, make_fastapi_ingress
from ray.serve.llm.openai_api_models import ChatCompletionRequest, CompletionRequest

from judge_ray.serving.app import _decode_settings, deployment_options, settings_dict
from judge_ray.serving.guards import activate, builder_token_digest, guard
from judge_ray.serving.openai_limits import OpenAILimits, chat_size, prompt_size, request_problem

if TYPE_CHECKING:
    from judge_ray.config import ServeConfig

ROUTES = {
    "models": lambda app: app.get("/v1/models"),
    "model_data": lambda app: app.get("/v1/models/{model:path}"),
    "completions": lambda app: app.post("/v1/completions"),
    "chat": lambda app: app.post("/v1/chat/completions"),
}

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 413: "invalid_request_error"}


def openai_error(message: str, status: int) -> dict:
    """An error body in the shape OpenAI clients parse."""
    return {"error": {"message": message, "type": ERROR_TYPES.get(status, "invalid_request_error"), "code": status}}


class GuardedOpenAiIngress(OpenAiIngress):
    """ray.serve.llm's OpenAI ingress with the judge endpoint's token and body cap armed in its replica and
    each generation request held to `serve.openai_max_*` before it reaches vLLM."""

    def __init__(self, llm_deployments: dict, model_cards: dict, *, lora_paths: Optional[dict] = None,
                 settings: dict, token_sha256: Optional[str] = None):
        super().__init__(llm_deployments, model_cards, lora_paths=lora_paths)
        s = _decode_settings(settings).serve
        activate(s, token_sha256)
        self.limits = OpenAILimits(s.openai_max_tokens, s.openai_max_n, s.openai_max_prompt_chars)

    def _refuse(self, max_tokens: Optional[int], n: Optional[int], size: int) -> Optional[Response]:
        problem = request_problem(self.limits, max_tokens=max_tokens, n=n, size=size)
        return JSONResponse(openai_error(problem, 400), status_code=400) if problem else None

    async def completions(self, body: CompletionRequest, request: Request) -> Response:
        refused = self._refuse(body.max_tokens, body.n, prompt_size(body.prompt))
        if refused:
            return refused
        if body.max_tokens is None:
            body.max_tokens = self.limits.max_tokens
        return await super().completions(body, request)

    async def chat(self, body: ChatCompletionRequest, request: Request) -> Response:
        asked = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        refused = self._refuse(asked, body.n, chat_size(body.messages))
        if refused:
            return refused
        if asked is None:
            body.max_completion_tokens = self.limits.max_tokens
        return await super().chat(body, request)


def llm_config(cfg: ServeConfig):
    """The vLLM deployment of the served model (ray.serve.llm's LLMConfig) from the judge's config."""
    from ray.serve.llm import LLMConfig

    from judge_ray.models import resolve_model
    from judge_ray.serving.model_source import served_source
    from judge_ray.storage import is_remote

    source, name = served_source(cfg.model)
    # a model on an object store is named to Ray's LLM as a cloud mirror: each replica downloads it on its own
    # node (a path into the driver's cache would not exist on the others)
    path = {"bucket_uri": source} if is_remote(source) else resolve_model(source)
    d, v = cfg.deployment, cfg.vllm
    engine_kwargs = {"dtype": "float32" if v.dtype == "auto" and not d.num_gpus else v.dtype,
                     "max_model_len": v.max_model_len, "enforce_eager": v.enforce_eager}
    if d.num_gpus:
        engine_kwargs["gpu_memory_utilization"] = v.gpu_memory_utilization
        engine_kwargs["tensor_parallel_size"] = v.tensor_parallel_size
    else:
        # On the CPU backend this fraction is of host memory and must be free at start (vLLM checks); the
        # KV cache is sized by VLLM_CPU_KVCACHE_SPACE instead.
        engine_kwargs["gpu_memory_utilization"] = 0.3
    return LLMConfig(model_loading_config={"model_id": name.replace("/", "-"), "model_source": path},
                     engine_kwargs=engine_kwargs,
                     runtime_env={"env_vars": {"VLLM_CPU_KVCACHE_SPACE": str(v.cpu_kvcache_gib)}},
                     placement_group_config={"bundles": [{"CPU": 1, **({"GPU": 1} if d.num_gpus else {})}]},
                     deployment_config={"autoscaling_config": deployment_options(cfg)["autoscaling_config"],
                                        "ray_actor_options": {"num_cpus": 1}})


def build_openai(cfg: ServeConfig, token: Optional[str] = None):
    """The guarded OpenAI-compatible Application on the served model, or None when vLLM can't run here. As
    for the judge app, `token` reaches the replicas as its SHA-256 digest only."""
    from judge_ray.engines.factory import vllm_available

    digest = builder_token_digest(cfg.serve, token)  # no token where one is needed: refused before vLLM loads
    if not vllm_available():
        return None
    from ray.serve.llm import build_llm_deployment

    from judge_ray.errors import UserError
    from judge_ray.serving.ray_llm import contract_problems, model_card, openai_fastapi

    problems = contract_problems()
    if problems:
        raise UserError("the OpenAI routes need the Ray they were written against: " + "; ".join(problems))
    llm = llm_config(cfg)
    app = openai_fastapi()  # Ray's own app for these routes; the guards go in front of it
    guard(app, open_paths=(), error=openai_error)
    ingress = make_fastapi_ingress(GuardedOpenAiIngress, endpoint_map=ROUTES, app=app)
    return serve.deployment(ingress).options(**GuardedOpenAiIngress.get_deployment_options([llm])).bind(
        llm_deployments={llm.model_id: build_llm_deployment(llm)},
        model_cards={llm.model_id: model_card(llm.model_id, llm)},
        settings=settings_dict(cfg), token_sha256=digest)


def openai_builder(args: dict):
    """`import_path` of the OpenAI-compatible app in the generated Serve config (resolved on the cluster; the
    replicas read the token from their pod's environment)."""
    from judge_ray.errors import UserError

    app = build_openai(_decode_settings(args))
    if app is None:
        raise UserError("serve.openai=true needs vLLM on the replicas")
    return app
