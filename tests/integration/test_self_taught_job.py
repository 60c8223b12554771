"""The whole job, one iteration, on the tiny model: Ray Data stages on engine actor pools, Ray Train with
DeepSpeed ZeRO-3 on 2 workers, with each engine; then the run directory is checked."""
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from judge_ray.config import load_config
from judge_ray.engines.base import EngineOptions, SamplingParams
from judge_ray.engines.factory import make_engine, vllm_available
from judge_ray.errors import UserError
from judge_ray.instructions import bundled_instructions_path
from judge_ray.pipeline import run_self_taught
from tests.helpers import TINY_LOOP as TINY

pytestmark = pytest.mark.slow


def _gold(tmp_path: Path) -> str:
    path = tmp_path / "gold.jsonl"
    rows = [{"question": "2+2?", "answer_a": "4", "answer_b": "5", "label": "A"},
            {"question": "Capital of France?", "answer_a": "Lyon", "answer_b": "Paris", "label": "B"},
            {"question": "Same?", "answer_a": "x", "answer_b": "x", "label": "tie"}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return str(path)


@pytest.mark.parametrize("engine", ["transformers", "vllm"])
def test_one_iteration_end_to_end(engine, ray_cluster, tiny_model, tmp_path):
    if engine == "vllm" and not vllm_available():
        pytest.skip("vLLM cannot run here")
    keep = engine == "transformers"  # one run keeps its checkpoints, the other shows they are removed
    # The vLLM run skips the seed's evaluation (the transformers run checks it): one vLLM engine start less.
    cfg = load_config(None, TINY + [f"engine={engine}", f"run.root={tmp_path}", "run.name=r",
                                    f"train.keep_checkpoints={keep}", f"eval.baseline={keep}",
                                    f"data.labelled_eval=[{_gold(tmp_path)}]"])
    run = run_self_taught(cfg, log=lambda _: None)
    it = run / "iter_1"

    corpus = json.loads((run / "corpus" / "stats.json").read_text())  # the bundled seeds, read as a corpus
    bundled = len(bundled_instructions_path().read_text().splitlines())
    assert corpus["layout"] == "instruction" and corpus["read"] == corpus["kept"] == bundled and not corpus["dropped"]
    assert f"{bundled} rows read, {bundled} kept" in (run / "summary.md").read_text()

    for stage in ("classified", "instructions", "pairs_built", "pairs", "requests", "judgments", "sft"):
        assert (it / stage / "_done.json").is_file(), stage  # every stage a finished Parquet folder
    assert not list(it.glob(".*checkpoint")), "Ray Data checkpoints left behind after the stages finished"
    selected = pd.read_parquet(it / "instructions")
    assert 1 <= len(selected) <= 6
    assert set(selected["category"]) <= {"coding", "math", "writing"}
    assert selected.groupby("category").size().max() <= 2

    pairs = pd.read_parquet(it / "pairs")
    usable = pairs[pairs["split"].isin(["train", "eval"])]
    assert len(pairs) == len(selected) and len(usable) >= 1
    assert (usable["response_w"] != usable["response_l"]).all()
    train_pairs = usable[usable["split"] == "train"]

    judgments = pd.read_parquet(it / "judgments")
    assert len(judgments) == 3 * len(train_pairs)  # N samples per training pair
    assert judgments["request_id"].is_unique and set(judgments["pair_id"]) == set(train_pairs["pair_id"])
    assert set(judgments["verdict"]) <= {"A", "B"} and judgments["verdict"].notna().all()
    # the verdict's probability is that of the option drawn (at temperature, not always the likelier one)
    expected = judgments["prob_a"].where(judgments["verdict"] == "A", 1 - judgments["prob_a"])
    assert ((judgments["verdict_prob"] - expected).abs() < 1e-9).all()
    assert judgments["prob_a"].between(0.0, 1.0).all()
    assert judgments["seed"].nunique() == len(judgments)

    sft = pd.read_parquet(it / "sft")
    kept = judgments[judgments["correct"]]["pair_id"].nunique()
    assert len(sft) == kept
    assert sft["response"].str.endswith(("[[A]]", "[[B]]")).all()
    assert abs((sft["winner"] == "A").sum() - (sft["winner"] == "B").sum()) <= 1

    model_dir = it / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"):
        assert (model_dir / name).is_file(), name
    record = json.loads((model_dir / "judge_ray_training.json").read_text())
    assert record["steps"] >= 1 and record["zero_stage"] == 3 and record["workers"] == 2
    assert record["final_epoch_loss"] > 0
    if keep:
        assert list((it / "checkpoints").rglob("state.json")), "no Ray Train checkpoint was reported"
    else:
        assert not (it / "checkpoints").exists()

    # The held-out pairs are evaluated by the evaluation harness: its files, its metrics.
    metrics = json.loads((it / "metrics.json").read_text())
    held, n_held = metrics["heldout"], len(usable) - len(train_pairs)
    harness = it / "eval" / "heldout"
    assert json.loads((harness / "metrics.json").read_text()) == held
    predictions = [json.loads(line) for line in (harness / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == n_held and all(len(p["calls"]) == 2 * 2 for p in predictions)  # orders x k
    assert held["judge"]["mode"] == "both_vote" and held["judge"]["format"] == "pairwise"
    assert held["scored"] == n_held and held["swap"]["judged_both_orders"] == n_held
    assert held["agreement_ci"]["n"] == n_held and held["swap"]["consistency_ci"]["n"] == n_held
    assert held["agreement_ci"]["low"] <= held["agreement"] <= held["agreement_ci"]["high"]
    assert 0.0 <= held["unaided_verdict_rate"] <= 1.0
    assert metrics["labelled:gold"]["scored"] == 2  # the tie set aside
    assert (it / "eval" / "labelled-gold" / "confusion.png").is_file()
    if keep:
        assert json.loads((run / "baseline" / "metrics.json").read_text())["heldout"]["scored"] == n_held
    summary = (run / "summary.md").read_text()
    assert "| 1 | M_1 |" in summary and ("| 0 | M_0 (seed) |" in summary) == keep and "1 ties set aside" in summary
    assert "| 1 | M_1 | labelled:gold | 2 |" in summary and f"n={n_held}" in summary
    assert not list(run.rglob("*.tmp")), "temporary files left behind"

    # M_1 was loaded by this run's engine to evaluate it (metrics above); the other engine loads it too.
    other = "vllm" if engine == "transformers" else "transformers"
    if other == "transformers" or vllm_available():
        exported = make_engine(other, str(model_dir), EngineOptions(dtype="float32", max_model_len=1024))
        assert isinstance(exported.generate([exported.chat("hi")], SamplingParams(max_tokens=4))[0], str)
        assert set(exported.option_logprobs([exported.chat("q", "[[")], ["A", "B"])[0]) == {"A", "B"}
        exported.close()

    # A finished run is never overwritten silently.
    with pytest.raises(UserError, match="already holds a finished run"):
        run_self_taught(cfg, log=lambda _: None)


def test_two_iterations_then_an_interrupted_run_resumes_from_finished_stages(ray_cluster, tiny_model, tmp_path):
    overrides = TINY + ["iterations=2", "engine=transformers", f"run.root={tmp_path}", "run.name=resume",
                        "eval.baseline=false"]
    cfg = load_config(None, overrides)
    run = run_self_taught(cfg, log=lambda _: None)
    # Iteration i is judged by M_{i-1} and fine-tunes the seed M_0 again (not M_{i-1}), as in the paper.
    first, second = (pd.read_parquet(run / f"iter_{i}" / "judgments") for i in (1, 2))
    assert set(first["judge"]) == {"tiny"}
    assert set(second["judge"]) == {str((run / "iter_1" / "model").resolve())}
    assert set(first["request_id"]) == set(second["request_id"])  # the same pairs, re-judged...
    assert set(first["seed"]).isdisjoint(second["seed"])  # ...with the iteration's own seeds
    for i in (1, 2):
        record = json.loads((run / f"iter_{i}" / "model" / "judge_ray_training.json").read_text())
        assert record["base_model"] == "tiny" and record["iteration"] == i
    second_sft = pd.read_parquet(run / "iter_2" / "sft")
    assert set(second_sft["pair_id"]) <= set(second[second["correct"]]["pair_id"])
    summary = (run / "summary.md").read_text()
    assert "| 2 | M_2 |" in summary and json.loads((run / "iter_2" / "metrics.json").read_text())["heldout"]
    pairs_mtime = os.stat(run / "iter_1" / "pairs" / "_done.json").st_mtime_ns
    model_mtime = os.stat(run / "iter_1" / "model" / "model.safetensors").st_mtime_ns
    # Simulate a crash after training: the evaluation and summary never got written.
    (run / "summary.md").unlink()
    (run / "iter_1" / "metrics.json").unlink()
    logs: list[str] = []
    run_self_taught(cfg, log=logs.append)
    assert any("resuming" in line for line in logs)
    assert not any(line.startswith("[select]") or line.startswith("[pairs]") for line in logs)
    assert os.stat(run / "iter_1" / "pairs" / "_done.json").st_mtime_ns == pairs_mtime
    assert os.stat(run / "iter_1" / "model" / "model.safetensors").st_mtime_ns == model_mtime
    assert (run / "iter_1" / "metrics.json").exists() and (run / "summary.md").exists()
    assert not (run / "baseline").exists()
    # the bundled labelled set is evaluated by default, in both orders, k = eval.labelled_samples
    bundled = json.loads((run / "iter_1" / "metrics.json").read_text())["labelled:bundled"]
    assert bundled["scored"] >= 60 and bundled["judge"]["mode"] == "both" and bundled["judge"]["max_tokens"] == 0
    assert bundled["judge"]["temperature"] == 0.0  # one verdict per order is the greedy one, not a sample
    # ...and the held-out pairs, k = 2 per order, are sampled at eval.temperature and voted
    held = json.loads((run / "iter_1" / "metrics.json").read_text())["heldout"]["judge"]
    assert held["samples"] == 2 and held["temperature"] == cfg.eval.temperature > 0
    assert "labelled set `bundled`" in (run / "summary.md").read_text()
