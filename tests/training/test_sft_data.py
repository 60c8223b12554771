import pytest
from transformers import AutoTokenizer

from judge_ray.formats.chat import render_chat
from judge_ray.training.deepspeed_config import deepspeed_config
from judge_ray.training.sft_data import IGNORE, collate, pad_to_workers, tokenize_example
from judge_ray.config import TrainConfig


@pytest.fixture(scope="module")
def tok(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def test_loss_covers_only_the_judgment_tokens(tok):
    ids, labels = tokenize_example(tok, "Which answer is better?", "A is right.\n\nFinal verdict: [[A]]", 512)
    prefix = tok.encode(render_chat(tok, "Which answer is better?"), add_special_tokens=False)
    assert ids[: len(prefix)] == prefix
    assert labels[: len(prefix)] == [IGNORE] * len(prefix)
    target = [t for t in labels if t != IGNORE]
    assert tok.decode(target[:-1]) == "A is right.\n\nFinal verdict: [[A]]"
    assert target[-1] == tok.eos_token_id and len(ids) == len(labels)


def test_truncation_keeps_the_end_of_the_prompt_and_the_response(tok):
    long_prompt = "Preamble " + "filler " * 400 + "the question"
    ids, labels = tokenize_example(tok, long_prompt, "short verdict", 64)
    assert len(ids) == 64
    assert tok.decode([t for t in labels if t != IGNORE][:-1]) == "short verdict"
    assert "Preamble" not in tok.decode(ids)


def test_collate_pads_right_and_masks(tok):
    batch = collate([([5, 6, 7], [IGNORE, 6, 7]), ([8], [8])], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_deepspeed_config_cpu_and_gpu():
    cpu = deepspeed_config(TrainConfig())
    assert cpu["zero_optimization"]["stage"] == 3 and cpu["zero_allow_untested_optimizer"]
    assert cpu["zero_optimization"]["stage3_param_persistence_threshold"] == 0
    assert not cpu["bf16"]["enabled"] and "optimizer" not in cpu
    gpu = deepspeed_config(TrainConfig(use_gpu=True, precision="bf16", deepspeed_optimizer=True, lr=2e-5))
    assert gpu["bf16"]["enabled"] and gpu["optimizer"]["params"]["lr"] == 2e-5


def test_zero_buffers_are_sized_from_the_model_not_deepspeed_defaults():
    """SmolLM2-135M (hidden 576): 331,776-element buckets (1.3 MB of fp32) instead of DeepSpeed's 5e8 (2 GB)."""
    z3 = deepspeed_config(TrainConfig(zero_stage=3), hidden_size=576)["zero_optimization"]
    assert z3["reduce_bucket_size"] == z3["allgather_bucket_size"] == 576 * 576
    assert z3["stage3_prefetch_bucket_size"] == int(0.9 * 576 * 576)
    big = deepspeed_config(TrainConfig(zero_stage=3), hidden_size=2048)["zero_optimization"]
    assert big["reduce_bucket_size"] == 2048 * 2048 > z3["reduce_bucket_size"]
    z2 = deepspeed_config(TrainConfig(zero_stage=2), hidden_size=576)["zero_optimization"]
    assert z2["reduce_bucket_size"] == 576 * 576 and "stage3_prefetch_bucket_size" not in z2
    assert deepspeed_config(TrainConfig(zero_stage=0), hidden_size=576)["zero_optimization"] == {"stage": 0}
    assert "reduce_bucket_size" not in deepspeed_config(TrainConfig())["zero_optimization"]  # no model: defaults


def test_pad_to_workers_repeats_instead_of_dropping():
    rows = [{"i": i} for i in range(3)]
    assert pad_to_workers(rows, 2) == rows + [{"i": 0}]
    assert pad_to_workers(rows[:1], 4) == [{"i": 0}] * 4
    assert pad_to_workers(rows, 3) == rows and pad_to_workers([], 2) == []
