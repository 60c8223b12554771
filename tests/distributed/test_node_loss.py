"""Work lost with a node is retried; everything else is raised at once (no Ray started)."""
from __future__ import annotations

import logging

import pytest
from ray.exceptions import ActorDiedError, RayTaskError

from judge_ray.distributed.node_loss import is_node_loss, retry_on_node_loss

# What the driver printed when the autoscaler took back an idle node under a Parquet listing task (CI, stop 32).
UNDESERIALISED = ("Failed to deserialize exception.\nOriginal exception:\nray.exceptions.RayTaskError: ray::ListFiles()"
                  "\nray.exceptions.ActorDiedError: The actor died unexpectedly before finishing this task.\n"
                  "The actor died because its node has died. Node Id: fff02\n"
                  "\tthe actor's node was terminated expectedly: Terminated by autoscaler.")


class UnserializableException(Exception):
    pass


def _wrapped(inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as e:
            raise RuntimeError("the stage failed") from e
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize("exc, lost", [
    (ActorDiedError(), True),
    (_wrapped(ActorDiedError()), True),  # found through the cause chain
    (UnserializableException(UNDESERIALISED), True),  # found in the text of what could not be deserialised
    (RayTaskError("ListFiles", "Traceback ...\nValueError: bad footer", ValueError("bad footer")), False),
    (ValueError("column 'id' is missing"), False),
    (_wrapped(KeyError("prompt")), False),
])
def test_node_loss_is_told_from_other_errors(exc, lost):
    assert is_node_loss(exc) is lost


def test_a_step_that_lost_its_node_runs_again_and_says_so(caplog):
    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise UnserializableException(UNDESERIALISED)
        return "written"

    with caplog.at_level(logging.WARNING, logger="judge_ray"):
        assert retry_on_node_loss(step, "writing judgments", wait_s=0) == "written"
    assert len(calls) == 2
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("writing judgments: a node or worker went away") and "(2/3)" in line
    assert "Node Id" in line or "node has died" in line


def test_other_errors_are_raised_at_once_and_node_loss_after_the_last_attempt():
    calls = []

    def bad():
        calls.append(1)
        raise ValueError("column 'id' is missing")

    with pytest.raises(ValueError):
        retry_on_node_loss(bad, "x", wait_s=0)
    assert len(calls) == 1

    def lost():
        calls.append(1)
        raise ActorDiedError()

    with pytest.raises(ActorDiedError):
        retry_on_node_loss(lost, "x", attempts=2, wait_s=0)
    assert len(calls) == 3
