"""k8s/ against KubeRay v1.7.0's CRDs (strict, Draft 7), the YAML held in strings, and cross-field facts."""
import copy
from pathlib import Path

import pytest
import yaml

from judge_ray.config import CONF_DIR, DeployConfig, SelfTaughtConfig, ServeConfig, load_config
from judge_ray.distributed.resources import Bundle, Phase, loop_phases, unschedulable
from tests.k8s.validation import (REPO, crd_dir, cross_field_errors, gpu_capacity, load_manifests, node_types,
                                  schema_errors, serve_gpu_demand)
from judge_ray.serving.serve_config import serve_config

MANIFESTS = load_manifests()


def test_crds_are_found():
    assert (crd_dir() / "ray.io_rayjobs.yaml").is_file(), (
        f"KubeRay CRDs not found at {crd_dir()}: set JUDGE_RAY_KUBERAY_CRDS")
    assert set(MANIFESTS) == {"RayJob", "RayService", "RayCluster"}


@pytest.mark.parametrize("kind", ["RayJob", "RayService", "RayCluster"])
def test_manifest_matches_its_crd_strictly(kind):
    assert schema_errors(MANIFESTS[kind]) == []


@pytest.mark.parametrize("kind, path, typo", [
    ("RayJob", ["spec"], "shutdownAfterJobFinish"),
    ("RayJob", ["spec", "rayClusterSpec", "headGroupSpec"], "rayStartParam"),
    ("RayService", ["spec", "rayClusterConfig", "workerGroupSpecs", 0], "maxReplica"),
    ("RayCluster", ["spec", "headGroupSpec", "template", "spec", "containers", 0], "imag"),
])
def test_a_misspelt_field_fails(kind, path, typo):
    bad = copy.deepcopy(MANIFESTS[kind])
    node = bad
    for key in path:
        node = node[key]
    node[typo] = "x"
    errors = schema_errors(bad)
    assert any(typo in e for e in errors), errors


def test_a_wrong_type_fails():
    bad = copy.deepcopy(MANIFESTS["RayJob"])
    bad["spec"]["ttlSecondsAfterFinished"] = "an hour"
    assert any("ttlSecondsAfterFinished" in e for e in schema_errors(bad))


def test_crd_directory_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("JUDGE_RAY_KUBERAY_CRDS", str(tmp_path))
    assert crd_dir() == tmp_path
    with pytest.raises(FileNotFoundError):
        schema_errors(MANIFESTS["RayJob"])


def test_rayservice_serve_config_is_the_one_generated_from_conf():
    embedded = yaml.safe_load(MANIFESTS["RayService"]["spec"]["serveConfigV2"])
    assert embedded == serve_config(load_config(CONF_DIR / "serve_gpu.yaml", [], ServeConfig))
    judge = embedded["applications"][0]["deployments"][0]
    auto = judge["autoscaling_config"]
    assert 1 <= auto["min_replicas"] <= auto["max_replicas"]
    assert judge["max_ongoing_requests"] >= embedded["applications"][0]["args"]["serve"]["max_batch_size"]
    # every Serve replica at its maximum fits the GPU group at its maximum
    assert serve_gpu_demand(embedded) <= gpu_capacity(MANIFESTS["RayService"])


def _in_repo(path: str) -> Path:
    """A path inside the image (under image.app_dir) as it is in this checkout."""
    app_dir = load_config(CONF_DIR / "k8s.yaml", [], DeployConfig).image.app_dir
    assert path.startswith(app_dir + "/"), path
    return REPO / path[len(app_dir) + 1:]


def test_rayjob_runtime_env_and_entrypoint():
    spec = MANIFESTS["RayJob"]["spec"]
    env = yaml.safe_load(spec["runtimeEnvYAML"])
    assert set(env) == {"env_vars"}  # code and packages come with the image: no working_dir, no pip
    assert all(v.startswith("/mnt/shared") for v in env["env_vars"].values())
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    words = spec["entrypoint"].split()
    assert words[0] == "python" and _in_repo(words[1]) == REPO / "jobs" / "self_taught.py"
    conf = _in_repo(words[words.index("--config") + 1])
    overrides = [w for w in words[2:] if "=" in w]
    cfg = load_config(conf, overrides, SelfTaughtConfig)
    assert cfg.run.root.startswith("/mnt/shared")  # run dirs and Ray Train checkpoints on the shared volume
    gpu = [g for g in spec["rayClusterSpec"]["workerGroupSpecs"] if g["groupName"] == "gpu"][0]
    assert gpu["minReplicas"] == 0 and gpu["maxReplicas"] >= 1  # autoscales from zero
    assert spec["rayClusterSpec"]["enableInTreeAutoscaling"] is True


@pytest.mark.parametrize("kind", ["RayJob", "RayService", "RayCluster"])
def test_cross_field_facts(kind):
    assert cross_field_errors(MANIFESTS[kind]) == []


def test_cross_field_checks_catch_mistakes():
    bad = copy.deepcopy(MANIFESTS["RayService"])
    cluster = bad["spec"]["rayClusterConfig"]
    worker = cluster["workerGroupSpecs"][0]
    worker["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "2"
    worker["minReplicas"], worker["maxReplicas"] = 5, 3
    cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] = "rayproject/ray:2.59.0-py311-gpu"
    errors = " | ".join(cross_field_errors(bad))
    assert "GPU limit 2" in errors and "minReplicas 5 > maxReplicas 3" in errors
    assert "image rayproject/ray:2.59.0-py311-gpu is not the manifest's image" in errors


def test_one_ray_version_and_one_image_family_everywhere():
    versions = {m["kind"]: str((m["spec"].get("rayClusterSpec") or m["spec"].get("rayClusterConfig")
                                or m["spec"])["rayVersion"]) for m in MANIFESTS.values()}
    assert len(set(versions.values())) == 1, versions
    import ray

    assert ray.__version__ == next(iter(versions.values()))  # the manifests pin the Ray the project runs


def _cluster(manifest):
    spec = manifest["spec"]
    return spec.get("rayClusterSpec") or spec.get("rayClusterConfig") or spec


def _groups(manifest):
    """(name, group) for the head and every worker group."""
    cluster = _cluster(manifest)
    return [("head", cluster["headGroupSpec"])] + [(g["groupName"], g) for g in cluster["workerGroupSpecs"]]


@pytest.mark.parametrize("kind", ["RayJob", "RayService", "RayCluster"])
def test_every_pod_runs_non_root_without_privileges(kind):
    for name, group in _groups(MANIFESTS[kind]):
        pod = group["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"], name


@pytest.mark.parametrize("kind", ["RayJob", "RayService", "RayCluster"])
def test_gpu_workers_get_a_memory_backed_dev_shm(kind):
    for name, group in _groups(MANIFESTS[kind]):
        if "num-gpus" not in group.get("rayStartParams", {}):
            continue
        pod = group["template"]["spec"]
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        volume = next(v for v in pod["volumes"] if v["name"] == mounts["/dev/shm"])
        assert volume["emptyDir"]["medium"] == "Memory", name


def test_the_token_reaches_every_pod_of_the_service_and_no_other():
    """The judge and OpenAI builders run where Serve places them (the head included) and refuse to build without the
    token; the replicas read it on the GPU pods. The RayJob's and RayCluster's pods never get it."""
    for kind in ("RayJob", "RayService", "RayCluster"):
        for name, group in _groups(MANIFESTS[kind]):
            env = {e["name"]: e for c in group["template"]["spec"]["containers"] for e in c.get("env", [])}
            assert ("JUDGE_RAY_API_TOKEN" in env) == (kind == "RayService"), (kind, name)
            if kind == "RayService":
                assert env["JUDGE_RAY_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "judge-ray-api",
                                                                                     "key": "token"}
    assert _cluster(MANIFESTS["RayService"])["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_network_policy_keeps_the_dashboard_job_api_and_redis_in_the_namespace():
    ray_pods, redis = yaml.safe_load_all((REPO / "k8s" / "networkpolicy.yaml").read_text())
    assert ray_pods["kind"] == "NetworkPolicy" and ray_pods["spec"]["policyTypes"] == ["Ingress"]
    selector = ray_pods["spec"]["podSelector"]["matchExpressions"][0]
    assert selector["key"] == "ray.io/node-type" and set(selector["values"]) == {"head", "worker"}
    open_ports = set()
    for rule in ray_pods["spec"]["ingress"]:
        if "from" in rule:
            assert rule["from"] == [{"podSelector": {}}]  # the namespace's own pods only
        else:
            open_ports |= {p["port"] for p in rule["ports"]}
    assert open_ports == {8000}  # from outside: Serve only, never 8265 / 6379 / 10001
    (rule,) = redis["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": ray_pods["spec"]["podSelector"]}] and rule["ports"][0]["port"] == 6379


def test_values_a_user_must_change_are_marked():
    for path, needle in (("conf/k8s.yaml", "repository:"), ("k8s/storage.yaml", "storage_class")):
        lines = (REPO / path).read_text().splitlines()
        at = next(i for i, line in enumerate(lines) if needle in line)
        assert "CHANGE-ME" in lines[at] or "CHANGE-ME" in lines[at - 1], path


def _entrypoint_config(manifest: dict):
    words = manifest["spec"]["entrypoint"].split()
    return load_config(_in_repo(words[words.index("--config") + 1]), [w for w in words if "=" in w], SelfTaughtConfig)


# RayCluster: the interactive cluster that `ray job submit` targets with the GPU loop config
LOOP_CONFIGS = {"RayJob": lambda: _entrypoint_config(MANIFESTS["RayJob"]),
                "RayCluster": lambda: load_config(CONF_DIR / "self_taught_gpu.yaml", [], SelfTaughtConfig)}


@pytest.mark.parametrize("kind", sorted(LOOP_CONFIGS))
def test_every_phase_of_the_shipped_loop_fits_the_groups_at_their_maximum_sizes(kind):
    nodes = node_types(MANIFESTS[kind])
    assert [n.name for n in nodes][0] == "head" and any(n.gpus for n in nodes)
    cfg = LOOP_CONFIGS[kind]()
    assert [p for phase in loop_phases(cfg) for p in unschedulable(phase, nodes)] == []


def test_a_loop_config_that_would_wait_forever_is_named():
    """The RayJob as first shipped: four 8-CPU train workers take every CPU of the four GPU pods (the head has
    none), and Ray Data's tasks that feed the trainer would wait for ever."""
    nodes = node_types(MANIFESTS["RayJob"])
    cfg = load_config(CONF_DIR / "self_taught_gpu.yaml", ["train.cpus_per_worker=8"], SelfTaughtConfig)
    (problem,) = [p for phase in loop_phases(cfg) for p in unschedulable(phase, nodes)]
    assert problem.startswith("training:") and "Ray Data's tasks" in problem and "4 x gpu (8 CPU + 1 GPU)" in problem
    cfg = load_config(CONF_DIR / "self_taught_gpu.yaml", ["ray.pool_size=5"], SelfTaughtConfig)
    (problem,) = [p for phase in loop_phases(cfg) for p in unschedulable(phase, nodes)]
    assert problem.startswith("engine stages:")
    assert "engine actor" in problem and "4 CPU + 1 GPU" in problem


def test_the_rayservice_replicas_fit_the_gpu_group_at_its_maximum_size():
    embedded = yaml.safe_load(MANIFESTS["RayService"]["spec"]["serveConfigV2"])
    bundles = []
    for app in embedded["applications"]:
        for d in app.get("deployments", []):
            opts = d.get("ray_actor_options") or {}
            replicas = (d.get("autoscaling_config") or {}).get("max_replicas", 1)
            bundles += [Bundle(d["name"], opts.get("num_cpus", 1), opts.get("num_gpus", 0))] * replicas
        if app["import_path"].endswith("openai_builder"):  # one GPU (and its engine's CPU) per LLM replica
            dep = app["args"]["deployment"]
            bundles += [Bundle("LLM replica", 1, 1 if dep["num_gpus"] else 0)] * dep["max_replicas"]
    phase = Phase("serve", tuple(bundles), task_cpus=0)
    assert len(bundles) >= 2 and unschedulable(phase, node_types(MANIFESTS["RayService"])) == []
