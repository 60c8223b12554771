"""A job on a cluster it did not size: CPU asks shrink to what the cluster offers (leaving Ray Data's tasks a
CPU), and an ask no node can meet stops the job within ray.startup_timeout_s, naming the resource, instead of
waiting for ever (the session's shared cluster: 4 CPUs, no GPU)."""
import time

import pytest

from judge_ray.config import load_config
from judge_ray.errors import UserError

pytestmark = pytest.mark.slow  # uses the shared Ray cluster


def test_cpu_asks_are_scaled_to_the_cluster_and_a_missing_gpu_is_named_in_bounded_time(ray_cluster):
    import ray

    from judge_ray.distributed.cluster import fit_to_cluster, live_nodes
    from judge_ray.distributed.resources import training_phase, unschedulable

    offered = sum(n.cpus for n in live_nodes())
    assert offered == ray.cluster_resources()["CPU"] == 4
    cfg = load_config(None, ["model=tiny", f"ray.actor_cpus={offered:g}", "train.workers=2",
                             f"train.cpus_per_worker={offered:g}"])
    ray_cfg, train_cfg = fit_to_cluster(cfg.ray, cfg.train)
    assert ray_cfg.actor_cpus == offered - 2  # a CPU left for Ray Data's checkpoint filter and one for its tasks
    assert train_cfg.workers == 2 and train_cfg.cpus_per_worker == (offered - 1) / 2
    assert unschedulable(training_phase(train_cfg), live_nodes()) == []
    assert fit_to_cluster(cfg.ray, None, engines=False) == (cfg.ray, None)  # nothing asked, nothing changed
    as_asked = load_config(None, ["model=tiny"])
    assert fit_to_cluster(as_asked.ray, as_asked.train) == (as_asked.ray, as_asked.train)  # fits: left alone

    gpu = load_config(None, ["model=tiny", "ray.actor_gpus=1", "ray.startup_timeout_s=2"])
    started = time.time()
    with pytest.raises(UserError) as err:
        fit_to_cluster(gpu.ray, gpu.train)
    assert time.time() - started < 30
    message = str(err.value)
    assert "1 GPU" in message and "ray.startup_timeout_s=2" in message and "\n" not in message
    strict = load_config(None, ["model=tiny", "ray.actor_cpus=8", "ray.fit_cpus=false", "ray.startup_timeout_s=1"])
    with pytest.raises(UserError, match="engine actor 1/1 .* asks 8 CPU"):
        fit_to_cluster(strict.ray)
    assert not ray.util.placement_group_table() or all(
        g["state"] == "REMOVED" for g in ray.util.placement_group_table().values())  # the asks are withdrawn
