import json

import pytest

from judge_ray.errors import InputError
from judge_ray.evaluation.predictions_file import read_predictions

ITEMS = [{"id": "1", "label": "A", "subset": ""}, {"id": "2", "label": "B", "subset": "s"}]


def write(tmp_path, rows):
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_winners_raw_outputs_and_swapped_orders(tmp_path):
    path = write(tmp_path, [{"id": "2", "output": "3 8\nAssistant 2 is better", "output_swapped": "garbage"},
                            {"id": 1, "winner": "A", "winner_swapped": "B"}])
    preds = read_predictions(path, ITEMS, "judgelm")
    assert [p["id"] for p in preds] == ["1", "2"]  # benchmark order
    assert preds[0]["winner"] == "A" and preds[0]["winner_swapped"] == "B" and preds[0]["unparsed_outputs"] == 0
    assert preds[1]["winner"] == "B" and preds[1]["winner_swapped"] is None and preds[1]["unparsed_outputs"] == 1
    assert preds[1]["subset"] == "s" and preds[1]["label"] == "B"


@pytest.mark.parametrize("rows, message", [
    ([{"id": "1", "winner": "A"}, {"id": "9", "winner": "A"}], r"preds.jsonl:2: field 'id' is '9', which is not"),
    ([{"id": "1", "winner": "A"}], r"no prediction for 1 benchmark example\(s\) \(first id '2'\)"),
    ([{"id": "1", "winner": "C"}, {"id": "2", "winner": "A"}], r"preds.jsonl:1: field 'winner' is 'C'"),
    ([{"id": "1"}, {"id": "2", "winner": "A"}], r"preds.jsonl:1: field 'winner' is missing"),
    ([{"winner": "A"}], r"preds.jsonl:1: field 'id' is missing"),
    ([{"id": "1", "winner": "A"}, {"id": "1", "winner": "B"}], r"preds.jsonl:2: field 'id' '1' appears twice"),
])
def test_mismatched_predictions_are_one_line_errors(tmp_path, rows, message):
    with pytest.raises(InputError, match=message):
        read_predictions(write(tmp_path, rows), ITEMS)


def test_unknown_id_says_how_ids_are_formed_and_skipped_rows_are_ignored(tmp_path):
    with pytest.raises(InputError, match=r"'7', which is not an example of the benchmark \(ids are rows\)"):
        read_predictions(write(tmp_path, [{"id": "7", "winner": "A"}]), ITEMS, id_note="ids are rows")
    preds = read_predictions(write(tmp_path, [{"id": "1", "winner": "A"}, {"id": "3", "winner": "B"},
                                              {"id": "2", "winner": "B"}]), ITEMS, skipped_ids=["3"])
    assert [p["id"] for p in preds] == ["1", "2"]
