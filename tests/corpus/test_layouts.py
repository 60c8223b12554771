"""Where each published corpus layout keeps its instruction, and which rows are dropped and why (no Ray)."""
import numpy as np
import pytest

from judge_ray.corpus import layouts as L


@pytest.mark.parametrize("fields, field, layout", [
    (["instruction", "input", "output"], None, "instruction"),
    (["id", "name", "instruction", "instances"], None, "instruction"),
    (["conversation_hash", "conversation", "language"], None, "chat"),
    (["messages"], None, "chat"),
    (["id", "conversations"], None, "sharegpt"),
    (["prompt", "chosen"], None, "prompt"),
    (["question", "answer"], "question", "field:question"),
    (["question", "answer"], None, None),
    (["instruction"], "missing", None),
])
def test_layout_detection(fields, field, layout):
    assert L.detect_layout(fields, field) == layout


def test_instruction_with_input_and_self_instruct_instances():
    assert L.extract({"instruction": "Sum these.", "input": " 1 2 "}, "instruction") == ("Sum these.\n\n1 2", "")
    assert L.extract({"instruction": "Sum.", "input": ""}, "instruction") == ("Sum.", "")
    row = {"instruction": "Classify.", "instances": [{"input": "a cat", "output": "animal"}]}
    assert L.extract(row, "instruction") == ("Classify.\n\na cat", "")
    assert L.extract({"instruction": "  "}, "instruction") == (None, L.NO_TEXT)
    assert L.extract({"instruction": 42}, "instruction") == (None, L.NOT_TEXT)


def test_the_first_user_turn_of_a_conversation():
    chat = {"conversation": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "Hi there"},
                             {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "later"}]}
    assert L.extract(chat, "chat") == ("Hi there", "")
    assert L.extract({"messages": [{"role": "assistant", "content": "x"}]}, "chat") == (None, L.NO_USER_TURN)
    assert L.extract({"messages": None}, "chat") == (None, L.NO_USER_TURN)
    assert L.extract({"messages": [{"role": "user", "content": None}]}, "chat") == (None, L.NO_TEXT)
    parquet_like = {"conversation": np.array([{"role": "user", "content": "from parquet"}], dtype=object)}
    assert L.extract(parquet_like, "chat") == ("from parquet", "")
    share = {"conversations": [{"from": "system", "value": "s"}, {"from": "human", "value": "Q?"},
                               {"from": "gpt", "value": "A."}]}
    assert L.extract(share, "sharegpt") == ("Q?", "")
    assert L.extract({"prompt": "Write."}, "prompt") == ("Write.", "")
    assert L.extract({"q": ["not", "text"]}, "field:q") == (None, L.NOT_TEXT)


def test_filters_and_languages():
    kw = dict(min_chars=5, max_chars=20, language=None)
    assert L.row_problem("abc", {}, **kw) == L.TOO_SHORT
    assert L.row_problem("x" * 21, {}, **kw) == L.TOO_LONG
    assert L.row_problem("x" * 10, {}, **kw) == ""
    en = dict(min_chars=1, max_chars=0, language="en")
    assert L.row_problem("hello", {"language": "English"}, **en) == ""
    assert L.row_problem("hola", {"language": "Spanish"}, **en) == L.OTHER_LANGUAGE
    assert L.row_problem("hello", {"lang": "en"}, **{**en, "language": "English"}) == ""
    assert L.row_problem("hello", {}, **en) == L.OTHER_LANGUAGE  # the corpus has the field, this row not


def test_ids_are_the_normalised_text_so_duplicates_share_one_and_ranks_are_seeded():
    a = L.corpus_row({"id": 7, "instruction": "Say  HI"}, "instruction", min_chars=1, max_chars=0, language=None,
                     seed=0)
    b = L.corpus_row({"id": 7, "instruction": "say hi "}, "instruction", min_chars=1, max_chars=0, language=None,
                     seed=0)
    c = L.corpus_row({"id": 8, "instruction": "say bye"}, "instruction", min_chars=1, max_chars=0, language=None,
                     seed=0)
    assert a["id"] == b["id"] != c["id"] and a["source_id"] == "7" and a["drop"] == ""
    assert a["rank"] == L.rank(0, a["id"]) != L.rank(1, a["id"])
    bad = L.corpus_row({"instruction": ""}, "instruction", min_chars=1, max_chars=0, language=None, seed=0)
    assert bad["drop"] == L.NO_TEXT and bad["id"] == ""
