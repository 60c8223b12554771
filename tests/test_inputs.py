import json

import pytest

from judge_ray.errors import InputError, UserError
from judge_ray.instructions import bundled_instructions_path
from judge_ray.labelled import load_labelled_pairs
from judge_ray.models import resolve_model


def test_bundled_seed_set_covers_varied_categories():
    rows = [json.loads(line) for line in bundled_instructions_path().read_text().splitlines()]
    per_category = {c: sum(r["category"] == c for r in rows) for c in {r["category"] for r in rows}}
    assert len(rows) >= 400 and len(per_category) == 6 and min(per_category.values()) >= 60, per_category
    assert all(r["instruction"].strip() for r in rows)
    assert len({r["id"] for r in rows}) == len({r["instruction"].lower() for r in rows}) == len(rows)  # no repeats


def test_labelled_pairs_map_labels_to_winner_slots_and_count_ties(tmp_path):
    path = tmp_path / "gold.jsonl"
    lines = [{"question": "q1", "answer_a": "good", "answer_b": "bad", "label": "A"},
             {"question": "q2", "answer_a": "bad", "answer_b": "good", "label": "B", "id": "x"},
             {"question": "q3", "answer_a": "same", "answer_b": "same", "label": "tie"}]
    path.write_text("\n".join(json.dumps(row) for row in lines))
    got = load_labelled_pairs(path)
    items = got.bench.items
    assert got.ties == 1 and [p["label"] for p in items] == ["A", "B"]
    assert all(p[f"answer_{p['label'].lower()}"] == "good" for p in items) and items[1]["id"] == "x"


def test_bad_labelled_rows_are_skipped_and_counted(tmp_path):
    path = tmp_path / "gold.jsonl"
    lines = [{"question": "q", "answer_a": "a", "answer_b": "b", "label": "C"},
             {"question": "q", "answer_a": "a", "label": "A"},
             {"question": "q", "answer_a": "", "answer_b": "good", "label": "B"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    got = load_labelled_pairs(path)
    assert [p["answer_b"] for p in got.bench.items] == ["good"] and got.bench.items[0]["answer_a"] == ""
    assert [(s["row"], s["reason"][:18]) for s in got.skipped] == [(1, "field 'label' is '"), (2, "field 'answer_b' i")]
    path.write_text(json.dumps(lines[0]) + "\n")
    with pytest.raises(InputError, match="gold.jsonl.*1 row\\(s\\) skipped.*'label' is 'C'"):
        load_labelled_pairs(path)


def test_the_bundled_labelled_set():
    """At least 60 clear-winner pairs across the seed categories, winners balanced between slots, some ties."""
    from collections import Counter

    from judge_ray.config import SelectionConfig

    got = load_labelled_pairs("bundled")
    items = got.bench.items
    assert len(items) >= 60 and got.ties >= 1 and not got.skipped
    assert set(Counter(p["subset"] for p in items)) == set(SelectionConfig().categories)
    winners = Counter(p["label"] for p in items)
    assert abs(winners["A"] - winners["B"]) <= 2
    assert all(p["answer_a"] != p["answer_b"] for p in items)
    assert len({p["question"] for p in items}) == len(items)


@pytest.mark.parametrize("spec, message", [
    ("/no/such/model", "model path not found"),
    ("./relative/missing", "model path not found"),
    ("not a hub id", "model path not found"),
])
def test_model_resolution_errors(spec, message):
    with pytest.raises(UserError, match=message):
        resolve_model(spec)


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        resolve_model(str(tmp_path))


def test_presets_and_hub_ids_resolve(tiny_model):
    assert resolve_model("tiny") == tiny_model
    assert resolve_model(tiny_model) == tiny_model
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
