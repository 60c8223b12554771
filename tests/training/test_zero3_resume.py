"""Ray Train + DeepSpeed ZeRO-3 on 2 workers: a rerun with the same storage resumes from the checkpoint."""
import json

import pytest

from judge_ray.config import TrainConfig
from judge_ray.training.zero3 import train_sft

pytestmark = pytest.mark.slow

ROWS = [{"prompt": f"Which answer is better, {i}?", "response": f"Reason {i}.\n\nFinal verdict: [[{'AB'[i % 2]}]]"}
        for i in range(8)]


def test_training_resumes_from_its_last_checkpoint(ray_cluster, tiny_model, tmp_path):
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size_per_worker=2, keep_checkpoints=True)
    first = train_sft(ROWS, model="tiny", cfg=cfg, export_dir=tmp_path / "m1", storage_dir=tmp_path / "ckpt",
                      seed=0, run_name="resume", log=lambda _: None)
    assert first["epoch"] == 0 and first["step"] == 2  # 8 rows / 2 workers / batch 2
    # Asking for a second epoch on the same storage continues from epoch 0's checkpoint, not from scratch.
    cfg2 = TrainConfig(epochs=2, lr=1e-3, batch_size_per_worker=2, keep_checkpoints=True)
    second = train_sft(ROWS, model="tiny", cfg=cfg2, export_dir=tmp_path / "m2", storage_dir=tmp_path / "ckpt",
                       seed=0, run_name="resume", log=lambda _: None)
    assert second["epoch"] == 1 and second["step"] == 4
    states = [json.loads(p.read_text()) for p in (tmp_path / "ckpt").rglob("state.json")]
    assert max(s["epoch"] for s in states) == 1
    assert (tmp_path / "m2" / "model.safetensors").is_file()


def test_without_kept_checkpoints_the_last_epoch_is_not_checkpointed(ray_cluster, tiny_model, tmp_path):
    cfg = TrainConfig(epochs=2, lr=1e-3, batch_size_per_worker=2, keep_checkpoints=False)
    result = train_sft(ROWS, model="tiny", cfg=cfg, export_dir=tmp_path / "m", storage_dir=tmp_path / "ckpt",
                       seed=0, run_name="nokeep", log=lambda _: None)
    assert result["epoch"] == 1
    states = [json.loads(p.read_text()) for p in (tmp_path / "ckpt").rglob("state.json")]
    assert [s["epoch"] for s in states] == [0]  # epoch 1 (the last) went straight to the export
    assert (tmp_path / "m" / "model.safetensors").is_file()
    record = json.loads((tmp_path / "m" / "judge_ray_training.json").read_text())
    assert record["lr_schedule"] == "constant" and record["final_lr"] == pytest.approx(1e-3)


def test_a_cosine_schedule_decays_the_rate_to_zero_by_the_last_step(ray_cluster, tiny_model, tmp_path):
    cfg = TrainConfig(epochs=2, lr=1e-3, batch_size_per_worker=2, lr_schedule="cosine", warmup_ratio=0.25)
    result = train_sft(ROWS, model="tiny", cfg=cfg, export_dir=tmp_path / "m", storage_dir=tmp_path / "ckpt",
                       seed=0, run_name="cosine", log=lambda _: None)
    record = json.loads((tmp_path / "m" / "judge_ray_training.json").read_text())
    assert result["step"] == 4 and record["lr_schedule"] == "cosine"
    assert record["final_lr"] < 1e-9  # DeepSpeed stepped the schedule with the optimizer, to its end


def test_fewer_examples_than_workers_still_train(ray_cluster, tiny_model, tmp_path):
    result = train_sft(ROWS[:1], model="tiny", cfg=TrainConfig(epochs=1, lr=1e-3), export_dir=tmp_path / "m",
                       storage_dir=tmp_path / "ckpt", seed=0, run_name="one", log=lambda _: None)
    assert result["step"] == 1 and result["loss"] > 0


def test_zero3_trains_the_same_weights_as_stage_0(ray_cluster, tiny_model, tmp_path):
    """Partitioning (with the fp32 master partitions shared with the parameters) and the streamed export change
    where the bytes live, not the result: ZeRO-3 and plain data parallelism export the same trained weights."""
    from safetensors.torch import load_file

    from judge_ray.models import resolve_model

    weights = {}
    for stage in (0, 3):
        cfg = TrainConfig(epochs=2, lr=1e-2, batch_size_per_worker=2, zero_stage=stage)
        train_sft(ROWS, model="tiny", cfg=cfg, export_dir=tmp_path / f"z{stage}", storage_dir=tmp_path / f"c{stage}",
                  seed=0, run_name=f"z{stage}", log=lambda _: None)
        weights[stage] = load_file(tmp_path / f"z{stage}" / "model.safetensors")
    seed = load_file(f"{resolve_model('tiny')}/model.safetensors")
    assert weights[0].keys() == weights[3].keys() == seed.keys()
    moved = max((weights[3][k] - seed[k]).abs().max().item() for k in seed)
    apart = max((weights[3][k] - weights[0][k]).abs().max().item() for k in seed)
    assert moved > 1e-3 and apart < 1e-4, (moved, apart)  # trained, and trained alike


def test_pair_orders_trains_both_orders_of_a_pair_in_one_micro_batch(ray_cluster, tiny_model, tmp_path):
    """A swap-augmented Parquet SFT set (each pair in both orders, the copies in other files) becomes one row
    per pair: 4 pairs on 2 workers at 1 pair per micro-batch are 2 steps (8 sequences), where per-row
    batches of 1 would be 4."""
    import pandas as pd

    from judge_ray.training.sft_data import batch_sequences
    from judge_ray.training.zero3 import training_dataset

    folder = tmp_path / "sft"
    folder.mkdir()
    rows = [{**r, "pair_id": f"p{i % 4}"} for i, r in enumerate(ROWS)]
    pd.DataFrame(rows[:4]).to_parquet(folder / "part-0.parquet")
    pd.DataFrame(rows[4:]).to_parquet(folder / "part-1.parquet")
    ds, n = training_dataset(folder, 2, pair_orders=True)
    packed = ds.take_all()
    assert n == 4 and len(packed) == 4
    pair_of = {r["prompt"]: r["pair_id"] for r in rows}
    for row in packed:  # each row holds exactly its pair's two examples
        sequences = batch_sequences([row["prompt"]], [row["response"]])
        assert len(sequences) == 2 and len({pair_of[p] for p, _ in sequences}) == 1
    seen = sorted(p for row in packed for p, _ in batch_sequences([row["prompt"]], [row["response"]]))
    assert seen == sorted(r["prompt"] for r in ROWS)  # every example once
    cfg = TrainConfig(epochs=1, lr=1e-3, batch_size_per_worker=1, pair_orders=True)
    result = train_sft(folder, model="tiny", cfg=cfg, export_dir=tmp_path / "m", storage_dir=tmp_path / "ckpt",
                       seed=0, run_name="pairs", log=lambda _: None)
    assert result["step"] == 2 and result["loss"] > 0
