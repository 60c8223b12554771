import pytest
from transformers import AutoTokenizer

from judge_ray.formats.chat import render_chat
from judge_ray.training.sft_data import IGNORE, collate, pad_to_workers, tokenize_example


@pytest.fixture(scope="module")
def tok(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def test_loss_covers_only_the_judgment_tokens(tok):
    ids, labels = tokenize_example(tok, "Which answer is better?", "A is right.\n\nFinal verdict: [[A]]", 512)
    prefix = tok.encode(render_chat(tok, "Which answer is better?"), add_special_tokens=False)
    assert ids[: len(prefix)] == prefix
    assert labels[: len(prefix)] == [IGNORE] * len(prefix)
    target = [t for t in labels if t != IGNORE]
    assert tok.decode(target[:-1]) == "A is right.\n\nFinal verdict: [[A]]"
    assert target[-1] == tok.eos_token_id and len(ids) == len(labels)


def test_truncation_keeps_the_end_of_the_prompt_and_the_response(tok):
    long_prompt = "Preamble " + "filler " * 400 + "the question"
    ids, labels = tokenize_example(tok, long_prompt, "short verdict", 64)
    assert len(ids) == 64
    assert tok.decode([t for t in labels if t != IGNORE][:-1]) == "short verdict"
    assert "Preamble" not in tok.decode(ids)


def test_collate_pads_right_and_masks(tok):
    batch = collate([([5, 6, 7], [IGNORE, 6, 7]), ([8], [8])], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_pad_to_workers_repeats_instead_of_dropping():
    rows = [{"i": i} for i in range(3)]
    assert pad_to_workers(rows, 2) == rows + [{"i": 0}]
    assert pad_to_workers(rows[:1], 4) == [{"i": 0}] * 4
    assert pad_to_workers(rows, 3) == rows and pad_to_workers([], 2) == []
