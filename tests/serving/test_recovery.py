"""A replica whose engine dies is replaced: its batches fail as retryable 503s, its health check fails after
`serve.unhealthy_after` failed batches, Serve starts a new replica, and the endpoint answers again."""
import sys
import time

import httpx
import pytest
from ray import cloudpickle

from judge_ray.client import JudgeClient
from judge_ray.config import ServeConfig, load_config

pytestmark = pytest.mark.slow  # starts Ray and Serve

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}
APP = "fragile"


class DeadEngine:
    """Stands in for an engine whose process has died: its tokenizer still answers (it lives in the replica),
    every engine call raises."""

    def __init__(self, tokenizer):
        self.tokenizer, self.name = tokenizer, "dead"

    def __getattr__(self, item):
        raise RuntimeError("engine process died")


def _kill_engine(replica_actor) -> str:
    """Runs inside the replica (Ray's `__ray_call__`; Serve's private attributes of Ray 2.60): the deployment's
    engine is swapped for a dead one."""
    judge = replica_actor._replica_impl._user_callable_wrapper._callable
    judge.service.engine = DeadEngine(getattr(judge.service.engine, "tokenizer", None))
    return "killed"


cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the replica cannot import the tests package


def _replicas() -> list[str]:
    """Names of the app's live replica actors (each name carries the replica's unique id)."""
    import ray

    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == "serve" and f"{APP}#JudgeDeployment#" in a["name"]]


def test_a_replica_whose_engine_dies_is_replaced(serve_base, tiny_model):
    import ray
    from ray import serve

    from judge_ray.serving.app import build_app

    cfg = load_config(None, ["model=tiny", "engine=transformers", "serve.max_tokens=4", "serve.unhealthy_after=2",
                             "serve.batching=false", "deployment.max_replicas=1", "deployment.num_cpus=1",
                             "deployment.health_check_period_s=1", "deployment.health_check_timeout_s=10"],
                      ServeConfig)
    serve.run(build_app(cfg), name=APP, route_prefix=f"/{APP}")
    url = f"{serve_base}/{APP}"
    try:
        assert httpx.post(f"{url}/v1/judge", json=PAIR, timeout=120).status_code == 200
        (first,) = _replicas()
        actor = ray.get_actor(first, namespace="serve")
        assert ray.get(actor.__ray_call__.remote(_kill_engine)) == "killed"

        failed = [httpx.post(f"{url}/v1/judge", json=PAIR, timeout=120) for _ in range(2)]
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
