"""Labelled pairs for evaluation (JSONL): question, answer_a, answer_b, label A|B|tie, optional id."""
from __future__ import annotations

import json
from pathlib import Path

from judge_ray.errors import InputError

LABELS = ("A", "B", "tie")


def load_labelled_pairs(path: str | Path) -> tuple[list[dict], int]:
    """Pairs in the loop's own layout (winner slot = label) and the count of ties set aside: a pairwise
    A/B judge can't express a tie, so tied items are reported, not scored."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"labelled eval file not found: {path}")
    pairs, ties = [], 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object")
        for field in ("question", "answer_a", "answer_b", "label"):
            if not isinstance(obj.get(field), str) or not obj[field].strip():
                raise InputError(f"{path}:{lineno}: field {field!r} is missing or empty")
        label = obj["label"].strip()
        if label not in LABELS:
            raise InputError(f"{path}:{lineno}: field 'label' is {label!r}; expected one of {', '.join(LABELS)}")
        if label == "tie":
            ties += 1
            continue
        better, worse = (obj["answer_a"], obj["answer_b"]) if label == "A" else (obj["answer_b"], obj["answer_a"])
        pairs.append({"pair_id": str(obj.get("id", f"{path.stem}-{lineno}")), "instruction": obj["question"],
                      "response_w": better, "response_l": worse, "winner": label})
    if not pairs:
        raise InputError(f"labelled eval file has no A/B-labelled pairs: {path}")
    return pairs, ties
