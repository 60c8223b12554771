"""A replica whose engine dies is replaced: its batches fail as retryable 503s, its health check fails after
`serve.unhealthy_after` failed batches, Serve starts a new replica, and the endpoint answers again."""
import time

import httpx
import pytest

from judge_ray.client import JudgeClient
from judge_ray.config import ServeConfig, load_config
from tests.fakes import FragileEngine

pytestmark = pytest.mark.slow  # starts Ray and Serve

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}
APP = "fragile"


def _replicas() -> list[str]:
    """Names of the app's live replica actors (each name carries the replica's unique id)."""
    import ray

    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == "serve" and f"{APP}#JudgeDeployment#" in a["name"]]


def test_a_replica_whose_engine_dies_is_replaced(serve_base, tiny_model):
    from ray import serve

    from judge_ray.serving.app import build_app

    # the engine is an engine of one's own by import path, built in the replica like any other; a request that
    # carries its trigger kills it for good
    cfg = load_config(None, ["model=tiny", "engine=tests.fakes:FragileEngine", "serve.max_tokens=4",
                             "serve.unhealthy_after=2",
                             "serve.batching=false", "deployment.max_replicas=1", "deployment.num_cpus=1",
                             "deployment.health_check_period_s=1", "deployment.health_check_timeout_s=10"],
                      ServeConfig)
    serve.run(build_app(cfg), name=APP, route_prefix=f"/{APP}")
    url = f"{serve_base}/{APP}"
    try:
        assert httpx.post(f"{url}/v1/judge", json=PAIR, timeout=120).status_code == 200
        (first,) = _replicas()
        fatal = {**PAIR, "question": f"What is 2+2? {FragileEngine.DIES}"}
        failed = [httpx.post(f"{url}/v1/judge", json=body, timeout=120) for body in (fatal, PAIR)]
        assert [r.status_code for r in failed] == [503, 503]
        assert all(r.headers["retry-after"] == "1" and "engine process died" in r.json()["error"] for r in failed)

        deadline = time.time() + 120
        while time.time() < deadline and (first in _replicas() or len(_replicas()) != 1):
            time.sleep(1)  # the old replica stops once its health check has failed; a new one starts
        (second,) = _replicas()
        assert second != first  # Serve replaced the replica whose health check failed
        with JudgeClient(url, retries=20, backoff_s=0.5) as client:
            assert client.judge(**PAIR)["winner"] in ("A", "B")
    finally:
        serve.delete(APP)
