"""The Ray Serve application: a FastAPI ingress over one judge deployment (autoscaled replicas, each with
its own engine), plus, when asked and vLLM is installed, ray.serve.llm's OpenAI-compatible app.

    build_app(cfg)          -> the judge Application (serve.run / jobs/serve.py)
    app_builder(args)       -> the same from a plain dict: the `import_path` of the generated Serve config
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from typing import Any, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve

from judge_ray.serving.schemas import (ErrorBody, GradeRequest, GradeResponse, JudgeRequest, JudgeResponse,
                                       ModelCard)

api = FastAPI(title="judge_ray judge", version="1",
              description="Pairwise judgments (single, swap, vote) and single-answer grades from a trained judge.")
OPEN_ROUTES = {"/healthz"}  # with a token set, the docs and the schema need it too

# Per-replica settings the middlewares read. Kept in the process environment, not module globals: Serve ships
# the deployment class by value, so the class and these middlewares would each see their own copy of a global.
ACTIVE_TOKEN_SHA256 = "_JUDGE_RAY_TOKEN_SHA256"  # the digest only: the token itself is never stored here
MAX_BODY_BYTES = "_JUDGE_RAY_MAX_BODY_BYTES"
DEFAULT_MAX_BODY = 262144


def token_digest(token: str) -> str:
    """SHA-256 of a token with surrounding whitespace removed (a secret file's trailing newline still works)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


async def _reply(send, status: int, error: str) -> None:
    body = json.dumps(ErrorBody(error=error).model_dump()).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuses a request body over the replica's byte cap while reading it, before anything parses or
    tokenises it: a declared Content-Length over the cap is a 413 at once; a chunked body is counted as it
    arrives and refused the moment it passes the cap (at most the cap is ever held in memory)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = int(os.environ.get(MAX_BODY_BYTES) or DEFAULT_MAX_BODY)
        too_large = f"the request body is over {limit} bytes (serve.max_body_bytes)"
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await _reply(send, 413, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            size += len(message.get("body", b""))
            if size > limit:
                return await _reply(send, 413, too_large)
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body, replayed = b"".join(chunks), False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


api.add_middleware(BodyLimit)  # added first, so the token check below runs before any body is read


@api.middleware("http")
async def _require_token(request: Request, call_next):
    """Every route but health needs `Authorization: Bearer <token>` when a token is set (the API docs too);
    checked before the body is read, so an anonymous caller learns nothing about the schema."""
    expected = os.environ.get(ACTIVE_TOKEN_SHA256) or None
    path, root = request.url.path, request.scope.get("root_path", "")
    path = path[len(root):] if root and path.startswith(root) else path  # under a route prefix
    if expected is not None and path not in OPEN_ROUTES:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token_digest(given), expected):
            return JSONResponse(ErrorBody(error="missing or wrong bearer token (Authorization: Bearer <token>)")
                                .model_dump(), status_code=401)
    return await call_next(request)


class HTTPError(Exception):
    def __init__(self, status: int, error: str, field: Optional[str] = None, headers: Optional[dict] = None):
        self.status, self.error, self.field, self.headers = status, error, field, headers


@api.exception_handler(HTTPError)
async def _http_error(_: Request, exc: HTTPError) -> JSONResponse:
    return JSONResponse(ErrorBody(error=exc.error, field=exc.field).model_dump(), status_code=exc.status,
                        headers=exc.headers)


ENGINE_RETRY_AFTER_S = "1"


async def within(seconds: float, work) -> dict:
    """The batch's answer for this request, or a 504 once `serve.request_timeout_s` has passed: a hung engine
    must not hold a caller forever (the batch itself finishes or fails on its own; its health is tracked)."""
    try:
        return await asyncio.wait_for(work, timeout=seconds)
    except asyncio.TimeoutError:
        raise HTTPError(504, f"the judge did not answer within {seconds:g}s (serve.request_timeout_s); retry later",
                        headers={"Retry-After": ENGINE_RETRY_AFTER_S}) from None


def _answer(out: dict) -> dict:
    """A batch answer, or the engine's failure as a 503 the client may retry."""
    if "engine_error" in out:
        raise HTTPError(503, f"the judge engine failed on this request's batch ({out['engine_error']}); retry",
                        headers={"Retry-After": ENGINE_RETRY_AFTER_S})
    return out


@api.exception_handler(RequestValidationError)
async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, reduced to the first problem and the field it concerns."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    if first.get("type") == "json_invalid" or not loc and "dict" in msg:
        return JSONResponse(ErrorBody(error="the body must be a JSON object").model_dump(), status_code=400)
    return JSONResponse(ErrorBody(error=f"{field or 'body'}: {msg}", field=field).model_dump(), status_code=422)


def _decode_settings(settings: dict) -> Any:
    from judge_ray.config import ServeConfig, config_from_yaml

    return config_from_yaml(settings, ServeConfig)


@serve.deployment(name="JudgeDeployment")
@serve.ingress(api)
class JudgeDeployment:
    """One engine per replica; requests are gathered into batches (serve.batch) and judged in one engine call."""

    def __init__(self, settings: dict, token_sha256: Optional[str] = None):
        import torch

        from judge_ray.engines.factory import engine_options, make_engine
        from judge_ray.evaluation.runner import judge_format
        from judge_ray.serving.health import EngineHealth
        from judge_ray.serving.model_source import served_model
        from judge_ray.serving.service import JudgeService

        cfg = _decode_settings(settings)
        self.cfg = cfg
        torch.set_num_threads(max(1, int(cfg.deployment.num_cpus)))
        path, self.model_name = served_model(cfg.model)
        fmt = judge_format(cfg.format, path, from_run=True)  # auto: the model's record, else pairwise
        engine = make_engine(cfg.engine, path, **engine_options(cfg.vllm, cfg.ray, 0))
        self.service = JudgeService(engine, self.model_name, fmt, cfg.serve)
        self.card = ModelCard(id=self.model_name, format=fmt, engine=engine.name, source=path)
        self.health = EngineHealth(cfg.serve.unhealthy_after)
        # The token: the replica's own environment (a Kubernetes secret in the pod), else the digest the
        # launcher passed; either way only a digest is kept, and the value never enters the Serve config.
        token = os.environ.get(cfg.serve.auth_token_env, "").strip()
        digest = token_digest(token) if token else token_sha256
        if digest:
            os.environ[ACTIVE_TOKEN_SHA256] = digest
        else:
            os.environ.pop(ACTIVE_TOKEN_SHA256, None)
        os.environ[MAX_BODY_BYTES] = str(cfg.serve.max_body_bytes)
        size = cfg.serve.max_batch_size if cfg.serve.batching else 1
        self._judge_batch.set_max_batch_size(size)
        self._grade_batch.set_max_batch_size(size)
        self._judge_batch.set_batch_wait_timeout_s(cfg.serve.batch_wait_timeout_s)
        self._grade_batch.set_batch_wait_timeout_s(cfg.serve.batch_wait_timeout_s)

    # ---- checks shared by the routes ----
    def _check_size(self, fields: dict[str, Optional[str]]) -> None:
        over = self.service.too_long(fields)
        if over:
            raise HTTPError(413, f"the input is {over[0]} tokens; the limit is {self.cfg.serve.max_input_tokens} "
                                 f"(longest field: {over[1]})", over[1])

    # ---- batched engine work ----
    async def _timed(self, work, requests: list[dict]) -> list[dict]:
        """Run a batch in a worker thread (health stays responsive) and stamp each answer with its timing; an
        engine error fails only this batch's requests."""
        started = time.time()
        answers = await asyncio.to_thread(self.health.run, work, requests)
        ms = 1000 * (time.time() - started)
        return [{**a, "judge_ms": ms, "batch_size": len(requests)} for a in answers]

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def _judge_batch(self, requests: list[dict]) -> list[dict]:
        return await self._timed(self.service.judge, requests)

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def _grade_batch(self, requests: list[dict]) -> list[dict]:
        return await self._timed(self.service.grade, requests)

    @staticmethod
    def _timings(arrived: float, out: dict) -> dict:
        total = 1000 * (time.time() - arrived)
        return {"queue_ms": max(0.0, total - out["judge_ms"]), "judge_ms": out["judge_ms"],
                "batch_size": out["batch_size"]}

    def check_health(self) -> None:
        """Serve's periodic replica health check: fails once the engine has failed `serve.unhealthy_after`
        batches in a row, so Serve replaces this replica."""
        self.health.check()

    # ---- routes ----
    @api.get("/healthz")
    async def healthz(self) -> dict:
        return {"status": "ok", "model": self.model_name}

    @api.get("/v1/models", responses={401: {"model": ErrorBody}})
    async def models(self) -> dict:
        return {"object": "list", "data": [self.card.model_dump()]}

    @api.post("/v1/judge", response_model=JudgeResponse,
              responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody},
                         503: {"model": ErrorBody}, 504: {"model": ErrorBody}})
    async def judge(self, body: JudgeRequest) -> JudgeResponse:
        if body.mode != "vote" and body.samples not in (None, 1):
            raise HTTPError(422, "samples: only mode=vote takes several samples", "samples")
        if body.samples is not None and body.samples > self.cfg.serve.max_samples:
            raise HTTPError(422, f"samples: at most {self.cfg.serve.max_samples}", "samples")
        self._check_size({"question": body.question, "answer_a": body.answer_a, "answer_b": body.answer_b,
                          "reference": body.reference})
        arrived = time.time()
        out = _answer(await within(self.cfg.serve.request_timeout_s, self._judge_batch(body.model_dump())))
        return JudgeResponse(winner=out["winner"], confidence=out["confidence"], orders_agree=out["orders_agree"],
                             explanation=out["explanation"], mode=body.mode, samples=out["samples"],
                             model=self.model_name, timings=self._timings(arrived, out))

    @api.post("/v1/grade", response_model=GradeResponse,
              responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody},
                         503: {"model": ErrorBody}, 504: {"model": ErrorBody}})
    async def grade(self, body: GradeRequest) -> GradeResponse:
        self._check_size({"question": body.question, "answer": body.answer, "reference": body.reference})
        arrived = time.time()
        out = _answer(await within(self.cfg.serve.request_timeout_s, self._grade_batch(body.model_dump())))
        return GradeResponse(score=out["score"], confidence=out["confidence"], explanation=out["explanation"],
                             model=self.model_name, timings=self._timings(arrived, out))


def deployment_options(cfg: Any) -> dict:
    """Replicas/autoscaling/resources of the judge deployment, from conf (the same dict goes to the Serve config)."""
    d = cfg.deployment
    autoscaling = {"min_replicas": d.min_replicas, "max_replicas": d.max_replicas,
                   "target_ongoing_requests": d.target_ongoing_requests}
    if d.initial_replicas is not None:
        autoscaling["initial_replicas"] = d.initial_replicas
    return {"autoscaling_config": autoscaling, "max_ongoing_requests": d.max_ongoing_requests,
            "max_queued_requests": d.max_queued_requests,
            # a full queue answers 503 with Retry-After (the clients back off and retry)
            "backpressure_config": {"status_code": 503, "retry_after_s": float(d.queue_full_retry_after_s)},
            "ray_actor_options": {"num_cpus": d.num_cpus, "num_gpus": d.num_gpus}}


def settings_dict(cfg: Any) -> dict:
    from dataclasses import asdict

    return asdict(cfg)


def build_app(cfg: Any, token: Optional[str] = None):
    """The judge Application. `token` (from the launcher's environment) is passed to the replicas as its
    SHA-256 digest only, so its value never enters Ray's cluster state; on a cluster the replicas read it from
    their pod's environment (`serve.auth_token_env`) instead."""
    return JudgeDeployment.options(**deployment_options(cfg)).bind(
        settings_dict(cfg), token_digest(token) if token and token.strip() else None)


def app_builder(args: dict):
    """`import_path: judge_ray.serving.app:app_builder` with the config as `args` (serve deploy, RayService)."""
    return build_app(_decode_settings(args))


def build_openai(cfg: Any):
    """ray.serve.llm's OpenAI-compatible app on the same model (vLLM), or None when vLLM can't run here."""
    from judge_ray.engines.factory import vllm_available
    from judge_ray.serving.model_source import served_model

    if not vllm_available():
        return None
    from ray.serve.llm import LLMConfig, build_openai_app

    path, name = served_model(cfg.model)
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
    llm = LLMConfig(model_loading_config={"model_id": name.replace("/", "-"), "model_source": path},
                    engine_kwargs=engine_kwargs,
                    runtime_env={"env_vars": {"VLLM_CPU_KVCACHE_SPACE": str(v.cpu_kvcache_gib)}},
                    placement_group_config={"bundles": [{"CPU": 1, **({"GPU": 1} if d.num_gpus else {})}]},
                    deployment_config={"autoscaling_config": deployment_options(cfg)["autoscaling_config"],
                                       "ray_actor_options": {"num_cpus": 1}})
    return build_openai_app({"llm_configs": [llm]})


def openai_builder(args: dict):
    """`import_path` of the OpenAI-compatible app in the generated Serve config (resolved on the cluster)."""
    from judge_ray.errors import UserError

    app = build_openai(_decode_settings(args))
    if app is None:
        raise UserError("serve.openai=true needs vLLM on the replicas")
    return app
