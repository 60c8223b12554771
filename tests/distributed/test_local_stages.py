"""Engine stages of at most `ray.block_rows` rows on CPU run in this process, on one engine kept across stages
(no Ray here: the fake engine by import path, the folders read with pandas)."""
import pandas as pd
import pytest

from judge_ray.distributed.data_stages import LocalEngines, run_stage, runs_here
from judge_ray.distributed.dataflow import done_rows
from judge_ray.distributed.loop_data import EnginePool, judge_pairs
from judge_ray.engines.base import EngineOptions
from tests.helpers import project_lines

FAKE = "tests.fakes:PathEngine"


@pytest.fixture()
def fresh_engines():
    LocalEngines.release()
    before = LocalEngines.builds
    yield lambda: LocalEngines.builds - before
    LocalEngines.release()


def test_small_cpu_stages_run_here_and_gpu_stages_never_do():
    assert runs_here(256, 256, 0.0) and not runs_here(257, 256, 0.0)
    assert not runs_here(1, 0, 0.0)  # local_rows 0: always the pool (the kill tests)
    assert not runs_here(1, 256, 1.0)  # the driver may sit on a node without a GPU


def _model(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    return str(folder)


def _pairs(folder, n: int):
    folder.mkdir(parents=True)
    pd.DataFrame([{"pair_id": f"p{i}", "instruction": f"Is {i} even?", "response_w": "GOOD answer",
                   "response_l": "poor", "winner": "AB"[i % 2], "split": "train" if i % 5 else "eval"}
                  for i in range(n)]).to_parquet(folder / "part-0.parquet")
    return folder


def test_a_small_judge_stage_runs_here_on_one_kept_engine(tmp_path, fresh_engines):
    pairs, model = _pairs(tmp_path / "pairs", 10), _model(tmp_path / "m0")
    pool = EnginePool(engine=FAKE, batch_size=3, local_rows=256)
    with project_lines() as logs:
        rows = judge_pairs(pairs, tmp_path / "requests", tmp_path / "judgments", pool, model, samples=2, seed=1,
                           stage="judge_1", local_rows=256, max_tokens=4, temperature=0.7)
    judged = pd.read_parquet(tmp_path / "judgments")
    assert rows == len(judged) == 16 == done_rows(tmp_path / "judgments")  # 8 training pairs x 2 samples
    assert judged["request_id"].is_unique and set(judged["judge"]) == {model}
    assert (judged["verdict"] == judged["winner"]).all()  # the fake prefers the GOOD answer, wherever it sits
    assert any("in this process" in line for line in logs)
    assert not list(tmp_path.glob(".*"))  # no temporary or checkpoint folder left
    # Same model, same options: the next stage reuses the engine; a finished folder is not recomputed.
    out = run_stage([{"prompt": "hi", "seed": 3}], "generate", model=model, engine=FAKE,
                    engine_options=EngineOptions(), stage_kwargs={"max_tokens": 2}, pool_size=1, batch_size=3,
                    actor_cpus=1, actor_gpus=0, local_rows=256)
    assert len(out) == 1 and fresh_engines() == 1
    assert judge_pairs(pairs, tmp_path / "requests", tmp_path / "judgments", pool, model, samples=2, seed=1,
                       stage="judge_1", local_rows=256) == 16
    assert fresh_engines() == 1
    # Another model (M_1): the kept engine is closed and replaced.
    run_stage([{"prompt": "hi", "seed": 3}], "generate", model=_model(tmp_path / "m1"), engine=FAKE,
              engine_options=EngineOptions(), stage_kwargs={"max_tokens": 2}, pool_size=1, batch_size=3,
              actor_cpus=1, actor_gpus=0, local_rows=256)
    assert fresh_engines() == 2


def test_an_interrupted_small_stage_leaves_no_folder_and_is_redone(tmp_path, fresh_engines, monkeypatch):
    pairs, model = _pairs(tmp_path / "pairs", 6), _model(tmp_path / "m0")
    pool = EnginePool(engine=FAKE, batch_size=2, local_rows=256)
    from judge_ray.distributed import data_stages

    def dies(engine, rows, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(data_stages.STAGES, "judge", dies)
    with pytest.raises(KeyboardInterrupt):
        judge_pairs(pairs, tmp_path / "requests", tmp_path / "judgments", pool, model, samples=1, seed=0,
                    stage="judge_1", local_rows=256)
    assert not (tmp_path / "judgments").exists()
    monkeypatch.undo()
    assert judge_pairs(pairs, tmp_path / "requests", tmp_path / "judgments", pool, model, samples=1, seed=0,
                       stage="judge_1", local_rows=256) == 4
