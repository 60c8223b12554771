"""The Ray Serve application: a FastAPI ingress over one judge deployment (autoscaled replicas, each with
its own engine). The OpenAI-compatible routes are a second app (`serving/openai_app.py`) behind the same guards.

    build_app(cfg)          -> the judge Application (serve.run / jobs/serve.py)
    app_builder(args)       -> the same from a plain dict: the `import_path` of the generated Serve config
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Optional


from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray import serve
from starlette.exceptions import HTTPException as StarletteHTTPException

from judge_ray.serving.batcher import EngineBatcher, Timing
from judge_ray.serving.guards import activate, builder_token_digest, guard
from judge_ray.serving.schemas import (ErrorBody, GradeRequest, GradeResponse, JudgeRequest, JudgeResponse,
                                       ModelCard, RankRequest, RankResponse)

if TYPE_CHECKING:
    from judge_ray.config import ServeConfig

api = FastAPI(title="judge_ray judge", version="1",
              description="Pairwise judgments (single, both, vote, debiased), rankings of N answers and "
                          "single-answer grades from a trained judge.")


def _error_body(message: str, status: int) -> dict:
    return ErrorBody(error=message).model_dump()


guard(api, open_paths=("/healthz",), error=_error_body)  # with a token set, the docs and the schema need it too


class HTTPError(Exception):
    def __init__(self, status: int, error: str, field: Optional[str] = None, headers: Optional[dict] = None):
        self.status, self.error, self.field, self.headers = status, error, field, headers


@api.exception_handler(HTTPError)
async def _http_error(_: Request, exc: HTTPError) -> JSONResponse:
    return JSONResponse(ErrorBody(error=exc.error, field=exc.field).model_dump(), status_code=exc.status,
                        headers=exc.headers)


ENGINE_RETRY_AFTER_S = "1"


async def within(seconds: float, work):
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


@api.exception_handler(StarletteHTTPException)
async def _framework_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    """FastAPI's and Starlette's own errors (a body that is not parseable JSON, nested past the parser's depth
    among them; an unknown route or method) in the endpoint's one error shape."""
    message = str(exc.detail)
    if exc.status_code == 400 and "parsing the body" in message:
        message = "the body could not be parsed as JSON"
    return JSONResponse(ErrorBody(error=message).model_dump(), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


@api.exception_handler(RequestValidationError)
async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422, reduced to the first problem and the field it concerns."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    field = ".".join(loc) or None
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    if "unable to parse raw data as a unicode string" in msg:  # pydantic's JSON reader met a lone surrogate
        msg = "must be valid Unicode text (a lone surrogate)"
    if first.get("type") == "json_invalid" or not loc and "dict" in msg:
        return JSONResponse(ErrorBody(error="the body must be a JSON object").model_dump(), status_code=400)
    return JSONResponse(ErrorBody(error=f"{field or 'body'}: {msg}", field=field).model_dump(), status_code=422)


def _decode_settings(settings: dict) -> ServeConfig:
    from judge_ray.config import ServeConfig, config_from_yaml

    return config_from_yaml(settings, ServeConfig)


@serve.deployment(name="JudgeDeployment")
@serve.ingress(api)
class JudgeDeployment:
    """One engine per replica; requests are gathered into batches (`serving/batcher.py`: taken when the engine is
    free) and judged in one engine call."""

    def __init__(self, settings: dict, token_sha256: Optional[str] = None):
        import torch

        from judge_ray.engines.factory import engine_options, make_engine
        from judge_ray.evaluation.runner import judge_format
        from judge_ray.logs import configure_worker
        from judge_ray.serving.health import EngineHealth
        from judge_ray.serving.model_source import served_model
        from judge_ray.serving.service import JudgeService

        configure_worker()
        cfg = _decode_settings(settings)
        self.cfg = cfg
        torch.set_num_threads(max(1, int(cfg.deployment.num_cpus)))
        path, self.model_name = served_model(cfg.model)
        fmt = judge_format(cfg.format, path, from_run=True)  # auto: the model's record, else pairwise
        engine = make_engine(cfg.engine, path, engine_options(cfg.vllm, cfg.ray, 0))
        self.service = JudgeService(engine, self.model_name, fmt, cfg.serve)
        self.card = ModelCard(id=self.model_name, format=fmt, engine=engine.name, source=path)
        self.health = EngineHealth(cfg.serve.unhealthy_after)
        activate(cfg.serve, token_sha256)
        size = cfg.serve.max_batch_size if cfg.serve.batching else 1
        wait = cfg.serve.batch_wait_timeout_s
        self._judge_batch = EngineBatcher(lambda reqs: self._in_thread(self.service.judge, reqs), size, wait)
        self._grade_batch = EngineBatcher(lambda reqs: self._in_thread(self.service.grade, reqs), size, wait)
        self._rank_batch = EngineBatcher(lambda reqs: self._in_thread(self.service.rank, reqs), size, wait)

    # ---- checks shared by the routes ----
    def _check_size(self, fields: dict[str, Optional[str]]) -> None:
        over = self.service.too_long(fields)
        if over:
            raise HTTPError(413, f"the input is {over[0]} tokens; the limit is {self.cfg.serve.max_input_tokens} "
                                 f"(longest field: {over[1]})", over[1])

    # ---- batched engine work ----
    async def _in_thread(self, work, requests: list[dict]) -> list[dict]:
        """A batch in a worker thread (health checks and new requests stay responsive meanwhile); an engine error
        fails only this batch's requests."""
        return await asyncio.to_thread(self.health.run, work, requests)

    @staticmethod
    def _timings(answered: tuple[dict, Timing]) -> dict:
        t = answered[1]
        return {"queue_ms": t.queue_ms, "batch_wait_ms": t.batch_wait_ms, "judge_ms": t.engine_ms,
                "batch_size": t.batch_size}

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
        if body.mode == "debiased" and self.service.fmt != "pairwise":
            raise HTTPError(422, "mode: debiased reads a pairwise judge's probabilities; this judge writes "
                                 f"{self.service.fmt} scores", "mode")
        self._check_size({"question": body.question, "answer_a": body.answer_a, "answer_b": body.answer_b,
                          "reference": body.reference, "context": body.context})
        answered = await within(self.cfg.serve.request_timeout_s, self._judge_batch.submit(body.model_dump()))
        out = _answer(answered[0])
        return JudgeResponse(winner=out["winner"], confidence=out["confidence"], orders_agree=out["orders_agree"],
                             prior=out.get("prior"), explanation=out["explanation"], mode=body.mode,
                             samples=out["samples"],
                             model=self.model_name, timings=self._timings(answered))

    @api.post("/v1/rank", response_model=RankResponse,
              responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody},
                         503: {"model": ErrorBody}, 504: {"model": ErrorBody}})
    async def rank(self, body: RankRequest) -> RankResponse:
        limit = self.cfg.serve.max_answers
        if len(body.answers) > limit:
            raise HTTPError(422, f"answers: {len(body.answers)} given, at most {limit} (serve.max_answers)", "answers")
        self._check_size({"question": body.question, "reference": body.reference, "context": body.context,
                          **{f"answers.{i}": a for i, a in enumerate(body.answers)}})
        answered = await within(self.cfg.serve.request_timeout_s, self._rank_batch.submit(body.model_dump()))
        out = _answer(answered[0])
        return RankResponse(**out, mode=body.mode, model=self.model_name, timings=self._timings(answered))

    @api.post("/v1/grade", response_model=GradeResponse,
              responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 422: {"model": ErrorBody},
                         503: {"model": ErrorBody}, 504: {"model": ErrorBody}})
    async def grade(self, body: GradeRequest) -> GradeResponse:
        self._check_size({"question": body.question, "answer": body.answer, "reference": body.reference,
                          "context": body.context})
        answered = await within(self.cfg.serve.request_timeout_s, self._grade_batch.submit(body.model_dump()))
        out = _answer(answered[0])
        return GradeResponse(score=out["score"], confidence=out["confidence"], explanation=out["explanation"],
                             model=self.model_name, timings=self._timings(answered))


def deployment_options(cfg: ServeConfig) -> dict:
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
            "health_check_period_s": d.health_check_period_s, "health_check_timeout_s": d.health_check_timeout_s,
            "ray_actor_options": {"num_cpus": d.num_cpus, "num_gpus": d.num_gpus}}


def settings_dict(cfg: ServeConfig) -> dict:
    from judge_ray.config import plain_dict

    return plain_dict(cfg)


def build_app(cfg: ServeConfig, token: Optional[str] = None):
    """The judge Application. `token` (from the launcher's environment) is passed to the replicas as its
    SHA-256 digest only, so its value never enters Ray's cluster state; on a cluster the replicas read it from
    their pod's environment (`serve.auth_token_env`) instead."""
    digest = builder_token_digest(cfg.serve, token)  # no token where one is needed: refused here
    return JudgeDeployment.options(**deployment_options(cfg)).bind(settings_dict(cfg), digest)


def app_builder(args: dict):
    """`import_path: judge_ray.serving.app:app_builder` with the config as `args` (serve deploy, RayService); the
    token is read from the builder's environment, and its absence on an exposed host refuses the build."""
    return build_app(_decode_settings(args))
