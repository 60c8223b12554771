import json

import pytest

from judge_ray.errors import InputError, UserError
from judge_ray.instructions import bundled_instructions_path, load_instructions
from judge_ray.labelled import load_labelled_pairs
from judge_ray.models import resolve_model


def test_bundled_seed_set_covers_varied_categories():
    rows = load_instructions()
    cats = {r["category"] for r in rows}
    assert len(rows) >= 60 and len(cats) >= 6
    assert bundled_instructions_path().is_file()


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("\n\n", "empty"),
    ('{"instruction": "ok"}\n{not json\n', ":2: not valid JSON"),
    ('{"prompt": "x"}\n', ":1: field 'instruction'"),
    ('{"instruction": "  "}\n', "missing or empty"),
    ('["a list"]\n', "expected a JSON object"),
    ('{"id": 1, "instruction": "a"}\n{"id": 1, "instruction": "b"}\n', "duplicate id"),
])
def test_bad_instruction_files(tmp_path, content, message):
    path = tmp_path / "ins.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        load_instructions(path)


def test_missing_instruction_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_instructions(tmp_path / "nope.jsonl")


def test_labelled_pairs_map_labels_to_winner_slots_and_count_ties(tmp_path):
    path = tmp_path / "gold.jsonl"
    lines = [{"question": "q1", "answer_a": "good", "answer_b": "bad", "label": "A"},
             {"question": "q2", "answer_a": "bad", "answer_b": "good", "label": "B", "id": "x"},
             {"question": "q3", "answer_a": "same", "answer_b": "same", "label": "tie"}]
    path.write_text("\n".join(json.dumps(l) for l in lines))
    pairs, ties = load_labelled_pairs(path)
    assert ties == 1 and [p["winner"] for p in pairs] == ["A", "B"]
    assert all(p["response_w"] == "good" for p in pairs) and pairs[1]["pair_id"] == "x"


@pytest.mark.parametrize("line, message", [
    ({"question": "q", "answer_a": "a", "answer_b": "b", "label": "C"}, "'label' is 'C'"),
    ({"question": "q", "answer_a": "a", "label": "A"}, "'answer_b'"),
])
def test_bad_labelled_rows_name_row_and_field(tmp_path, line, message):
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(InputError, match=f"gold.jsonl:1: .*{message}"):
        load_labelled_pairs(path)


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
