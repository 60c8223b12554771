"""The DeepSpeed config derived from the model's shape and the worker count, and ZeRO's expected bytes."""
import pytest

from judge_ray.config import TrainConfig
from judge_ray.training.deepspeed_config import (DEEPSPEED_BUCKET_DEFAULT, deepspeed_config, optimizer_steps,
                                                 zero_sizes)
from judge_ray.training.zero_memory import ModelShape, expected_bytes, model_shape

# SmolLM2-135M: 134.5M parameters, hidden 576, a 49152 x 576 embedding, 3.5M per decoder layer
SMOLLM2 = ModelShape(params=134_515_008, hidden_size=576, largest_param=28_311_552, layer_params=3_540_096)


def test_cpu_and_gpu_basics():
    cpu = deepspeed_config(TrainConfig())
    assert cpu["zero_optimization"]["stage"] == 3 and cpu["zero_allow_untested_optimizer"]
    assert cpu["zero_optimization"]["stage3_param_persistence_threshold"] == 0
    assert not cpu["bf16"]["enabled"] and "optimizer" not in cpu
    assert "reduce_bucket_size" not in cpu["zero_optimization"]  # no model shape: DeepSpeed's defaults
    gpu = deepspeed_config(TrainConfig(use_gpu=True, precision="bf16", deepspeed_optimizer=True, lr=2e-5))
    assert gpu["bf16"]["enabled"] and gpu["optimizer"]["params"]["lr"] == 2e-5
    assert gpu["zero_optimization"]["overlap_comm"] and not cpu["zero_optimization"]["overlap_comm"]


def test_optimizer_steps_count_equal_worker_shares_micro_batches_and_accumulation():
    cfg = TrainConfig(workers=2, batch_size_per_worker=2, grad_accum=1, epochs=1)
    assert optimizer_steps(8, cfg) == 2
    assert optimizer_steps(9, cfg) == 3  # 5 rows per worker (padded): micro-batches of 2, 2, 1
    assert optimizer_steps(8, TrainConfig(workers=2, batch_size_per_worker=2, grad_accum=2, epochs=3)) == 3
    assert optimizer_steps(1, cfg) == 1


def test_cosine_schedule_warms_up_then_decays_to_zero_and_constant_has_none():
    assert "scheduler" not in deepspeed_config(TrainConfig(), total_steps=100)
    sched = deepspeed_config(TrainConfig(lr_schedule="cosine", warmup_ratio=0.05), total_steps=100)["scheduler"]
    assert sched["type"] == "WarmupCosineLR"
    assert sched["params"] == {"total_num_steps": 100, "warmup_num_steps": 5, "warmup_min_ratio": 0.0,
                               "cos_min_ratio": 0.0, "warmup_type": "linear"}
    assert deepspeed_config(TrainConfig(lr_schedule="cosine"), total_steps=10)["scheduler"]["params"][
        "warmup_num_steps"] == 1


def test_stage3_sizes_follow_the_model():
    """Buckets of hidden^2; live parameters: two layers, but never less than the embedding (used whole)."""
    z3 = deepspeed_config(TrainConfig(zero_stage=3), SMOLLM2)["zero_optimization"]
    assert z3["reduce_bucket_size"] == 576 * 576 and z3["stage3_prefetch_bucket_size"] == int(0.9 * 576 * 576)
    assert z3["stage3_max_live_parameters"] == z3["stage3_max_reuse_distance"] == SMOLLM2.largest_param
    assert z3["sub_group_size"] == SMOLLM2.largest_param  # not DeepSpeed's 1e9: AdamW's temporaries follow it
    deep = ModelShape(params=2_000_000_000, hidden_size=2048, largest_param=100_000_000, layer_params=80_000_000)
    big = zero_sizes(deep, workers=4, stage=3)
    assert big["reduce_bucket_size"] == 2048 * 2048 and big["stage3_max_live_parameters"] == 160_000_000
    assert "allgather_bucket_size" not in big  # stage 3 gathers by its prefetch bucket


def test_buckets_never_exceed_a_workers_share_or_deepspeeds_default():
    tiny = ModelShape(params=1000, hidden_size=64, largest_param=400, layer_params=300)
    assert zero_sizes(tiny, workers=2, stage=2)["reduce_bucket_size"] == 500  # not 64^2 = 4096
    assert zero_sizes(tiny, workers=8, stage=2)["allgather_bucket_size"] == 125
    huge = ModelShape(params=10**12, hidden_size=65536, largest_param=10**9, layer_params=10**10)
    assert zero_sizes(huge, workers=2, stage=3)["reduce_bucket_size"] == DEEPSPEED_BUCKET_DEFAULT
    assert zero_sizes(SMOLLM2, workers=2, stage=0) == {}
    z2 = deepspeed_config(TrainConfig(zero_stage=2), SMOLLM2)["zero_optimization"]
    assert z2["reduce_bucket_size"] == 576 * 576 and "stage3_prefetch_bucket_size" not in z2


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_expected_bytes_partition_by_stage(precision):
    n, w = 10**9, 4
    full = expected_bytes(n, 0, w, precision)
    z1, z2, z3 = (expected_bytes(n, s, w, precision) for s in (1, 2, 3))
    assert z1["params"] == full["params"] and z1["grads"] == full["grads"]
    assert z2["grads"] == full["grads"] // w and z2["params"] == full["params"]
    assert z3["params"] == full["params"] // w and z3["grads"] == z2["grads"]
    if precision == "fp32":  # the ZeRO-3 fp32 partitions are the parameters: exactly 1/w of stage 0
        assert full == {"params": 4 * n, "grads": 4 * n, "optimizer": 8 * n}
        assert z2["optimizer"] == 12 * n // w  # stages 1-2 keep an fp32 master copy of their partition
        assert sum(z3.values()) * w == sum(full.values())
    else:  # the ZeRO paper's 2 + 2 + 12 bytes per parameter, 1/w of it at stage 3
        assert sum(full.values()) == 16 * n and sum(z3.values()) == 16 * n // w


def test_model_shape_counts_on_the_meta_device():
    from transformers import LlamaConfig

    config = LlamaConfig(vocab_size=1000, hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=True)
    shape = model_shape(config)
    layer = 64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128 + 2 * 64  # q, o; k, v (1 kv head of 32); mlp; two norms
    assert shape.layer_params == layer and shape.hidden_size == 64 and shape.largest_param == 1000 * 64
    assert shape.params == 1000 * 64 + 3 * layer + 64  # tied head counted once, final norm
