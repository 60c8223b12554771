"""The streaming export writes what from_pretrained reads back: one file, or shards with an index."""
import json

import pytest
import torch
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from judge_ray.training.export import write_weights


@pytest.mark.parametrize("tied", [True, False])
def test_shards_and_index_round_trip(tmp_path, tied):
    config = LlamaConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, tie_word_embeddings=tied)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    count = write_weights(model, tmp_path, rank=0, dtype=torch.float32, partitioned=False, shard_bytes=20_000)
    config.save_pretrained(tmp_path)
    assert count == sum(p.numel() for p in model.parameters())
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    files = sorted(p.name for p in tmp_path.glob("*.safetensors"))
    assert len(files) > 2 and set(index["weight_map"].values()) == set(files)
    assert files[0] == f"model-00001-of-{len(files):05d}.safetensors" and not list(tmp_path.glob("shard-*"))
    assert ("lm_head.weight" in index["weight_map"]) is not tied  # a tied head is written once
    back = AutoModelForCausalLM.from_pretrained(tmp_path)
    for (name, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), name


def test_one_shard_is_model_safetensors_and_other_ranks_write_nothing(tmp_path):
    model = LlamaForCausalLM(LlamaConfig(vocab_size=100, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=1, num_key_value_heads=1))
    (tmp_path / "r0").mkdir()
    write_weights(model, tmp_path / "r0", rank=0, dtype=torch.bfloat16, partitioned=False)
    assert [p.name for p in (tmp_path / "r0").iterdir()] == ["model.safetensors"]
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(tmp_path / "r0" / "model.safetensors").values()} == {torch.bfloat16}
    write_weights(model, tmp_path / "none", rank=1, dtype=torch.float32, partitioned=False)
    assert not (tmp_path / "none").exists()
