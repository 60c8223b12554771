import json

import pytest

from judge_ray.errors import InputError
from judge_ray.formats.judgelm import parse_scores
from judge_ray.training.judgelm_data import Recipe, apply_recipes, judgelm_example, read_judgelm_records, recipe_stats

FIXTURE = "tests/fixtures/judgelm_train.jsonl"
RECORD = {"id": "r1", "question": "Q?", "answer_1": "first", "answer_2": "second", "reference": "ref",
          "score_1": 8.0, "score_2": 3.0,
          "explanation": "Assistant 1's answer beats Assistant 2. Assistant 10 is no one."}


def test_reads_judgelm_layout_and_drops_the_leading_score_line():
    layout, records = read_judgelm_records(FIXTURE)
    assert layout == "judgelm" and len(records) == 8
    r = records[0]
    assert (r["score_1"], r["score_2"], r["reference"], r["id"]) == (9.0, 3.0, "4", "200")
    assert r["explanation"].startswith("Assistant 1 answers")
    assert records[3]["reference"] is None


def test_swapped_example_swaps_answers_scores_and_names():
    plain, swapped = judgelm_example(RECORD, False, True), judgelm_example(RECORD, True, True)
    assert plain["prompt"].index("first") < plain["prompt"].index("second")
    assert swapped["prompt"].index("second") < swapped["prompt"].index("first")
    s = parse_scores(swapped["response"])
    assert (s.score_1, s.score_2) == (3.0, 8.0)
    assert s.explanation == "Assistant 2's answer beats Assistant 1. Assistant 10 is no one."
    assert "Reference Answer]\nref" in swapped["prompt"]
    assert "Reference" not in judgelm_example(RECORD, False, False)["prompt"]


def test_recipes_follow_their_ratios_and_seed():
    records = [{**RECORD, "id": str(i)} for i in range(400)]
    add = apply_recipes(records, Recipe(swap_ratio=0.25, swap_mode="add", reference=True, reference_drop=0.5))
    stats = recipe_stats(add)
    assert 400 + 70 <= stats["examples"] <= 400 + 130 and stats["swapped"] == stats["examples"] - 400
    originals = [e for e in add if not e["swapped"]]
    assert 0.4 < sum(e["reference_shown"] for e in originals) / 400 < 0.6
    # the swapped copy keeps its original's reference decision
    by_id = {e["id"]: e for e in originals}
    assert all(by_id[e["id"]]["reference_shown"] == e["reference_shown"] for e in add if e["swapped"])
    replace = apply_recipes(records, Recipe(swap_ratio=0.25, swap_mode="replace", reference_drop=0.5))
    assert len(replace) == 400 and recipe_stats(replace)["swapped"] == stats["swapped"]
    assert apply_recipes(records, Recipe(seed=1)) != apply_recipes(records, Recipe(seed=2))
    none = apply_recipes(records, Recipe(swap_ratio=0.0, reference=False))
    assert recipe_stats(none) == {"examples": 400, "swapped": 0, "reference_shown": 0, "context_shown": 0}
    full = apply_recipes(records, Recipe(swap_ratio=1.0, reference_drop=0.0))
    assert recipe_stats(full) == {"examples": 800, "swapped": 400, "reference_shown": 800, "context_shown": 0}


def test_decisions_do_not_depend_on_record_order():
    records = [{**RECORD, "id": str(i)} for i in range(50)]
    fwd = {(e["id"], e["swapped"]): e for e in apply_recipes(records, Recipe(seed=3))}
    rev = {(e["id"], e["swapped"]): e for e in apply_recipes(records[::-1], Recipe(seed=3))}
    assert fwd == rev


def test_sft_layout_is_taken_as_is(tmp_path):
    import pandas as pd

    pd.DataFrame([{"prompt": "p", "response": "r", "other": 1}]).to_parquet(tmp_path / "sft.parquet")
    layout, records = read_judgelm_records(str(tmp_path / "sft.parquet"))
    assert layout == "sft" and records == [{"id": "1", "prompt": "p", "response": "r"}]
    # A loop's SFT rows name their pair; both orders of a swap-augmented pair share it (train.pair_orders).
    pd.DataFrame([{"pair_id": "x7", "prompt": p, "response": "r"} for p in ("AB", "BA")]).to_parquet(
        tmp_path / "loop.parquet")
    assert [r["id"] for r in read_judgelm_records(str(tmp_path / "loop.parquet"))[1]] == ["x7", "x7"]


@pytest.mark.parametrize("row, message", [
    ({"foo": 1}, r"t.jsonl:1: in none of the known layouts"),
    ({"question_body": "q", "answer1_body": "a", "answer2_body": "b", "text": "x"},
     r"t.jsonl:1: field 'score' is missing"),
    ({"question_body": "q", "answer1_body": "a", "answer2_body": "b", "text": "x", "score": [11, 2]}, r"1-10"),
    ({"question_body": "q", "answer1_body": "a", "answer2_body": "b", "text": "x", "score": ["a", 2]}, r"numbers"),
    ({"question_body": "q", "answer1_body": "a", "answer2_body": "b", "score": [1, 2]}, r"field 'text' is missing"),
    ({"question_body": "", "answer1_body": "a", "answer2_body": "b", "text": "x", "score": [1, 2]},
     r"'question_body' is missing or empty"),
])
def test_bad_rows_name_file_row_and_field(tmp_path, row, message):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=message):
        read_judgelm_records(str(path))


def test_context_support_and_drop_like_the_reference(tmp_path):
    records = [{**RECORD, "id": str(i), "context": "Caption: a red bus"} for i in range(400)]
    examples = apply_recipes(records, Recipe(swap_ratio=0.0, reference_drop=0.5, context_drop=0.25))
    shown = [e for e in examples if e["context_shown"]]
    assert 0.65 < len(shown) / 400 < 0.85  # decided apart from the reference (drop 0.5)
    assert all("[The Start of Context]\nCaption: a red bus" in e["prompt"] for e in shown)
    assert not any("[The Start of Context]" in e["prompt"] for e in examples if not e["context_shown"])
    both = sum(e["context_shown"] and e["reference_shown"] for e in examples) / 400
    assert 0.28 < both < 0.47  # independent decisions: about 0.75 * 0.5
    assert recipe_stats(apply_recipes(records, Recipe(context=False)))["context_shown"] == 0
    row = {"question_body": "q", "answer1_body": "a", "answer2_body": "b", "score": [7, 2], "text": "7 2\nok",
           "context": {"caption": "a bus", "ocr": "No. 7"}}
    (tmp_path / "t.jsonl").write_text(json.dumps(row) + "\n" + json.dumps({**row, "context": ["x"]}) + "\n")
    with pytest.raises(InputError, match=r"t.jsonl:2: field 'context' is list, not text"):
        read_judgelm_records(str(tmp_path / "t.jsonl"))
    (tmp_path / "t.jsonl").write_text(json.dumps(row) + "\n")
    context = read_judgelm_records(str(tmp_path / "t.jsonl"))[1][0]["context"]
    assert context == "Caption: a bus\nText in the image (OCR): No. 7"
