"""Turn (prompt, response) examples into token ids whose loss covers the judgment tokens only."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from judge_ray.formats.chat import render_chat

IGNORE = -100


def tokenize_example(tokenizer: Any, prompt: str, response: str, max_length: int) -> tuple[list[int], list[int]]:
    """input ids = chat-rendered prompt + response + EOS; labels mask the prompt with -100.

    The prompt and the response are encoded as one string, as the engines encode a rendered chat with the
    forced verdict prefix when they read a verdict: BPE merges across the boundary (SmolLM2 writes the chat's
    closing newline and the verdict's leading blank line as one token), and a judge trained on the split
    encoding would be read in a context it never saw. The loss starts at the first token that differs from
    the prompt's own encoding.

    Too long: the response keeps at most half the budget, the prompt loses its *start* (its end holds the
    answers being judged).
    """
    chat = render_chat(tokenizer, prompt)
    alone = tokenizer.encode(chat, add_special_tokens=False)
    full = tokenizer.encode(chat + response, add_special_tokens=False)
    start = next((k for k, (a, b) in enumerate(zip(alone, full)) if a != b), min(len(alone), len(full)))
    prefix, target = full[:start], full[start:] + [tokenizer.eos_token_id]
    target = target[: max(1, max_length // 2)] if len(prefix) + len(target) > max_length else target
    prefix = prefix[-(max_length - len(target)):] if len(prefix) + len(target) > max_length else prefix
    return prefix + target, [IGNORE] * len(prefix) + target


def collate(examples: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked out of attention and loss."""
    width = max(len(ids) for ids, _ in examples)
    ids = [i + [pad_id] * (width - len(i)) for i, _ in examples]
    labels = [lab + [IGNORE] * (width - len(lab)) for _, lab in examples]
    mask = [[1] * len(i) + [0] * (width - len(i)) for i, _ in examples]
    return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}


def pad_to_workers(rows: Sequence[dict], workers: int) -> list[dict]:
    """Repeat the first rows until every worker gets the same count.

    Ray Train splits the dataset with equal=True (ZeRO-3 ranks must step in lockstep), which *drops* the
    remainder; a set smaller than the worker count would train nothing. Repeating a few examples instead
    keeps every example in training.
    """
    rows = list(rows)
    if not rows:
        return rows
    short = (-len(rows)) % workers
    return rows + [rows[i % len(rows)] for i in range(short)]


def pair_key(columns: Sequence[str]) -> str:
    """The column naming a pair: a self-taught SFT set's `pair_id`, a JudgeLM file's `id` (its swapped copy of
    an example keeps the id)."""
    for key in ("pair_id", "id"):
        if key in columns:
            return key
    raise ValueError("train.pair_orders=true needs a pair_id (or id) on every training row")


def group_by_pair(rows: Sequence[dict], key: str) -> list[dict]:
    """One row per pair, its examples' prompts and responses as lists, pairs in first-seen order.

    Why: with both orders of a pair in one micro-batch, the step's gradient on the position prior is the pair's
    own inconsistency (the two orders pull the slot prior in opposite directions and cancel when the judge
    reads them alike), not whichever order the last batches happened to hold.
    """
    groups: dict[str, dict] = {}
    for row in rows:
        group = groups.setdefault(str(row[key]), {key: str(row[key]), "prompt": [], "response": []})
        group["prompt"].append(row["prompt"])
        group["response"].append(row["response"])
    return list(groups.values())


def batch_sequences(prompts: Sequence[Any], responses: Sequence[Any]) -> list[tuple[str, str]]:
    """The (prompt, response) sequences of a worker's batch: plain rows, or pairs packed by `group_by_pair`
    (a cell holding a list or, read back from Arrow, an array)."""
    out: list[tuple[str, str]] = []
    for prompt, response in zip(prompts, responses):
        if isinstance(prompt, str):
            out.append((prompt, response))
        else:
            out.extend(zip(list(prompt), list(response)))
    return out
