"""JudgeLM training data: read labelled judgments, apply the data recipes, emit (prompt, response) examples.

Accepted layouts (detected from the first row):

- **judgelm** — JudgeLM's train/val files, or any file with these fields (aliases in brackets):
  `question_body` [question], `answer1_body` [answer1, answer_1], `answer2_body` [answer2, answer_2],
  `score` = [s1, s2] [scores; or score_1 + score_2], `text` [explanation] (a leading `s1 s2` line is
  dropped: the score line is rewritten from `score`), optional `reference` (text or {"text": ...})
  [reference_answer], optional `context` (text, or {caption, ocr, objects}: an image described as text),
  optional `question_id`/`id`.
- **sft** — the self-taught loop's `sft.parquet` (or any file with `prompt` and `response`): used as is.

Recipes (JudgeLM section 4), each a config switch with a ratio, decided per record from a derived seed so
the same config gives the same examples in any order or worker count:

- swap augmentation: answers, scores and every "Assistant 1"/"Assistant 2" mention in the explanation
  exchanged; `add` keeps the original and adds the swap, `replace` swaps in place (JudgeLM's own code).
- reference support: the reference answer shown in the prompt; reference drop: removed from a share of them.
- context support and context drop: the same for the context block (JudgeLM's multimodal judging, the image
  given as text), decided apart from the reference.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from judge_ray.errors import InputError
from judge_ray.formats.context import context_text
from judge_ray.formats.judgelm import judgelm_prompt, parse_scores, score_line
from judge_ray.formats.swap import swap_labels
from judge_ray.formats.verdicts import Scores
from judge_ray.records import read_records, require_text
from judge_ray.stages.seeds import derive_seed

ALIASES = {
    "question": ("question_body", "question"),
    "answer_1": ("answer1_body", "answer1", "answer_1"),
    "answer_2": ("answer2_body", "answer2", "answer_2"),
    "explanation": ("text", "explanation"),
    "reference": ("reference", "reference_answer"),
}
NAMES = ("Assistant 1", "Assistant 2")


@dataclass(frozen=True)
class Recipe:
    swap_ratio: float = 0.5
    swap_mode: str = "add"  # add | replace
    reference: bool = True  # reference support
    reference_drop: float = 0.5
    seed: int = 0
    context: bool = True  # context support
    context_drop: float = 0.5


def field_for(obj: dict, name: str) -> Optional[str]:
    for alias in ALIASES[name]:
        if alias in obj:
            return alias
    return None


def required_keys(path: Any, row: int, obj: dict, names: Sequence[str]) -> dict[str, str]:
    """The key each named field goes by in this row (any alias), or a one-line error naming the field."""
    keys = {name: field_for(obj, name) for name in names}
    for name, key in keys.items():
        if key is None:
            raise InputError(f"{path}:{row}: field {ALIASES[name][0]!r} is missing")
    return keys  # type: ignore[return-value]


def detect_layout(obj: dict) -> Optional[str]:
    if "prompt" in obj and "response" in obj:
        return "sft"
    if field_for(obj, "question") and field_for(obj, "answer_1") and field_for(obj, "answer_2"):
        return "judgelm"
    return None


def read_scores(path: Any, row: int, obj: dict) -> tuple[float, float]:
    if "score" in obj or "scores" in obj:
        key = "score" if "score" in obj else "scores"
        value = obj[key]
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
            value = value[0]
        if not (isinstance(value, list) and len(value) == 2):
            raise InputError(f"{path}:{row}: field {key!r} must be two scores [s1, s2], got {value!r}")
    elif "score_1" in obj and "score_2" in obj:
        key, value = "score_1", [obj["score_1"], obj["score_2"]]
    else:
        raise InputError(f"{path}:{row}: field 'score' is missing (two scores [s1, s2], or score_1 and score_2)")
    try:
        s1, s2 = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        raise InputError(f"{path}:{row}: field {key!r} must hold numbers, got {value!r}") from None
    if not (1 <= s1 <= 10 and 1 <= s2 <= 10):
        raise InputError(f"{path}:{row}: field {key!r} has {s1:g} {s2:g}; JudgeLM scores are 1-10")
    return s1, s2


def read_reference(path: Any, row: int, obj: dict) -> Optional[str]:
    key = field_for(obj, "reference")
    if key is None or obj[key] is None:
        return None
    value = obj[key]
    if isinstance(value, dict):
        value = value.get("text")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InputError(f"{path}:{row}: field {key!r} must be text or {{\"text\": ...}}")
    return value


def read_context(path: Any, row: int, obj: dict) -> Optional[str]:
    """The row's optional `context` as one text (`formats.context.context_text`), or a one-line error."""
    try:
        return context_text(obj.get("context"))
    except ValueError as exc:
        raise InputError(f"{path}:{row}: field 'context' {exc}") from None


def read_judgelm_records(source: str, split: Optional[str] = None,
                         limit: Optional[int] = None) -> tuple[str, list[dict]]:
    """(layout, records). judgelm records: id, question, answer_1, answer_2, reference, score_1, score_2,
    explanation; sft records: id (a loop SFT row's pair_id: both orders share it), prompt, response.
    One-line InputError naming file, row and field."""
    rows = read_records(source, "training data")
    layout = detect_layout(rows[0][1])
    if layout is None:
        raise InputError(f"{source}:{rows[0][0]}: in none of the known layouts (judgelm: question_body/answer1_body/"
                         f"answer2_body/score/text; sft: prompt/response); fields are {sorted(rows[0][1])[:8]}")
    out = []
    for row, obj in rows[:limit] if limit else rows:
        rid = str(obj.get("question_id", obj.get("id", obj.get("pair_id", row))))  # a loop SFT row: its pair
        if layout == "sft":
            out.append({"id": rid, "prompt": require_text(source, row, obj, "prompt"),
                        "response": require_text(source, row, obj, "response")})
            continue
        fields = required_keys(source, row, obj, ("question", "answer_1", "answer_2", "explanation"))
        s1, s2 = read_scores(source, row, obj)
        explanation = obj[fields["explanation"]]
        if not isinstance(explanation, str):
            raise InputError(f"{source}:{row}: field {fields['explanation']!r} must be text")
        parsed = parse_scores(explanation)
        if isinstance(parsed, Scores):  # JudgeLM's `text` starts with the score line: keep the explanation
            explanation = parsed.explanation
        out.append({"id": rid, "question": require_text(source, row, obj, fields["question"]),
                    "answer_1": require_text(source, row, obj, fields["answer_1"]),
                    "answer_2": require_text(source, row, obj, fields["answer_2"]),
                    "reference": read_reference(source, row, obj), "context": read_context(source, row, obj),
                    "score_1": s1, "score_2": s2,
                    "explanation": explanation.strip()})
    return layout, out


def _decide(recipe: Recipe, what: str, rid: str, ratio: float) -> bool:
    return ratio > 0 and random.Random(derive_seed(recipe.seed, what, rid)).random() < ratio


def judgelm_example(record: dict, swapped: bool, show_reference: bool, show_context: bool = False) -> dict:
    """One training example; `swapped` exchanges everything that names a slot."""
    a1, a2, s1, s2 = record["answer_1"], record["answer_2"], record["score_1"], record["score_2"]
    explanation = record["explanation"]
    if swapped:
        a1, a2, s1, s2 = a2, a1, s2, s1
        explanation = swap_labels(explanation, NAMES)
    reference = record["reference"] if show_reference else None
    context = record.get("context") if show_context else None
    response = score_line(s1, s2) + (f"\n{explanation}" if explanation else "")
    return {"id": record["id"], "prompt": judgelm_prompt(record["question"], a1, a2, reference, context=context),
            "response": response, "swapped": swapped, "reference_shown": reference is not None,
            "context_shown": context is not None}


def apply_recipes(records: Sequence[dict], recipe: Recipe) -> list[dict]:
    """Training examples from judgelm records under the recipe; each example records what was applied."""
    if recipe.swap_mode not in ("add", "replace"):
        raise ValueError(f"swap_mode {recipe.swap_mode!r}")
    examples = []
    for record in records:
        rid = record["id"]
        show_ref = bool(recipe.reference and record["reference"]
                        and not _decide(recipe, "reference_drop", rid, recipe.reference_drop))
        show_ctx = bool(recipe.context and record.get("context")
                        and not _decide(recipe, "context_drop", rid, recipe.context_drop))
        swap = _decide(recipe, "swap", rid, recipe.swap_ratio)
        if recipe.swap_mode == "replace":
            examples.append(judgelm_example(record, swap, show_ref, show_ctx))
        else:
            examples.append(judgelm_example(record, False, show_ref, show_ctx))
            if swap:
                examples.append(judgelm_example(record, True, show_ref, show_ctx))
    return examples


def recipe_stats(examples: Sequence[dict]) -> dict:
    return {"examples": len(examples), "swapped": sum(bool(e.get("swapped")) for e in examples),
            "reference_shown": sum(bool(e.get("reference_shown")) for e in examples),
            "context_shown": sum(bool(e.get("context_shown")) for e in examples)}
