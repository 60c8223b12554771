"""k8s/*.yaml rendered from one source: conf/k8s.yaml (the image, pod sizes, group sizes, secrets), the loop's
and the endpoint's own configs (the RayJob's entrypoint, the RayService's embedded Serve config, whether a GPU
group needs bf16) and requirements/gpu.lock (Ray's version; the lock's digest on every manifest). Nothing in k8s/
is edited by hand: `python jobs/render_k8s.py` writes it, and its `check=true` (and tests/k8s) fail when the
committed files differ from what the sources render.

What every Ray pod gets, and why:
- the project's image, code and packages baked in (Dockerfile): no pip install or working_dir at start-up, so a
  restarted pod is ready in the time the image takes to pull, and every pod runs the stack CI tested;
- the restricted Pod Security profile on every container (the autoscaler sidecar and the job submitter too):
  non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp;
- Ray's token authentication (`authOptions.mode: token`: KubeRay makes the token and hands it to Ray's pods);
- the shared volume for run directories, checkpoints and the model cache, and a memory-backed /dev/shm on GPU pods.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from judge_ray.config import DeployConfig, GroupSizes, PodSettings, SelfTaughtConfig, ServeConfig, load_config
from judge_ray.deploy.pins import LOCK, lock_digest, lock_versions

POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100,
                "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                      "seccompProfile": {"type": "RuntimeDefault"}}
REDIS_IMAGE = "redis:7.4.2"
APP_LABEL = "judge-ray"
FILES = ("rayjob.yaml", "rayservice.yaml", "raycluster.yaml", "storage.yaml", "redis.yaml", "networkpolicy.yaml")


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order written, multi-line strings (serveConfigV2, runtimeEnvYAML) as literals."""


_Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s,
                                                             style="|" if "\n" in s else None))


def _yaml(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=4096, default_flow_style=False)


class Sources:
    """What the manifests are rendered from, read once."""

    def __init__(self, cfg: DeployConfig, repo: Path):
        self.cfg, self.repo = cfg, repo
        lock = (repo / LOCK).read_text()
        self.ray_version = lock_versions(lock)["ray"]
        self.lock_digest = lock_digest(lock)
        self.image = f"{cfg.image.repository}:{cfg.image.tag}"
        self.loop = load_config(repo / cfg.job.config, list(cfg.job.overrides), SelfTaughtConfig)
        self.serve = load_config(repo / cfg.service.config, [], ServeConfig)

    def in_image(self, path: str) -> str:
        return f"{self.cfg.image.app_dir}/{path}"

    @property
    def redis_name(self) -> str:
        """The Redis service's name, from `service.redis_address` (redis://<name>:<port>)."""
        return self.cfg.service.redis_address.split("//")[-1].split(":")[0]

    @property
    def loop_needs_bf16(self) -> bool:
        return str(self.loop.train.precision) == "bf16" or self.loop.vllm.dtype == "bfloat16"

    @property
    def serve_needs_bf16(self) -> bool:
        return self.serve.vllm.dtype == "bfloat16"


def _metadata(src: Sources, name: str, component: str) -> dict:
    return {"name": name, "labels": {"app.kubernetes.io/name": APP_LABEL, "app.kubernetes.io/component": component},
            "annotations": {"judge-ray.io/image": src.image, "judge-ray.io/lock-sha256": src.lock_digest}}


def _resources(pod: PodSettings) -> dict:
    gpu = {"nvidia.com/gpu": str(pod.gpus)} if pod.gpus else {}
    return {"requests": {"cpu": str(pod.cpus), "memory": pod.memory, **gpu},
            "limits": {"cpu": str(pod.cpu_limit or pod.cpus), "memory": pod.memory_limit or pod.memory, **gpu}}


def _token_env(secret: str, variable: str) -> list[dict]:
    return [{"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}}}]


def _pod(src: Sources, container: str, pod: PodSettings, ports: list[dict] | None = None,
         env: list[dict] | None = None, bf16: bool = False) -> dict:
    cfg = src.cfg
    mounts = [{"name": "shared", "mountPath": cfg.shared_mount}]
    volumes: list[dict] = [{"name": "shared", "persistentVolumeClaim": {"claimName": cfg.shared_claim}}]
    if pod.shm:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": pod.shm}})
    c: dict[str, Any] = {"name": container, "image": src.image, "securityContext": copy.deepcopy(CONTAINER_SECURITY),
                         "resources": _resources(pod)}
    if ports:
        c["ports"] = ports
    if env:
        c["env"] = env
    c["volumeMounts"] = mounts
    spec: dict[str, Any] = {"securityContext": copy.deepcopy(POD_SECURITY), "containers": [c]}
    if pod.gpus:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    if pod.gpus and bf16:  # bf16 needs compute capability 8 (Ampere) or later
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": cfg.bf16_label, "operator": "Gt",
                                   "values": [str(cfg.bf16_min_major - 1)]}]}]}}}
    spec["volumes"] = volumes
    return {"spec": spec}


def _head(src: Sources, extra_ports: list[dict], env: list[dict] | None = None) -> dict:
    ports = [{"containerPort": 6379, "name": "gcs"}, {"containerPort": 8265, "name": "dashboard"}, *extra_ports]
    return {"rayStartParams": {"num-cpus": "0", "dashboard-host": "0.0.0.0"},
            "template": _pod(src, "ray-head", src.cfg.head, ports, env)}


def _group(src: Sources, name: str, pod: PodSettings, sizes: GroupSizes, env: list[dict] | None = None,
           bf16: bool = False) -> dict:
    return {"groupName": name, "replicas": sizes.min if sizes.replicas is None else sizes.replicas,
            "minReplicas": sizes.min, "maxReplicas": sizes.max,
            "rayStartParams": {"num-gpus": str(pod.gpus)} if pod.gpus else {},
            "template": _pod(src, "ray-worker", pod, env=env, bf16=bf16)}


def _cluster(src: Sources, head: dict, groups: list[dict], idle_timeout_s: int) -> dict:
    return {"rayVersion": src.ray_version, "enableInTreeAutoscaling": True,
            "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": idle_timeout_s,
                                  "securityContext": copy.deepcopy(CONTAINER_SECURITY)},
            "authOptions": {"mode": "token"},
            "headGroupSpec": head, "workerGroupSpecs": groups}


def ray_job(src: Sources) -> dict:
    cfg, job = src.cfg, src.cfg.job
    entrypoint = " ".join(["python", src.in_image("jobs/self_taught.py"), "--config", src.in_image(job.config),
                           *job.overrides])
    submitter = {"spec": {"restartPolicy": "Never", "securityContext": copy.deepcopy(POD_SECURITY), "containers": [
        {"name": "ray-job-submitter", "image": src.image, "securityContext": copy.deepcopy(CONTAINER_SECURITY),
         "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]}}
    spec = {"entrypoint": entrypoint,
            "runtimeEnvYAML": _yaml({"env_vars": dict(cfg.env_vars)}) if cfg.env_vars else "{}\n",
            "shutdownAfterJobFinishes": True, "ttlSecondsAfterFinished": job.ttl_s,
            "activeDeadlineSeconds": job.deadline_s, "backoffLimit": job.backoff_limit, "submissionMode": "K8sJobMode",
            "submitterPodTemplate": submitter,
            "rayClusterSpec": _cluster(src, _head(src, []),
                                       [_group(src, "gpu", cfg.gpu_pod, job.gpus, bf16=src.loop_needs_bf16)],
                                       job.idle_timeout_s)}
    return {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": _metadata(src, "judge-ray-self-taught",
                                                                               "self-taught"), "spec": spec}


def ray_service(src: Sources) -> dict:
    from judge_ray.serving.serve_config import serve_config_yaml

    cfg, svc = src.cfg, src.cfg.service
    # the token on every pod: the app builders run where Serve places them (the head included) and refuse to
    # build without it; the replicas read it from their own pod
    token = _token_env(svc.token_secret, src.serve.serve.auth_token_env)
    cluster = _cluster(src, _head(src, [{"containerPort": src.serve.serve.port, "name": "serve"}], token),
                       [_group(src, "gpu", cfg.gpu_pod, svc.gpus, token, bf16=src.serve_needs_bf16)],
                       svc.idle_timeout_s)
    cluster["gcsFaultToleranceOptions"] = {
        "redisAddress": svc.redis_address,
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": svc.redis_secret, "key": "password"}}}}
    spec = {"upgradeStrategy": {"type": svc.upgrade}, "serveConfigV2": serve_config_yaml(src.serve),
            "rayClusterConfig": cluster}
    return {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": _metadata(src, "judge-ray-serve", "serve"),
            "spec": spec}


def ray_cluster(src: Sources) -> dict:
    cfg, dev = src.cfg, src.cfg.dev
    groups = [_group(src, "gpu", cfg.gpu_pod, dev.gpus, bf16=src.loop_needs_bf16)]
    if dev.cpus.max:
        groups.append(_group(src, "cpu", dev.cpu_pod, dev.cpus))
    spec = _cluster(src, _head(src, [{"containerPort": 10001, "name": "client"}]), groups, dev.idle_timeout_s)
    return {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": _metadata(src, "judge-ray-dev", "dev"),
            "spec": spec}


def storage(src: Sources) -> dict:
    cfg = src.cfg
    spec: dict[str, Any] = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": cfg.shared_size}}}
    if cfg.storage_class:
        spec = {"storageClassName": cfg.storage_class, **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": cfg.shared_claim, "labels": {"app.kubernetes.io/name": APP_LABEL}}, "spec": spec}


def redis(src: Sources) -> list[dict]:
    """The RayService's GCS fault tolerance store: one Redis with a password and a disk, reachable at
    `service.redis_address`."""
    svc, name = src.cfg.service, src.redis_name
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": APP_LABEL}
    security = {**copy.deepcopy(POD_SECURITY), "runAsUser": 999, "runAsGroup": 999, "fsGroup": 999}
    container = {"name": "redis", "image": REDIS_IMAGE,
                 "args": ["--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
                 "env": [{"name": "REDIS_PASSWORD",
                          "valueFrom": {"secretKeyRef": {"name": svc.redis_secret, "key": "password"}}}],
                 "ports": [{"containerPort": 6379, "name": "redis"}],
                 "securityContext": copy.deepcopy(CONTAINER_SECURITY),
                 "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels},
         "spec": {"selector": labels, "ports": [{"name": "redis", "port": 6379, "targetPort": 6379}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
         "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"securityContext": security, "containers": [container],
                                        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}]}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "labels": labels},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
    ]


def network_policies(src: Sources) -> list[dict]:
    redis_name = src.redis_name
    ray_pods = {"matchExpressions": [{"key": "ray.io/node-type", "operator": "In", "values": ["head", "worker"]}]}
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "judge-ray-pods", "labels": {"app.kubernetes.io/name": APP_LABEL}},
         "spec": {"podSelector": ray_pods, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"podSelector": {}}]},
                              {"ports": [{"port": src.serve.serve.port, "protocol": "TCP"}]}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": redis_name, "labels": {"app.kubernetes.io/name": APP_LABEL}},
         "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/name": redis_name}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"podSelector": ray_pods}], "ports": [{"port": 6379, "protocol": "TCP"}]}]}},
    ]


GENERATED = ("# Rendered by `python jobs/render_k8s.py` from conf/k8s.yaml, {sources} and requirements/gpu.lock:\n"
             "# edit those and render again, never this file (tests/k8s fail when the two differ).\n")

HEADERS = {
    "rayjob.yaml": (
        "# The Self-Taught Evaluator loop as a RayJob: a head that schedules nothing, a GPU group that the autoscaler\n"
        "# grows from 0 for the job's engine actors and Ray Train workers and shrinks after. Run directories and\n"
        "# checkpoints live on the shared volume, so a resubmitted job resumes where it stopped.\n"
        "#   kubectl apply -f k8s/storage.yaml -f k8s/rayjob.yaml ; kubectl logs -f job/judge-ray-self-taught\n",
        "conf/self_taught_gpu.yaml"),
    "rayservice.yaml": (
        "# The judge endpoint as a RayService. Serve autoscales the judge replicas and the OpenAI-compatible LLM\n"
        "# server (one GPU each); the Ray autoscaler adds GPU pods to fit them. GCS fault tolerance keeps the\n"
        "# replicas serving while the head restarts (its state in k8s/redis.yaml); an upgrade brings up a second\n"
        "# cluster and switches once it serves (upgradeStrategy NewCluster: twice the GPUs while both run).\n"
        "#   kubectl create secret generic judge-ray-api --from-literal=token=$(openssl rand -hex 16)\n"
        "#   kubectl create secret generic judge-ray-redis --from-literal=password=$(openssl rand -hex 16)\n"
        "#   kubectl apply -f k8s/storage.yaml -f k8s/redis.yaml -f k8s/rayservice.yaml\n"
        "#   kubectl port-forward svc/judge-ray-serve-serve-svc 8000 ; curl 127.0.0.1:8000/healthz\n",
        "conf/serve_gpu.yaml"),
    "raycluster.yaml": (
        "# A RayCluster for interactive work (`ray job submit`, notebooks): the same image, Ray version and volume\n"
        "# as the RayJob and the RayService, an autoscaling GPU group and a small CPU group.\n"
        "#   kubectl apply -f k8s/storage.yaml -f k8s/raycluster.yaml\n"
        "#   kubectl port-forward svc/judge-ray-dev-head-svc 8265\n"
        "#   ray job submit --address http://127.0.0.1:8265 -- python /home/ray/judge_ray/jobs/self_taught.py \\\n"
        "#     --config /home/ray/judge_ray/conf/self_taught_gpu.yaml run.name=mine\n",
        "conf/self_taught_gpu.yaml"),
    "storage.yaml": (
        "# Shared storage for run directories, Ray Train checkpoints, exported judges and the model cache: every Ray\n"
        "# pod mounts it. ReadWriteMany (NFS, EFS, Filestore). CHANGE-ME in conf/k8s.yaml: storage_class, shared_size\n"
        "# (or keep runs on object storage: run.root=s3://...).\n", "conf/k8s.yaml"),
    "redis.yaml": (
        "# Redis for the RayService's GCS fault tolerance: the head's state survives a head restart, so the\n"
        "# replicas keep serving. Its password is the secret judge-ray-redis (see k8s/rayservice.yaml).\n",
        "conf/k8s.yaml"),
    "networkpolicy.yaml": (
        "# Ray's internal ports (dashboard and job API 8265, GCS 6379, client 10001, object transfer) only from this\n"
        "# namespace; from outside only Serve's port (every route behind the bearer token but /healthz). Redis only\n"
        "# from Ray's pods. Reach the dashboard with `kubectl port-forward`.\n", "conf/serve_gpu.yaml"),
}


def render(cfg: DeployConfig, repo: Path) -> dict[str, str]:
    """{file name in k8s/: its text}."""
    src = Sources(cfg, repo)
    docs = {"rayjob.yaml": [ray_job(src)], "rayservice.yaml": [ray_service(src)], "raycluster.yaml": [ray_cluster(src)],
            "storage.yaml": [storage(src)], "redis.yaml": redis(src), "networkpolicy.yaml": network_policies(src)}
    out = {}
    for name in FILES:
        header, sources = HEADERS[name]
        out[name] = header + GENERATED.format(sources=sources) + "---\n".join(_yaml(d) for d in docs[name])
    return out


def differences(rendered: dict[str, str], folder) -> list[str]:
    """One line per file in `folder` that is missing or differs from its rendering (first differing line named)."""
    problems = []
    for name, text in rendered.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: missing (render it: python jobs/render_k8s.py)")
            continue
        have = path.read_text().splitlines()
        want = text.splitlines()
        if have != want:
            line = next((i for i, (a, b) in enumerate(zip(have, want), 1) if a != b), min(len(have), len(want)) + 1)
            problems.append(f"{path}:{line}: differs from what conf/ and the lock render "
                            "(python jobs/render_k8s.py rewrites it)")
    return problems


def write_or_check(cfg: DeployConfig, repo: Path) -> list[str]:
    """Render k8s/ into `cfg.out` (relative to the repository), or with `cfg.check` compare instead; returns the
    files written. A difference under `check` is a UserError naming the first file and line."""
    import logging

    from judge_ray.errors import UserError

    logger = logging.getLogger(__name__)
    rendered = render(cfg, repo)
    folder = Path(cfg.out) if Path(cfg.out).is_absolute() else repo / cfg.out
    if cfg.check:
        problems = differences(rendered, folder)
        if problems:
            raise UserError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
        logger.info(f"[k8s] {len(rendered)} manifests in {folder} are what conf/ and the lock render")
        return []
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (folder / name).write_text(text)
    logger.info(f"[k8s] wrote {', '.join(rendered)} to {folder} (image {cfg.image.repository}:{cfg.image.tag})")
    return list(rendered)
