import json

import pytest

from judge_ray.errors import InputError
from judge_ray.evaluation.benchmarks import read_benchmark

FIX = "tests/fixtures/benchmarks"


def _read(path, **kwargs):
    b = read_benchmark(path, **kwargs)
    return b.layout, b.items


def test_pandalm_label_is_the_annotators_majority():
    layout, items = _read(f"{FIX}/pandalm_test.json")
    assert layout == "pandalm"
    assert [i["label"] for i in items] == ["A", "B", "tie", "tie"]  # 1,1,2 / 2,2,2 / 0,0,1 / 0,1,2 (no majority)
    assert items[0]["question"] == "Fix the grammar.\n\nHe go to school." and items[1]["question"] == "What is 3 + 4?"


def test_judgelm_label_compares_scores_and_keeps_reference():
    layout, items = _read(f"{FIX}/judgelm_val.jsonl")
    assert layout == "judgelm" and [i["label"] for i in items] == ["A", "B", "tie", "A"]
    assert items[0]["reference"] == "Paris" and items[1]["reference"] is None and items[0]["id"] == "101"


def test_mtbench_human_judgments_on_a_chosen_turn():
    _, t1 = _read(f"{FIX}/mtbench_human.jsonl", turn=1)
    _, t2 = _read(f"{FIX}/mtbench_human.jsonl", turn=2)
    assert [i["label"] for i in t1] == ["A", "tie"] and [i["label"] for i in t2] == ["A", "B"]
    assert t1[0]["answer_a"] == "Soft rain on the roof..." and t1[0]["question"] == "Write a haiku about rain."
    assert t2[0]["question"] == "Now make it sad." and "Soft rain on the roof" in t2[0]["answer_a"]
    assert t2[0]["answer_b"].endswith("Rain sad.") and t2[0]["subset"] == "turn2"


def test_rewardbench_places_chosen_in_a_seeded_slot():
    layout, items = _read(f"{FIX}/rewardbench.jsonl", seed=0)
    assert layout == "rewardbench" and len(items) == 6
    for item in items:
        chosen = item["answer_a"] if item["label"] == "A" else item["answer_b"]
        assert chosen in {"Hi there!", "Masses attract each other.", "I can't help with breaking in.", "6", "xs[::-1]",
                          "Tokyo"}
    assert {i["label"] for i in items} == {"A", "B"}
    assert [i["label"] for i in _read(f"{FIX}/rewardbench.jsonl", seed=0)[1]] == [i["label"] for i in items]
    assert items[3]["subset"] == "math-prm"


def test_llmbar_and_pairs():
    layout, items = _read(f"{FIX}/llmbar.json")
    assert layout == "llmbar" and [i["label"] for i in items] == ["A", "B", "A"]
    layout, items = _read(f"{FIX}/pairs.jsonl", limit=2)
    assert layout == "pairs" and [i["id"] for i in items] == ["p1", "p2"]


@pytest.mark.parametrize("layout, row, message", [
    ("auto", {"foo": "bar"}, r"b.jsonl:1: in none of the known benchmark layouts"),
    ("llmbar", {"input": "q", "output_1": "a", "output_2": "b", "label": 3}, r"b.jsonl:1: field 'label' is 3"),
    ("auto", {"instruction": "q", "input": "", "response1": "a", "response2": "b", "annotator1": 1,
              "annotator2": 5, "annotator3": 1}, r"field 'annotator2' is 5"),
    ("pandalm", {"instruction": "q", "response1": "a", "annotator1": 1, "annotator2": 1,
              "annotator3": 1}, r"field 'response2' is missing"),
    ("auto", {"instruction": "", "input": " ", "response1": "a", "response2": "b", "annotator1": 1, "annotator2": 1,
              "annotator3": 1}, r"field 'instruction' is empty and so is 'input'"),
    ("auto", {"model_a": "x", "model_b": "y", "winner": "model_c", "conversation_a": [], "conversation_b": []},
     r"field 'winner' is 'model_c'"),
    ("auto", {"prompt": "p", "chosen": ["c"], "rejected": "r"}, r"field 'chosen' is list, not text"),
    ("auto", {"prompt": "p", "response 1": "a", "response 2": "b", "label": 5}, r"field 'label' is 5"),
    ("auto", {"prompt": "[\"p\"]", "response_a": "[\"a\"]", "response_b": "[\"b\"]", "winner_model_a": 1,
              "winner_model_b": 1, "winner_tie": 0}, r"exactly one must be 1"),
    ("pairs", {"question": "q", "answer_a": "a", "answer_b": "b", "label": "C"}, r"field 'label' is 'C'"),
    ("judgelm", {"question_body": "q", "answer1_body": "a", "answer2_body": "b"}, r"field 'score' is missing"),
])
def test_bad_benchmark_rows(tmp_path, layout, row, message):
    """strict: the first unusable row is a one-line error naming file, row and field; by default the row is
    skipped with that reason (and a file of nothing else has no usable example)."""
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=message) as err:
        read_benchmark(str(path), layout, strict=True)
    assert "\n" not in str(err.value)
    if "none of the known" not in message:
        with pytest.raises(InputError, match="no usable example.*1 row\\(s\\) skipped"):
            read_benchmark(str(path), layout)


def test_mtbench_turn_beyond_the_conversation(tmp_path):
    row = {"model_a": "x", "model_b": "y", "winner": "tie",
           "conversation_a": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "conversation_b": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}
    (tmp_path / "m.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(InputError, match=r"m.jsonl:1: field 'conversation_a' has 1 turn\(s\); turn 2 asked"):
        read_benchmark(str(tmp_path / "m.jsonl"), turn=2, strict=True)


PUB = f"{FIX}/published"


@pytest.mark.parametrize("name, layout, labels, skipped", [
    ("pandalm_test.json", "pandalm", ["A", "B", "A", "tie", "A"], [(5, "field 'annotator3' is 7")]),
    ("judgelm_val.jsonl", "judgelm", ["A", "B", "B", "tie"], [(5, "field 'score' is missing"), (6, "not valid JSON")]),
    ("mtbench_human.jsonl", "mtbench", ["A", "B", "tie"], [(3, "field 'winner' is 'model_c'")]),
    ("arena_kaggle.jsonl", "arena", ["A", "B", "tie"], [(4, "exactly one must be 1")]),
    ("arena_conversations.jsonl", "arena", ["B", "tie", "A"], []),
    ("rewardbench.jsonl", "rewardbench", None, [(5, "field 'chosen' is missing")]),
    ("llmbar.json", "llmbar", ["A", "B", "B"], [(3, "field 'label' is 3")]),
    ("autoj_pairwise.jsonl", "autoj", ["A", "B", "tie", "A"], [(4, "field 'label' is 'best'")]),
    ("pairs.jsonl", "pairs", ["A", "B", "tie"], [(4, "field 'label' is 'C'")]),
])
def test_published_files_are_read_as_published(name, layout, labels, skipped):
    """Every usable row is kept; every unusable one is skipped with its row and reason."""
    bench = read_benchmark(f"{PUB}/{name}")
    assert bench.layout == layout
    if labels is not None:
        assert [i["label"] for i in bench.items] == labels
    assert [s["row"] for s in bench.skipped] == [row for row, _ in skipped]
    assert all(why in s["reason"] for s, (_, why) in zip(bench.skipped, skipped)), bench.skipped
    assert len({i["id"] for i in bench.items}) == len(bench.items)  # repeated ids kept apart
    with pytest.raises(InputError) if skipped else _no_error():
        read_benchmark(f"{PUB}/{name}", strict=True)


class _no_error:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_published_quirks_become_text():
    pandalm = read_benchmark(f"{PUB}/pandalm_test.json").items
    assert pandalm[1]["question"] == "What is 12 times 3?" and pandalm[1]["answer_a"] == ""  # empty instruction
    assert pandalm[2]["answer_a"] == "true"  # a boolean response is its JSON text
    assert [i["id"] for i in pandalm[:4]] == ["0", "1", "2", "2#r4"]  # repeated idx kept apart
    judgelm = read_benchmark(f"{PUB}/judgelm_val.jsonl").items
    assert judgelm[1]["answer_a"] == "6" and judgelm[2]["answer_a"] == ""
    mt = read_benchmark(f"{PUB}/mtbench_human.jsonl").items
    assert mt[1]["answer_a"] == "" and mt[1]["label"] == "B"  # null reply = said nothing; winner named a model
    kaggle = read_benchmark(f"{PUB}/arena_kaggle.jsonl").items
    assert kaggle[0]["question"].startswith("What is the boiling point")
    assert kaggle[0]["answer_a"] == "100 degrees Celsius."
    assert kaggle[1]["question"] == "Another one please." and "Octopuses" in kaggle[1]["answer_a"]  # last turn judged
    assert kaggle[1]["answer_a"].endswith("### Assistant:\n")  # its null reply is an empty answer
    conversations = read_benchmark(f"{PUB}/arena_conversations.jsonl").items
    assert conversations[1]["answer_a"] == "42"
    rb = read_benchmark(f"{PUB}/rewardbench.jsonl")
    chosen = [i["answer_a"] if i["label"] == "A" else i["answer_b"] for i in rb.items]
    assert chosen[:2] == ["true", "xs[::-1]"] and "" in (rb.items[1]["answer_a"], rb.items[1]["answer_b"])
    assert [i["subset"] for i in rb.items][3] == ""  # no subset: still scored, outside the sections
    llmbar = read_benchmark(f"{PUB}/llmbar.json")
    assert llmbar.id_field is None and [i["id"] for i in llmbar.items] == ["1", "2", "4"]  # row numbers
    assert "row numbers counting from 1" in llmbar.id_note()
    autoj = read_benchmark(f"{PUB}/autoj_pairwise.jsonl").items
    assert autoj[0]["subset"] == "math_reasoning" and autoj[1]["answer_a"] == ""


def test_limit_counts_usable_examples(tmp_path):
    bench = read_benchmark(f"{PUB}/llmbar.json", limit=3)
    assert len(bench.items) == 3 and len(bench.skipped) == 1


def test_mtbench_turn_may_be_published_as_text_or_float(tmp_path):
    conv = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    rows = [{"model_a": "x", "model_b": "y", "winner": "model_a", "turn": t, "conversation_a": conv,
             "conversation_b": conv} for t in (1, "1", 1.0, 2, "two")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    bench = read_benchmark(str(tmp_path / "m.jsonl"), turn=1)
    assert len(bench.items) == 3 and [s["row"] for s in bench.skipped] == [5]


def test_the_config_offers_exactly_the_layouts_there_are_readers_for():
    """benchmark.layout's choices (config) and the layout registry (benchmarks) are two lists: a layout added to
    one only would be refused on load or offered and then fail."""
    from judge_ray.config import LAYOUTS as CHOICES
    from judge_ray.evaluation.benchmarks import LAYOUTS, is_two_class

    assert set(CHOICES) == {"auto", *LAYOUTS}
    assert all(name == layout.name for name, layout in LAYOUTS.items())
    assert [n for n in LAYOUTS if is_two_class(n)] == ["rewardbench", "llmbar", "judgebench", "helpsteer2"]
    assert not is_two_class("auto")
