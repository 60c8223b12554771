"""Offline checks of the KubeRay manifests in k8s/, the way kubeconform checks them, plus what a schema can't say.

- Schema: each manifest against its CRD's v1 `openAPIV3Schema` (KubeRay's CRDs; `JUDGE_RAY_KUBERAY_CRDS`
  points at another release), made strict: `additionalProperties: false` on every object that lists
  `properties`, so a misspelt field fails. Draft 7.
- Strings that hold YAML (`serveConfigV2`, `runtimeEnvYAML`) are parsed and checked on their own.
- Cross-field facts: GPU limits equal Ray's `num-gpus`; min <= replicas <= max; every pod runs the manifest's image;
  the Serve deployments' GPUs fit the GPU group; every phase of the shipped configs fits the groups at their
  maximum sizes (`judge_ray.distributed.resources`).
"""
from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any, Iterable

import yaml

from judge_ray.distributed.resources import NodeType

REPO = Path(__file__).resolve().parents[2]
CRD_FILES = {"RayCluster": "ray.io_rayclusters.yaml", "RayJob": "ray.io_rayjobs.yaml",
             "RayService": "ray.io_rayservices.yaml"}


def crd_dir() -> Path:
    return Path(os.environ.get("JUDGE_RAY_KUBERAY_CRDS") or REPO.parent / "shared" / "kuberay-crds")


def strict(schema: Any) -> Any:
    """A copy where every object schema listing `properties` forbids other keys (kubeconform -strict)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out \
                and not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def load_schema(kind: str, directory: Path | None = None) -> dict:
    return _load_schema(kind, str(directory or crd_dir()))


@functools.lru_cache(maxsize=None)
def _load_schema(kind: str, directory: str) -> dict:
    path = Path(directory) / CRD_FILES[kind]
    crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # the C loader: 10x faster
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return strict(version["schema"]["openAPIV3Schema"])


def schema_errors(manifest: dict, directory: Path | None = None) -> list[str]:
    from jsonschema import Draft7Validator

    validator = Draft7Validator(load_schema(manifest["kind"], directory))
    return sorted(f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                  for e in validator.iter_errors(manifest))


def cluster_spec(manifest: dict) -> dict:
    spec = manifest["spec"]
    return {"RayCluster": lambda: spec, "RayJob": lambda: spec["rayClusterSpec"],
            "RayService": lambda: spec["rayClusterConfig"]}[manifest["kind"]]()


def _containers(template: dict) -> Iterable[dict]:
    return template.get("spec", {}).get("containers", [])


def _gpus(value: Any) -> float:
    return float(value) if value is not None else 0.0


def cross_field_errors(manifest: dict) -> list[str]:
    errors = []
    cluster = cluster_spec(manifest)
    version = str(cluster.get("rayVersion", ""))
    groups = [("head", cluster["headGroupSpec"], None)] + [
        (g["groupName"], g, g) for g in cluster.get("workerGroupSpecs", [])]
    image = (manifest.get("metadata", {}).get("annotations") or {}).get("judge-ray.io/image")
    if not version:
        errors.append("no rayVersion")
    for name, group, worker in groups:
        params = group.get("rayStartParams", {}) or {}
        for c in _containers(group["template"]):
            if c.get("image") != image:  # one image, the project's, on every pod
                errors.append(f"{name}: image {c.get('image')} is not the manifest's image {image}")
            limits = (c.get("resources") or {}).get("limits", {}) or {}
            limit = _gpus(limits.get("nvidia.com/gpu"))
            if limit != _gpus(params.get("num-gpus")):
                errors.append(f"{name}: GPU limit {limit:g} but rayStartParams num-gpus {params.get('num-gpus')}")
        if worker is not None:
            lo, hi = worker.get("minReplicas", 0), worker.get("maxReplicas", 2 ** 31)
            if not lo <= hi:
                errors.append(f"{name}: minReplicas {lo} > maxReplicas {hi}")
            if "replicas" in worker and not lo <= worker["replicas"] <= hi:
                errors.append(f"{name}: replicas {worker['replicas']} outside [{lo}, {hi}]")
    return errors


def gpu_capacity(manifest: dict) -> float:
    """GPUs the worker groups can grow to."""
    return sum(_gpus(g.get("rayStartParams", {}).get("num-gpus")) * g.get("maxReplicas", 0)
               for g in cluster_spec(manifest).get("workerGroupSpecs", []))


def serve_gpu_demand(serve_config: dict) -> float:
    """GPUs the Serve applications need at their max replicas (judge deployments + one per LLM replica)."""
    total = 0.0
    for app in serve_config.get("applications", []):
        for d in app.get("deployments", []):
            replicas = (d.get("autoscaling_config") or {}).get("max_replicas", d.get("num_replicas", 1))
            total += replicas * _gpus((d.get("ray_actor_options") or {}).get("num_gpus"))
        if app["import_path"].endswith("openai_builder"):
            args = app["args"]
            total += args["deployment"]["max_replicas"] * (1 if args["deployment"]["num_gpus"] else 0)
    return total


def _cpu_quantity(value: Any) -> float:
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def node_types(manifest: dict) -> list[NodeType]:
    """The cluster at its largest: the head once and each worker group at maxReplicas, with the CPUs and GPUs Ray
    sees on each (rayStartParams, else the container's limits, as KubeRay derives them)."""
    cluster = cluster_spec(manifest)
    out = []
    for name, group, count in [("head", cluster["headGroupSpec"], 1)] + [
            (g["groupName"], g, g.get("maxReplicas", 0)) for g in cluster.get("workerGroupSpecs", [])]:
        params = group.get("rayStartParams", {}) or {}
        limits = next((c.get("resources") or {} for c in _containers(group["template"])), {}).get("limits", {}) or {}
        cpus = _cpu_quantity(params["num-cpus"]) if "num-cpus" in params else _cpu_quantity(limits.get("cpu", 0))
        gpus = _gpus(params.get("num-gpus", limits.get("nvidia.com/gpu")))
        out.append(NodeType(name, cpus, gpus, count))
    return out


def load_manifests(directory: Path | None = None) -> dict[str, dict]:
    """kind -> manifest for every Ray manifest in k8s/."""
    out = {}
    for path in sorted((directory or REPO / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion", "").startswith("ray.io/"):
                out[doc["kind"]] = copy.deepcopy(doc)
    return out
