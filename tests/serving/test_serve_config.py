"""The generated Serve config, the served-model choice, and jobs/serve.py's one-line errors (no Ray)."""
import json

import pytest
import yaml

from judge_ray.config import CONF_DIR, ServeConfig, load_config
from judge_ray.errors import ConfigError, InputError
from judge_ray.serving.model_source import best_iteration, served_model
from judge_ray.serving.serve_config import serve_config
from tests.helpers import assert_one_line_error, job_here


def test_serve_config_carries_autoscaling_resources_and_the_whole_config():
    cfg = load_config(CONF_DIR / "serve_gpu.yaml", [], ServeConfig)
    sc = serve_config(cfg)
    judge, openai = sc["applications"]
    dep = judge["deployments"][0]
    assert dep["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 8.0}
    assert dep["ray_actor_options"] == {"num_cpus": 4.0, "num_gpus": 1.0} and dep["max_ongoing_requests"] == 64
    assert judge["import_path"] == "judge_ray.serving.app:app_builder" and judge["args"]["model"] == cfg.model
    assert openai["route_prefix"] == "/openai"
    # variables only: the code and packages come with the image
    assert judge["runtime_env"] == openai["runtime_env"] == {"env_vars": cfg.serve.env_vars} and cfg.serve.env_vars
    assert sc["http_options"] == {"host": "0.0.0.0", "port": 8000}
    # the args rebuild the same config on the cluster
    from omegaconf import OmegaConf

    rebuilt = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ServeConfig), judge["args"]))
    assert rebuilt.deployment == cfg.deployment and rebuilt.serve == cfg.serve
    local = serve_config(load_config(None, [], ServeConfig))
    assert len(local["applications"]) == 1 and "runtime_env" not in local["applications"][0]


def test_write_serve_config_from_the_job(capsys, tmp_path):
    out = tmp_path / "serve.yaml"
    proc = job_here(capsys, "serve.py", "--config", str(CONF_DIR / "serve_gpu.yaml"), f"write_serve_config={out}")
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(out.read_text()) == serve_config(load_config(CONF_DIR / "serve_gpu.yaml", [], ServeConfig))


@pytest.mark.parametrize("overrides, words", [
    (["deployment.min_replicas=3", "deployment.max_replicas=2"], "min_replicas=3"),
    (["deployment.max_ongoing_requests=4"], "max_ongoing_requests=4 must be >= serve.max_batch_size=8"),
    (["serve.vote_samples=9"], "vote_samples"),
    (["serve.openai=true", "serve.openai_route_prefix=/"], "openai_route_prefix"),
    (["deployment.replicas=2"], "replicas"),
])
def test_bad_serve_config(overrides, words):
    with pytest.raises(ConfigError) as err:
        load_config(None, overrides, ServeConfig)
    assert words in str(err.value)


def test_serve_job_errors_are_one_line(capsys):
    def run(*args):
        return job_here(capsys, "serve.py", *args)

    assert_one_line_error(run("model=/no/such/model"), "/no/such/model")
    assert_one_line_error(run("deployment.max_replicas=0"), "min_replicas")


def _run_dir(tmp_path, accuracies):
    run = tmp_path / "run"
    (run / "iter_1").mkdir(parents=True)
    (run / "config.yaml").write_text("model: tiny\n")
    for i, acc in enumerate(accuracies, start=1):
        (run / f"iter_{i}" / "model").mkdir(parents=True, exist_ok=True)
        (run / f"iter_{i}" / "model" / "config.json").write_text("{}")
        if acc is not None:
            (run / f"iter_{i}" / "metrics.json").write_text(json.dumps({"heldout": {"majority_vote_accuracy": acc}}))
    return run


def test_best_iteration_of_a_self_taught_run(tmp_path):
    assert best_iteration(_run_dir(tmp_path / "a", [0.5, 0.75, 0.6]))[0] == 2
    assert best_iteration(_run_dir(tmp_path / "b", [0.5, 0.5]))[0] == 2  # a tie goes to the later one
    assert best_iteration(_run_dir(tmp_path / "c", [None, None]))[0] == 2  # no metrics: the latest
    path, name = served_model(str(_run_dir(tmp_path / "d", [0.9, 0.1])))
    assert path.endswith("iter_1/model") and name == "run/M_1"
    # with a labelled set, the larger set decides: 60 pairs outweigh a 2-pair held-out split
    run = _run_dir(tmp_path / "f", [None, None])
    for i, (held, labelled) in enumerate([(1.0, 0.4), (0.0, 0.6)], start=1):
        (run / f"iter_{i}" / "metrics.json").write_text(json.dumps({
            "heldout": {"pairs": 2, "majority_vote_accuracy": held},
            "labelled:bundled": {"pairs": 60, "majority_vote_accuracy": labelled}}))
    assert best_iteration(run)[0] == 2
    # eval.select_on names the set that decides (HelpSteer2, as the Self-Taught Evaluators paper chose)
    for i, (hs, labelled) in enumerate([(0.7, 0.4), (0.5, 0.6)], start=1):
        (run / f"iter_{i}" / "metrics.json").write_text(json.dumps({
            "labelled:helpsteer2": {"scored": 10, "agreement": hs},
            "labelled:bundled": {"scored": 60, "agreement": labelled}}))
    assert best_iteration(run)[0] == 2
    (run / "config.yaml").write_text("model: tiny\neval:\n  select_on: labelled:helpsteer2\n")
    assert best_iteration(run)[0] == 1
    empty = tmp_path / "e"
    (empty / "iter_1").mkdir(parents=True)
    (empty / "config.yaml").write_text("model: tiny\n")
    with pytest.raises(InputError, match="no trained iteration"):
        served_model(str(empty))
