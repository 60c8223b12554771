"""jobs/evaluate.py on a predictions file (no model, no Ray) and both new jobs' one-line input errors."""
import json

import pytest

from tests.helpers import FIXTURES as FIX
from tests.helpers import assert_one_line_error, job_here


@pytest.fixture()
def job(capsys):
    """The job in this process (`job_here`): scoring a predictions file needs no model and no Ray."""
    return lambda name, *args: job_here(capsys, name, *args)


def test_scores_a_predictions_file_and_reproduces_from_its_own_output(job, tmp_path):
    preds = tmp_path / "other.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "1", "winner": "B", "winner_swapped": "A"}, {"id": "2", "winner": "A", "winner_swapped": "A"},
        {"id": "3", "output": "4 8\nAssistant 2", "output_swapped": "8 4"}, {"id": "4", "winner": None},
        {"id": "5", "winner": "B"}, {"id": "6", "winner": "tie"}]))
    bench = FIX / "benchmarks" / "rewardbench.jsonl"
    proc = job("evaluate.py", f"benchmark.path={bench}", f"judge.predictions={preds}", f"run.root={tmp_path}",
               "run.name=first", "policy.ties=exclude", "policy.unparseable=half")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "first"
    for name in ("predictions.jsonl", "metrics.json", "summary.md", "confusion.png", "config.yaml"):
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["policy"] == {"ties": "exclude", "unparseable": "half", "predicted_ties": "miss"}
    labels = {r["id"]: r["label"] for r in map(json.loads, (out / "predictions.jsonl").read_text().splitlines())}
    # 1: B|A consistent -> B; 2: A|A inconsistent -> tie (wrong); 3: B|A(8 4 in BA frame) -> B; 4: unparsed (0.5)
    expected = [labels["1"] == "B", 0, labels["3"] == "B", 0.5, labels["5"] == "B", 0]
    assert abs(m["agreement"] - sum(expected) / 6) < 1e-9
    assert m["swap"]["judged_both_orders"] == 3 and m["swap"]["consistency"] == 2 / 3
    assert "RewardBench score" in (out / "summary.md").read_text() and "RewardBench score" in proc.stdout
    again = job("evaluate.py", f"benchmark.path={bench}", f"judge.predictions={out / 'predictions.jsonl'}",
                f"run.root={tmp_path}", "run.name=second", "policy.ties=exclude", "policy.unparseable=half")
    assert again.returncode == 0, again.stderr
    m2 = json.loads((tmp_path / "second" / "metrics.json").read_text())
    drop = ("judge",)
    assert {k: v for k, v in m.items() if k not in drop} == {k: v for k, v in m2.items() if k not in drop}


def test_predictions_that_do_not_match_the_benchmark(job, tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "nope", "winner": "A"}) + "\n")
    proc = job("evaluate.py", f"benchmark.path={FIX / 'benchmarks' / 'llmbar.json'}", f"judge.predictions={preds}",
               f"run.root={tmp_path}/out")
    assert_one_line_error(proc, "p.jsonl:1", "'id'", "nope")
    assert not (tmp_path / "out").exists()


def test_unknown_benchmark_layout_and_missing_model(job, tmp_path):
    bad = tmp_path / "b.jsonl"
    bad.write_text(json.dumps({"q": 1}) + "\n")
    assert_one_line_error(job("evaluate.py", f"benchmark.path={bad}", "judge.model=tiny", f"run.root={tmp_path}/o"),
                           "b.jsonl:1", "none of the known benchmark layouts")
    assert_one_line_error(job("evaluate.py", f"benchmark.path={FIX / 'benchmarks' / 'pairs.jsonl'}",
                               "judge.model=/no/such/judge", f"run.root={tmp_path}/o"), "/no/such/judge")
    assert not (tmp_path / "o").exists()


def test_train_judge_bad_data_is_one_line_and_writes_nothing(job, tmp_path):
    bad = tmp_path / "t.jsonl"
    bad.write_text(json.dumps({"question_body": "q", "answer1_body": "a", "answer2_body": "b", "text": "x",
                               "score": [0, 4]}) + "\n")
    assert_one_line_error(job("train_judge.py", f"data.path={bad}", "model=tiny", f"run.root={tmp_path}/runs"),
                           "t.jsonl:1", "'score'", "1-10")
    assert_one_line_error(job("train_judge.py", "model=tiny"), "data.path")
    assert not (tmp_path / "runs").exists()


def test_one_odd_row_does_not_cost_the_other_rows(job, tmp_path):
    """Regression: a published file with an unusable row is scored on every other row; the skipped row is
    listed with its reason in metrics.json and summary.md; benchmark.strict=true refuses it in one line."""
    bench = FIX / "benchmarks" / "published" / "llmbar.json"  # row 3 has label 3; no ids: row numbers
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "1", "winner": "A"}, {"id": "2", "winner": "B"}, {"id": "3", "winner": "A"},
        {"id": "4", "winner": "A"}]))
    proc = job("evaluate.py", f"benchmark.path={bench}", f"judge.predictions={preds}", f"run.root={tmp_path}",
               "run.name=odd")
    assert proc.returncode == 0, proc.stderr
    m = json.loads((tmp_path / "odd" / "metrics.json").read_text())
    assert m["scored"] == 3 and m["agreement"] == 2 / 3 and m["classes"] == ["A", "B"]
    assert m["skipped_rows"] == 1 and m["skipped"][0]["row"] == 3 and "'label' is 3" in m["skipped"][0]["reason"]
    summary = (tmp_path / "odd" / "summary.md").read_text()
    assert "## Skipped rows (1)" in summary and "'label' is 3" in summary and "n=3" in summary
    assert_one_line_error(job("evaluate.py", f"benchmark.path={bench}", f"judge.predictions={preds}",
                               f"run.root={tmp_path}", "run.name=strict", "benchmark.strict=true"),
                           "llmbar.json:3", "'label' is 3")
    unknown = tmp_path / "u.jsonl"
    unknown.write_text(json.dumps({"id": "9", "winner": "A"}) + "\n")
    assert_one_line_error(job("evaluate.py", f"benchmark.path={bench}", f"judge.predictions={unknown}",
                               f"run.root={tmp_path}", "run.name=u"), "'9'", "row numbers counting from 1")
