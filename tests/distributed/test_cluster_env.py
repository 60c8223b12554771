"""What the driver adds to its workers' environment under `ray job submit`: Ray refuses a driver runtime_env
whose env_vars name a variable the job's own runtime_env names too, so those are left to the job (no Ray)."""
from __future__ import annotations

import json

from judge_ray.distributed.cluster import _not_set_by_the_job


def test_variables_the_submitted_job_sets_are_left_to_the_job(monkeypatch):
    job = {"runtime_env": {"env_vars": {"AWS_ENDPOINT_URL": "http://minio:9000", "OMP_NUM_THREADS": "4"}}}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps(job))
    env = {"AWS_ENDPOINT_URL": "http://driver:1", "AWS_REGION": "eu-west-1", "OMP_NUM_THREADS": "1"}
    assert _not_set_by_the_job(env) == {"AWS_REGION": "eu-west-1"}


def test_outside_a_submitted_job_every_variable_goes(monkeypatch):
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    assert _not_set_by_the_job({"A": "1"}) == {"A": "1"}
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", json.dumps({"runtime_env": None}))
    assert _not_set_by_the_job({"A": "1"}) == {"A": "1"}
