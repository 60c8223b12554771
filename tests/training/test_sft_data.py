import re

import pytest
from transformers import AutoTokenizer

from judge_ray.formats.chat import render_chat
from judge_ray.formats.self_taught import VERDICT_PREFIX, judgment_text, pairwise_prompt
from judge_ray.training.sft_data import (IGNORE, batch_sequences, collate, group_by_pair, pad_to_workers, pair_key,
                                        tokenize_example)


@pytest.fixture(scope="module")
def tok(tiny_model):
    return AutoTokenizer.from_pretrained(tiny_model)


def test_loss_covers_only_the_judgment_tokens(tok):
    response = "A is right.\n\nFinal verdict: [[A]]"
    ids, labels = tokenize_example(tok, "Which answer is better?", response, 512)
    chat = render_chat(tok, "Which answer is better?")
    masked = labels.index(next(t for t in labels if t != IGNORE))
    assert labels[:masked] == [IGNORE] * masked and IGNORE not in labels[masked:]
    assert ids[:masked] == tok.encode(chat, add_special_tokens=False)[:masked]
    assert tok.decode(ids[:-1]) == chat + response  # one string: what an engine encodes
    assert tok.decode(labels[masked:-1]).endswith(response)
    assert labels[-1] == tok.eos_token_id and len(ids) == len(labels)


class WhitespaceRunTokenizer:
    """A tokenizer that, like SmolLM2's BPE, writes a run of whitespace as one token: the chat's closing
    whitespace and the verdict prefix's blank line merge when encoded as one string."""

    chat_template = None
    eos_token_id = 0

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [self.vocab.setdefault(piece, len(self.vocab) + 1) for piece in re.findall(r"\s+|\S", text)]


def test_verdict_alone_is_trained_in_the_context_the_judge_is_read_in():
    """A verdict-only judgment (judge.max_tokens=0) trains the verdict letter right after the tokens an engine
    feeds when it reads the verdict alone: the chat and the verdict prefix encoded as one string."""
    tok = WhitespaceRunTokenizer()
    question = pairwise_prompt("Q?", "one", "two")
    ids, labels = tokenize_example(tok, question, judgment_text("", "B"), 4096)
    read = tok.encode(render_chat(tok, question) + VERDICT_PREFIX)
    assert ids[: len(read)] == read
    assert labels[len(read)] == tok.encode("B")[0]
    assert IGNORE not in labels[len(read):] and labels[0] == IGNORE


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


def test_group_by_pair_packs_both_orders_of_a_pair_into_one_row():
    rows = [{"pair_id": "p1", "prompt": "AB", "response": "[[A]]"},
            {"pair_id": "p2", "prompt": "CD", "response": "[[B]]"},
            {"pair_id": "p1", "prompt": "BA", "response": "[[B]]"}]
    packed = group_by_pair(rows, "pair_id")
    assert packed == [{"pair_id": "p1", "prompt": ["AB", "BA"], "response": ["[[A]]", "[[B]]"]},
                      {"pair_id": "p2", "prompt": ["CD"], "response": ["[[B]]"]}]
    # A worker's batch: packed cells (lists, or arrays as Arrow hands them back) and plain rows alike.
    import numpy as np

    prompts = [np.array(packed[0]["prompt"]), "EF"]
    assert batch_sequences(prompts, [np.array(packed[0]["response"]), "[[A]]"]) == [
        ("AB", "[[A]]"), ("BA", "[[B]]"), ("EF", "[[A]]")]


def test_pair_key_is_the_sft_sets_pair_id_or_a_judgelm_files_id():
    assert pair_key(["pair_id", "id", "prompt"]) == "pair_id"
    assert pair_key(["id", "prompt"]) == "id"
    with pytest.raises(ValueError, match="pair_orders"):
        pair_key(["prompt", "response"])
