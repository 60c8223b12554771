"""The endpoint's guards without Ray: the token (a digest, whitespace-tolerant, docs behind it, checked before
the body is read), the byte cap on bodies (declared or chunked), and exposure checks at launch."""
import asyncio
import os
import types

import httpx
import pytest

from judge_ray.errors import UserError
from judge_ray.serving.app import api, build_app
from judge_ray.serving.guards import ACTIVE_TOKEN_SHA256, MAX_BODY_BYTES, token_digest
from judge_ray.serving.launch import check_exposure

TOKEN = "s3cret"


@pytest.fixture()
def guarded(monkeypatch):
    monkeypatch.setitem(os.environ, ACTIVE_TOKEN_SHA256, token_digest(TOKEN))
    monkeypatch.setitem(os.environ, MAX_BODY_BYTES, "1000")


def call(method, path, **kwargs):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(go())


def test_docs_and_schema_need_the_token_when_one_is_set(guarded):
    for path in ("/docs", "/openapi.json"):
        assert call("GET", path).status_code == 401
    assert call("GET", "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert call("GET", "/openapi.json", headers={"Authorization": f"Bearer  {TOKEN}\n"}).status_code == 200


def test_token_is_checked_before_the_body_is_read(guarded):
    r = call("POST", "/v1/judge", content=b"x" * 5000)
    assert r.status_code == 401  # an anonymous caller is refused before its body is read


def test_oversized_bodies_are_refused_while_reading(guarded):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = call("POST", "/v1/judge", content=b"x" * 5000, headers=auth)
    assert r.status_code == 413 and "over 1000 bytes" in r.json()["error"]

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(50):
            yield b"y" * 100

    r = call("POST", "/v1/judge", content=chunks(), headers=auth)
    assert r.status_code == 413
    r = call("POST", "/v1/judge", content=b"x" * 10, headers={**auth, "Content-Length": "abc"})
    assert r.status_code in (400, 413)


def test_the_token_value_never_enters_the_application():
    from judge_ray.config import ServeConfig, load_config

    cfg = load_config(None, ["model=tiny"], ServeConfig)
    app = build_app(cfg, token=f"  {TOKEN}\n")
    args = repr(app._bound_deployment.init_args) + repr(app._bound_deployment.init_kwargs)
    assert TOKEN not in args and token_digest(TOKEN) in args


@pytest.mark.parametrize("host, env, anonymous, refused", [
    ("0.0.0.0", {}, False, True), ("0.0.0.0", {"T": " "}, False, True), ("0.0.0.0", {"T": "x"}, False, False),
    ("0.0.0.0", {}, True, False), ("127.0.0.1", {}, False, False), ("localhost", {}, False, False),
    ("10.1.2.3", {}, False, True),
])
def test_exposed_without_a_token_is_refused(host, env, anonymous, refused):
    s = types.SimpleNamespace(host=host, auth_token_env="T", allow_anonymous=anonymous)
    if refused:
        with pytest.raises(UserError, match="without a token"):
            check_exposure(s, env)
    else:
        check_exposure(s, env)


def _exposed(**serve) -> dict:
    """A plain-dict config as a RayService's serveConfigV2 passes it to the builders: bound to 0.0.0.0."""
    from judge_ray.config import ServeConfig, load_config, plain_dict

    overrides = ["model=tiny", "serve.host=0.0.0.0", *(f"serve.{k}={v}" for k, v in serve.items())]
    return plain_dict(load_config(None, overrides, ServeConfig))


def test_the_builders_fail_closed_without_a_token_wherever_they_run(monkeypatch):
    """The import paths a RayService or `serve deploy` calls, with the token variable unset where they run: both
    refuse (the OpenAI builder before it loads vLLM); with allow_anonymous, or the variable set, they build, and
    only the token's digest goes to the replicas."""
    from judge_ray.serving.app import app_builder
    from judge_ray.serving.openai_app import openai_builder

    monkeypatch.delenv("JUDGE_RAY_API_TOKEN", raising=False)
    for builder in (app_builder, openai_builder):
        with pytest.raises(UserError, match="JUDGE_RAY_API_TOKEN"):
            builder(_exposed())
    anonymous = app_builder(_exposed(allow_anonymous="true"))
    assert anonymous._bound_deployment.init_args[1] is None
    monkeypatch.setenv("JUDGE_RAY_API_TOKEN", f"{TOKEN}\n")
    built = app_builder(_exposed())
    args = repr(built._bound_deployment.init_args)
    assert TOKEN not in args.replace(token_digest(TOKEN), "") and token_digest(TOKEN) in args


def test_a_replica_without_a_token_refuses_to_start(monkeypatch):
    """A replica whose pod lacks the secret and that was given no digest does not serve anonymously."""
    from judge_ray.config import ServeConfig, load_config
    from judge_ray.serving.guards import activate

    monkeypatch.delenv("JUDGE_RAY_API_TOKEN", raising=False)
    s = load_config(None, ["model=tiny", "serve.host=0.0.0.0"], ServeConfig).serve
    with pytest.raises(UserError, match="without a token"):
        activate(s, None)
    activate(s, token_digest(TOKEN))  # the builder's digest arms it
    assert os.environ[ACTIVE_TOKEN_SHA256] == token_digest(TOKEN)
    os.environ.pop(ACTIVE_TOKEN_SHA256)
