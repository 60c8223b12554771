"""Ray Train + DeepSpeed ZeRO-3 on 2 workers. Each fit proves several claims (a fit costs ~30 s of controller,
worker group, imports and teardown here, whatever it trains): a pair-packed Parquet set smaller than the
worker count trains, at a constant rate, and a rerun resumes from its last checkpoint; stage 0 against stage 3
under a cosine schedule, with no kept checkpoints, and the bytes each worker holds."""
import json

import pandas as pd
import pytest

from judge_ray.config import TrainConfig
from judge_ray.training.zero3 import train_sft

pytestmark = pytest.mark.slow

ROWS = [{"prompt": f"Which answer is better, {i}?", "response": f"Reason {i}.\n\nFinal verdict: [[{'AB'[i % 2]}]]"}
        for i in range(8)]


def _pair_folder(folder, rows) -> None:
    """A swap-augmented Parquet SFT set: each pair in both orders, the second order in another file."""
    folder.mkdir()
    half = len(rows) // 2
    pd.DataFrame(rows[:half]).to_parquet(folder / "part-0.parquet")
    pd.DataFrame(rows[half:]).to_parquet(folder / "part-1.parquet")


def test_pair_orders_packs_a_pair_per_row(ray_cluster, tmp_path):
    """One row per pair, so 4 pairs on 2 workers at 1 pair per micro-batch are 2 steps (8 sequences), where
    per-row batches of 1 would be 4; a folder of one pair is repeated to fill the second worker."""
    from judge_ray.training.deepspeed_config import optimizer_steps
    from judge_ray.training.sft_data import batch_sequences
    from judge_ray.training.zero3 import training_dataset

    rows = [{**r, "pair_id": f"p{i % 4}"} for i, r in enumerate(ROWS)]
    _pair_folder(tmp_path / "sft", rows)
    ds, n = training_dataset(tmp_path / "sft", 2, pair_orders=True)
    packed = ds.take_all()
    assert n == 4 and len(packed) == 4
    pair_of = {r["prompt"]: r["pair_id"] for r in rows}
    for row in packed:  # each row holds exactly its pair's two examples
        sequences = batch_sequences([row["prompt"]], [row["response"]])
        assert len(sequences) == 2 and len({pair_of[p] for p, _ in sequences}) == 1
    seen = sorted(p for row in packed for p, _ in batch_sequences([row["prompt"]], [row["response"]]))
    assert seen == sorted(r["prompt"] for r in ROWS)  # every example once
    assert optimizer_steps(n, TrainConfig(epochs=1, batch_size_per_worker=1, pair_orders=True)) == 2
    _pair_folder(tmp_path / "one", [rows[0], rows[4]])  # pair p0, its two orders in two files
    ds, n = training_dataset(tmp_path / "one", 2, pair_orders=True)
    padded = ds.take_all()
    assert n == 1 and len(padded) == 2 and padded[0] == padded[1]
    both = batch_sequences([padded[0]["prompt"]], [padded[0]["response"]])
    assert {p for p, _ in both} == {ROWS[0]["prompt"], ROWS[4]["prompt"]}


def test_one_pair_on_two_workers_trains_then_resumes_from_its_last_checkpoint(ray_cluster, tiny_model, tmp_path):
    """One pair (both orders) on 2 workers is repeated to fill the second worker, and trains one step an epoch
    at a constant rate; asking for a second epoch on the same storage continues from epoch 0's checkpoint, not
    from scratch. (Rows in memory, as train_judge passes them; the folder form is packed above.)"""
    one = [{**ROWS[0], "pair_id": "p0"}, {**ROWS[1], "pair_id": "p0"}]
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size_per_worker=1, pair_orders=True, keep_checkpoints=True)
    first = train_sft(one, model="tiny", cfg=cfg, export_dir=tmp_path / "m1",
                      storage_dir=tmp_path / "ckpt", seed=0, run_name="resume")
    assert first["epoch"] == 0 and first["step"] == 1 and first["loss"] > 0 and first["resumed_from_step"] is None
    record = json.loads((tmp_path / "m1" / "judge_ray_training.json").read_text())
    assert record["lr_schedule"] == "constant" and record["final_lr"] == pytest.approx(1e-3)
    cfg2 = TrainConfig(epochs=2, lr=1e-3, batch_size_per_worker=1, pair_orders=True, keep_checkpoints=True)
    second = train_sft(one, model="tiny", cfg=cfg2, export_dir=tmp_path / "m2",
                       storage_dir=tmp_path / "ckpt", seed=0, run_name="resume")
    assert second["epoch"] == 1 and second["step"] == 2 and second["resumed_from_step"] == 1
    states = [json.loads(p.read_text()) for p in (tmp_path / "ckpt").rglob("state.json")]
    assert max(s["epoch"] for s in states) == 1  # kept: the last epoch is checkpointed too
    assert (tmp_path / "m2" / "model.safetensors").is_file()


def test_zero3_trains_the_same_weights_as_stage_0_in_half_the_bytes(ray_cluster, tiny_model, tmp_path):
    """Partitioning (with the fp32 master partitions shared with the parameters) and the streamed export change
    where the bytes live, not the result: ZeRO-3 and plain data parallelism export the same trained weights,
    and a ZeRO-3 worker holds half the parameters (the memory probe measures DeepSpeed's tensors). DeepSpeed
    steps the cosine schedule with the optimizer, to zero by the last step; without kept checkpoints the last
    epoch goes straight to the export."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from judge_ray.models import resolve_model
    from judge_ray.training.zero_memory import expected_bytes, model_shape

    params = model_shape(AutoConfig.from_pretrained(resolve_model("tiny"))).params
    weights, held = {}, {}
    for stage in (0, 3):
        cfg = TrainConfig(epochs=2, lr=1e-2, batch_size_per_worker=2, zero_stage=stage, lr_schedule="cosine",
                          warmup_ratio=0.25, keep_checkpoints=False)
        result = train_sft(ROWS, model="tiny", cfg=cfg, export_dir=tmp_path / f"z{stage}",
                           storage_dir=tmp_path / f"c{stage}", seed=0, run_name=f"z{stage}",
                           probe_dir=tmp_path / f"p{stage}")
        weights[stage] = load_file(tmp_path / f"z{stage}" / "model.safetensors")
        record = json.loads((tmp_path / f"z{stage}" / "judge_ray_training.json").read_text())
        assert result["step"] == 4 and result["epoch"] == 1 and record["zero_stage"] == stage
        assert record["lr_schedule"] == "cosine" and record["final_lr"] < 1e-9
        states = [json.loads(p.read_text()) for p in (tmp_path / f"c{stage}").rglob("state.json")]
        assert [s["epoch"] for s in states] == [0]  # epoch 1 (the last) went straight to the export
        ranks = [json.loads(p.read_text()) for p in sorted((tmp_path / f"p{stage}").glob("rank*.json"))]
        assert len(ranks) == 2
        held[stage] = {k: max(r["held"][k] for r in ranks) for k in ("params", "grads", "optimizer")}
        expected = expected_bytes(params, stage, 2)
        for key in ("params", "grads", "optimizer"):  # measured from the tensors, close to the accounting
            assert 0.9 * expected[key] <= held[stage][key] <= 1.25 * expected[key] + 4096, (stage, key, held)
        assert min(r["peak_rss"] for r in ranks) > sum(held[stage].values())
    seed = load_file(f"{resolve_model('tiny')}/model.safetensors")
    assert weights[0].keys() == weights[3].keys() == seed.keys()
    moved = max((weights[3][k] - seed[k]).abs().max().item() for k in seed)
    apart = max((weights[3][k] - weights[0][k]).abs().max().item() for k in seed)
    assert moved > 1e-3 and apart < 1e-4, (moved, apart)  # trained, and trained alike
    assert held[3]["params"] < 0.6 * held[0]["params"]  # ZeRO-3 holds half of the parameters per worker
    assert sum(held[3].values()) <= 0.55 * sum(held[0].values())
