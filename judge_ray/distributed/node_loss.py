"""A node that leaves mid-step (an autoscaler taking back an idle node as work lands on it, a spot instance
reclaimed, a pod evicted) fails whatever Ray work ran on it with an actor or node death. Ray Data retries its
own tasks and restarts its actors, and Ray Train restarts its workers, but an error raised *inside* a task (a
Parquet footer reader's actor gone under a listing task) reaches the driver as a plain failure. Every step that
this retry wraps is safe to run again: an atomic folder write is redone whole, a checkpointed write computes
only its missing rows, a fit resumes from its last checkpoint. So such a failure is retried, a line says so,
and any other error goes straight up."""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Ray's exception classes for work lost with its node or process (matched by name: the driver may see them
# wrapped, or as text inside an exception that could not be deserialised).
NODE_LOSS_TYPES = ("ActorDiedError", "NodeDiedError", "OwnerDiedError", "ObjectLostError", "ObjectFetchTimedOutError",
                   "WorkerCrashedError", "ActorUnavailableError", "ObjectReconstructionFailedError")
NODE_LOSS_TEXT = ("node has died", "node was terminated", "terminated by autoscaler", "node died",
                  "the actor died because its node")


def is_node_loss(exc: BaseException) -> bool:
    """Whether `exc`, or an exception in its cause/context chain, is work lost with a node or worker process."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in NODE_LOSS_TYPES for cls in type(current).__mro__):
            return True
        text = str(current).lower()
        if any(mark in text for mark in NODE_LOSS_TEXT) or any(name in str(current) for name in NODE_LOSS_TYPES):
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_on_node_loss(step: Callable[[], T], what: str, attempts: int = 3, wait_s: float = 2.0) -> T:
    """`step()`, run again (at most `attempts` times in all) when it fails because a node or worker went away;
    the step must be safe to repeat (see the module docstring). Other errors are raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except Exception as exc:
            if attempt == attempts or not is_node_loss(exc):
                raise
            reason = next((line.strip() for line in str(exc).splitlines()
                           if any(mark in line.lower() for mark in NODE_LOSS_TEXT)), type(exc).__name__)
            logger.warning(f"{what}: a node or worker went away ({reason[:160]}); "
                           f"running it again ({attempt + 1}/{attempts})")
            time.sleep(wait_s)
    raise AssertionError("unreachable")
