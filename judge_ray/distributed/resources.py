"""Whether a job's actors and workers fit a cluster: what each phase of the loop asks Ray for, and a first-fit
packing of those asks onto node types at their maximum counts.

Why: Ray waits, silently and for ever, for a resource that no node can offer (a Ray Train worker wider than
any node, an engine pool that leaves no CPU for the Ray Data tasks that feed it). The shipped manifests are
checked against their configs with this (tests/k8s), before anyone deploys them. Pure logic: no Ray.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Optional, Sequence

if TYPE_CHECKING:
    from judge_ray.config import RayConfig, SelfTaughtConfig, TrainConfig

DATA_TASK_CPUS = 1.0  # Ray Data's read/map tasks take 1 CPU each by default; at least one must run beside the actors


@dataclass(frozen=True)
class Bundle:
    """One actor's or worker's ask."""

    what: str
    cpus: float
    gpus: float = 0.0
    fixed: bool = False  # Ray Data's own actor: its ask is not ours to scale


@dataclass(frozen=True)
class NodeType:
    """A kind of node and the most of it the cluster can have (a head, or a worker group at maxReplicas)."""

    name: str
    cpus: float
    gpus: float
    count: int


@dataclass(frozen=True)
class Phase:
    """Asks that hold resources at the same time, and the CPUs Ray Data's tasks need beside them."""

    name: str
    bundles: tuple[Bundle, ...]
    task_cpus: float = DATA_TASK_CPUS


CHECKPOINT_FILTER_CPUS = 1.0  # Ray Data's CheckpointFilter actor, which a resumed stage reads its input through


def engine_phase(ray: RayConfig, name: str = "engine stages") -> Phase:
    """An engine stage: its actor pool, Ray Data's checkpoint filter (an actor of 1 CPU when the stage resumes,
    measured: with it a 2-CPU cluster left the stage's read task pending for ever) and the tasks that read and
    write its blocks."""
    bundles = tuple(Bundle(f"engine actor {i + 1}/{ray.pool_size} (ray.actor_cpus, ray.actor_gpus)",
                           ray.actor_cpus, ray.actor_gpus) for i in range(ray.pool_size))
    return Phase(name, bundles + (Bundle("Ray Data's checkpoint filter (a resumed stage)", CHECKPOINT_FILTER_CPUS,
                                         fixed=True),))


def training_phase(train: TrainConfig, name: str = "training") -> Phase:
    """Ray Train's workers, and the Ray Data tasks that stream the training set to them."""
    gpus = 1.0 if train.use_gpu else 0.0
    bundles = tuple(Bundle(f"train worker {i + 1}/{train.workers} (train.cpus_per_worker"
                           f"{', 1 GPU' if gpus else ''})", train.cpus_per_worker, gpus) for i in range(train.workers))
    return Phase(name, bundles)


def loop_phases(cfg: SelfTaughtConfig) -> list[Phase]:
    """The self-taught loop runs its engine stages and its training one after another, never together."""
    return [engine_phase(cfg.ray), training_phase(cfg.train)]


def _fmt(cpus: float, gpus: float) -> str:
    return f"{cpus:g} CPU" + (f" + {gpus:g} GPU" if gpus else "")


def unschedulable(phase: Phase, nodes: Sequence[NodeType]) -> list[str]:
    """Why `phase` cannot run on `nodes` at their maximum counts (empty: it fits). First-fit decreasing, the
    largest asks first; each problem names the ask and the resource."""
    free = [[n.name, n.cpus, n.gpus] for n in nodes for _ in range(max(0, n.count))]
    offered = ", ".join(f"{n.count} x {n.name} ({_fmt(n.cpus, n.gpus)})" for n in nodes) or "no nodes"
    problems = []
    for b in sorted(phase.bundles, key=lambda b: (b.gpus, b.cpus), reverse=True):
        slot = next((f for f in free if f[1] >= b.cpus - 1e-9 and f[2] >= b.gpus - 1e-9), None)
        if slot is None:
            problems.append(f"{phase.name}: {b.what} asks {_fmt(b.cpus, b.gpus)} and no node has it free "
                            f"(the cluster at its largest: {offered})")
            continue
        slot[1] -= b.cpus
        slot[2] -= b.gpus
    spare = sum(f[1] for f in free)
    if not problems and spare < phase.task_cpus - 1e-9:
        used = sum(b.cpus for b in phase.bundles)
        problems.append(f"{phase.name}: {used:g} CPUs held by its actors leave {spare:g} for Ray Data's tasks, "
                        f"which need {phase.task_cpus:g} (the cluster at its largest: {offered})")
    return problems


def scaled(phase: Phase, factor: float) -> Phase:
    """The phase with every CPU ask of ours times `factor` (GPU asks, Ray Data's actors and tasks unchanged)."""
    return replace(phase, bundles=tuple(b if b.fixed else replace(b, cpus=b.cpus * factor) for b in phase.bundles))


def cpu_scale_to_fit(phase: Phase, nodes: Sequence[NodeType], floor: float = 0.0) -> Optional[float]:
    """1.0 when the phase fits as asked; else the largest factor (to 1/1000, at least `floor`) by which its CPU
    asks can shrink so that it fits; None when no factor does (a GPU ask with no room, too few CPUs in all).
    Down to 0: a logical CPU is a scheduling token, and an actor of 0 CPUs on a cluster that has no more
    still runs (with one torch thread), where waiting for a CPU never ends."""
    if not unschedulable(phase, nodes):
        return 1.0
    if unschedulable(scaled(phase, floor), nodes):
        return None
    lo, hi = floor, 1.0
    while hi - lo > 1e-3:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if not unschedulable(scaled(phase, mid), nodes) else (lo, mid)
    return lo


def round_ask(phase: Phase, ask: float, factor: float, nodes: Sequence[NodeType]) -> float:
    """`ask` times `factor` (from `cpu_scale_to_fit`) as a round number where that still fits: 0.5 CPU rather
    than the search's 0.499; else the exact value, to 1/1000 and down."""
    rounded = round(ask * factor, 2)
    if rounded <= ask and not unschedulable(scaled(phase, rounded / ask if ask else 0), nodes):
        return rounded
    return math.floor(ask * factor * 1000) / 1000
