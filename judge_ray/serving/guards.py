"""The guards every served app shares (the judge routes and the OpenAI-compatible routes): a bearer token
checked before anything else, and a byte cap on request bodies enforced while reading. Plain ASGI middlewares,
so they sit in front of any FastAPI app, including the one ray.serve.llm builds.

Per-replica settings are kept in the process environment, not module globals: Serve ships a deployment class
by value, so the class and these middlewares would each see their own copy of a global."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:
    from judge_ray.config import ServeSettings


ACTIVE_TOKEN_SHA256 = "_JUDGE_RAY_TOKEN_SHA256"  # the digest only: the token itself is never stored here
MAX_BODY_BYTES = "_JUDGE_RAY_MAX_BODY_BYTES"
DEFAULT_MAX_BODY = 262144


def token_digest(token: str) -> str:
    """SHA-256 of a token with surrounding whitespace removed (a secret file's trailing newline still works)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


LOOPBACK = ("127.", "localhost", "::1")


def anonymous_problem(s: ServeSettings, has_token: bool) -> Optional[str]:
    """Why serving without a token is refused here, or None: an endpoint reachable from other machines
    (`serve.host` not loopback) is never anonymous unless `serve.allow_anonymous` says so."""
    if has_token or s.allow_anonymous or s.host.startswith(LOOPBACK):
        return None
    return (f"serve.host={s.host} exposes the endpoint beyond this machine without a token: set "
            f"{s.auth_token_env}, or bind 127.0.0.1, or pass serve.allow_anonymous=true")


def builder_token_digest(s: ServeSettings, token: Optional[str] = None) -> Optional[str]:
    """The token digest an app builder hands its replicas: the launcher's token, else the builder's own
    environment (`serve.auth_token_env`: a RayService pod's secret). No token where one is needed is a UserError,
    wherever the builder runs (jobs/serve.py, `serve deploy`, a RayService): it fails closed."""
    from judge_ray.errors import UserError

    token = (token or os.environ.get(s.auth_token_env, "")).strip()
    problem = anonymous_problem(s, bool(token))
    if problem:
        raise UserError(problem)
    return token_digest(token) if token else None


def activate(serve_settings: ServeSettings, token_sha256: Optional[str]) -> None:
    """Arm this replica's guards. The token comes from the replica's own environment (a Kubernetes secret in
    the pod), else the digest the builder passed; either way only a digest is kept, and the value never
    enters the Serve config or Ray's cluster state. A replica that would serve anonymously where that is not
    allowed refuses to start (fails closed, like the builders)."""
    from judge_ray.errors import UserError

    token = os.environ.get(serve_settings.auth_token_env, "").strip()
    digest = token_digest(token) if token else token_sha256
    problem = anonymous_problem(serve_settings, bool(digest))
    if problem:
        raise UserError(problem)
    if digest:
        os.environ[ACTIVE_TOKEN_SHA256] = digest
    else:
        os.environ.pop(ACTIVE_TOKEN_SHA256, None)
    os.environ[MAX_BODY_BYTES] = str(serve_settings.max_body_bytes)


async def reply(send, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def _error(message: str, status: int) -> dict:
    return {"error": message}


class RequireToken:
    """Every route but `open_paths` needs `Authorization: Bearer <token>` when a token is set (the API docs and
    schema too), checked before the body is read, so an anonymous caller learns nothing about the API.
    Websockets are held to the same rule."""

    def __init__(self, app, open_paths: Iterable[str] = ("/healthz",), error=_error):
        self.app, self.open_paths, self.error = app, frozenset(open_paths), error

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        expected = os.environ.get(ACTIVE_TOKEN_SHA256) or None
        path, root = scope.get("path", ""), scope.get("root_path", "")
        path = path[len(root):] if root and path.startswith(root) else path  # under a route prefix
        if expected is None or path in self.open_paths or self._allowed(scope, expected):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        return await reply(send, 401, self.error("missing or wrong bearer token (Authorization: Bearer <token>)", 401))

    @staticmethod
    def _allowed(scope, expected: str) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, given = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token_digest(given), expected)


class BodyLimit:
    """Refuses a request body over the replica's byte cap while reading it, before anything parses or
    tokenises it: a declared Content-Length over the cap is a 413 at once; a chunked body is counted as it
    arrives and refused the moment it passes the cap (at most the cap is ever held in memory)."""

    def __init__(self, app, error=_error):
        self.app, self.error = app, error

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = int(os.environ.get(MAX_BODY_BYTES) or DEFAULT_MAX_BODY)
        too_large = self.error(f"the request body is over {limit} bytes (serve.max_body_bytes)", 413)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await reply(send, 413, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            size += len(message.get("body", b""))
            if size > limit:
                return await reply(send, 413, too_large)
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


def guard(app, open_paths: Iterable[str] = ("/healthz",), error=_error) -> None:
    """Put both guards in front of a FastAPI/Starlette app: the token first, then the body cap (middlewares
    run last-added first)."""
    app.add_middleware(BodyLimit, error=error)
    app.add_middleware(RequireToken, open_paths=open_paths, error=error)
