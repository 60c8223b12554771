"""Readers for the judge benchmarks people keep on disk, taken exactly as their authors publish them. Each
turns its layout into the same item:

    {id, question, answer_a, answer_b, reference (or None), label ("A" | "B" | "tie"), subset}

Published files are messy, and a reader must still score every usable row:
- an empty answer is text ("") that the judge sees and scores (a model that said nothing);
- a JSON scalar that is not a string (true, 3, 1.5) is read as its JSON text;
- an empty instruction is fine when the input holds the text (PandaLM);
- repeated ids are kept apart: a repeat gets `#r<row>` appended;
- a row that cannot be used at all (no label, a label outside the layout's set, no answer field, a broken
  line) is skipped and listed with its reason; `strict=True` refuses it instead, with a one-line error.

Ids: the layout's id field when the row has one, else the row number (counting from 1: the line number in
JSONL, the position in a JSON array, the row in Parquet or a `datasets` table).

Layouts (fields per row; `layout=auto` picks one from the first rows' fields):

- **pandalm** (PandaLM testset): `instruction`, `input`, `response1`, `response2`, `annotator1..3` each
  0 (tie), 1 or 2; the label is the annotators' majority (no majority = tie). id: `idx`.
- **judgelm** (JudgeLM val/test): `question_body`, `answer1_body`, `answer2_body`, `score` [s1, s2],
  optional `reference` (aliases as in training; see judge_ray/training/judgelm_data.py). The label compares
  the scores (equal = tie). id: `question_id`.
- **mtbench** (MT-Bench human judgments): `question_id`, `model_a`, `model_b`, `winner` (model_a, model_b,
  tie, "tie (bothbad)", or a model's name), `conversation_a`/`conversation_b` ([{role, content}]), optional
  `turn`. Judged on the configured turn: rows whose `turn` differs are left out (not a skip); earlier turns
  are context in each answer slot.
- **arena** (Chatbot Arena human preferences): either the Kaggle/`lmsys-arena-human-preference` layout —
  `prompt`, `response_a`, `response_b` (text, or JSON-encoded lists of turns), `winner_model_a`,
  `winner_model_b`, `winner_tie` (one of them 1) — or `chatbot_arena_conversations` — `conversation_a`/`_b`,
  `winner` (model_a, model_b, tie, "tie (bothbad)" or the model's name), with `tstamp` or `anony`. The last
  turn is judged, earlier turns are context. id: `id` / `question_id`.
- **rewardbench**: `prompt`, `chosen`, `rejected`, `subset`, optional `id`. The chosen answer goes to a
  seeded slot (A or B) so the label is not always one position. Two classes (no ties).
- **llmbar**: `input`, `output_1`, `output_2`, `label` (1 or 2). Two classes (no ties).
- **autoj** (Auto-J pairwise test set): `prompt`, `response 1`, `response 2`, `label` 0/1/2 = first/second/
  tie, `scenario` (the subset).
- **judgebench** (ScalerLab's JudgeBench data files): `pair_id`, `source`, `question`, `response_A`,
  `response_B`, `label` "A>B" or "B>A". The subset is JudgeBench's category, from `source`: mmlu-pro-* is
  knowledge, livebench-reasoning reasoning, livebench-math math, livecodebench coding. Two classes. id: `pair_id`.
- **helpsteer2** (NVIDIA's HelpSteer2 per-response ratings): `prompt`, `response`, `helpfulness`, `correctness`,
  ...; the two responses to a prompt are consecutive rows. Each such pair is one item (the first row's response
  in slot A), labelled by the higher helpfulness; equal helpfulness is no preference: skipped and counted, as
  is a prompt with one response. id: `<row>+<row>` (the two rows' numbers). Two classes.
- **rewardbench2** (RewardBench 2): `id`, `prompt`, `chosen` and `rejected` (lists of completions), `num_correct`,
  `num_rejected`, `total_completions`, `subset`. A ranked item: the answers are the chosen then the rejected
  completions, every chosen one counts as best. Ties rows keep their `ref:<pid>`/`tied:<pid>` ids.
- **ranked** (this project's N-answer items): `question`, `answers` (a list of N >= 2 texts), `ranking` (answer
  numbers counting from 1, best first; a prefix is fine: unranked answers tie below the ranked ones), optional
  `reference`, `subset`.

Ranked layouts give `{id, question, answers, reference, best, ranks, subset}` (see `evaluation/ranking.py`);
`max_answers` caps N (a row over it is skipped).

- **mmvet** (MM-Vet, graded): the benchmark is a JSON object keyed by question id, each with `imagename`,
  `capability` (a list, or text "ocr,math"), `question`, `answer` (the ground truth, `<AND>`/`<OR>` kept);
  `responses` names the model's answers, a JSON object keyed the same way (or rows of `id`/`answer`), and
  `descriptions` optionally the images as text, keyed by `imagename` (a text, or {caption, ocr, objects}).
  A graded item: `{id, question, answer, reference, context, capabilities, subset}` (`evaluation/graded.py`).

`pairs`, `judgelm` and `ranked` rows may carry a `context` (text or {caption, ocr, objects}); the judge sees it
in a context block (`formats/context.py`), like the reference.
- **pairs** (this project's labelled pairs): `question`, `answer_a`, `answer_b`, `label` (A, B or tie),
  optional `reference`, `subset` (or `category`).
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from judge_ray.errors import InputError
from judge_ray.formats.context import context_text
from judge_ray.formats.conversation import transcript_for_turn, turns
from judge_ray.records import as_text, read_records
from judge_ray.stages.seeds import derive_seed
from judge_ray.training.judgelm_data import field_for, read_reference, read_scores, required_keys

# Layouts whose labels cannot be a tie: scored over A and B only (macro P/R/F1 over two classes).
ROW_NUMBERS = ("row numbers counting from 1 (the line number in JSONL, the position in a JSON array, "
               "the row in Parquet or a datasets table)")


class RowProblem(InputError):
    """One row cannot be used; `reason` names the field. Skipped and listed, or refused when strict."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Benchmark:
    layout: str
    items: list[dict]
    skipped: list[dict] = field(default_factory=list)  # {"row", "id", "reason"} per unusable row
    id_field: Optional[str] = None  # the field ids come from; None: row numbers

    @property
    def kind(self) -> str:
        """pairs (two answers and an A/B/tie label), ranked (N answers per item, `evaluation/ranking.py`) or
        graded (one answer per item, graded against its reference: MM-Vet, `evaluation/graded.py`)."""
        first = self.items[0] if self.items else {}
        return "ranked" if "answers" in first else "graded" if "answer" in first else "pairs"

    @property
    def graded(self) -> bool:
        return self.kind == "graded"

    @property
    def ranked(self) -> bool:
        return self.kind == "ranked"

    @property
    def two_class(self) -> bool:
        return is_two_class(self.layout)

    def id_note(self) -> str:
        """How this benchmark's ids are formed, for error messages about ids."""
        if self.layout == "mtbench":
            return "ids are '<question_id>:<model_a>:<model_b>:t<turn>:r<row>', as predictions.jsonl writes them"
        if self.layout == "helpsteer2":
            return "ids are '<row>+<row>': the row numbers (counting from 1) of the pair's two responses"
        if self.id_field:
            return f"ids are the benchmark's {self.id_field!r} field (a repeated id gets '#r<row>' appended)"
        return f"this benchmark has no id field: ids are its {ROW_NUMBERS}"


def _arena_signature(obj: dict) -> bool:
    if all(k in obj for k in ("winner_model_a", "winner_model_b", "winner_tie")):
        return True
    return all(k in obj for k in ("conversation_a", "conversation_b", "winner")) and ("tstamp" in obj or "anony" in obj)


def _has(*fields: str) -> Callable[[dict], bool]:
    return lambda obj: all(f in obj for f in fields)


def _judgelm_signature(obj: dict) -> bool:
    return bool(field_for(obj, "question") and field_for(obj, "answer_1") and field_for(obj, "answer_2"))


def detect_benchmark_layout(obj: dict) -> Optional[str]:
    """The first layout (in `LAYOUTS` order: the more specific signatures first) whose fields the row has."""
    return next((name for name, layout in LAYOUTS.items() if layout.signature(obj)), None)


def is_two_class(layout: str) -> bool:
    return layout in LAYOUTS and LAYOUTS[layout].two_class


# ---- field readers: tolerant of what published files hold ----
def text(obj: dict, key: str, *, allow_empty: bool = True) -> str:
    """A field as text: "" is an answer; true/3/1.5 are their JSON text; missing, null or a list is a problem."""
    if key not in obj:
        raise RowProblem(f"field {key!r} is missing")
    value = as_text(obj[key])
    if value is None:
        kind = "null" if obj[key] is None else type(obj[key]).__name__
        raise RowProblem(f"field {key!r} is {kind}, not text")
    if not allow_empty and not value.strip():
        raise RowProblem(f"field {key!r} is empty")
    return value


def question_text(obj: dict, key: str, extra_key: Optional[str] = None) -> str:
    """The question, with an `input` appended; the instruction may be empty when the input holds the text."""
    question = text(obj, key)
    extra = as_text(obj.get(extra_key)) if extra_key else None
    if extra and extra.strip():
        question = f"{question}\n\n{extra}" if question.strip() else extra
    if not question.strip():
        raise RowProblem(f"field {key!r} is empty" + (f" and so is {extra_key!r}" if extra_key else "")
                         + ": there is no question")
    return question


def label_from(value: Any, key: str, mapping: dict) -> str:
    """The label for a published value (ints and their strings alike), or a problem naming the values allowed."""
    if isinstance(value, bool):
        value = None
    normal = value.strip() if isinstance(value, str) else value
    if isinstance(normal, float) and normal.is_integer():
        normal = int(normal)
    for k, label in mapping.items():
        if normal == k or (isinstance(normal, str) and normal == str(k)):
            return label
    allowed = ", ".join(str(k) for k in mapping)
    raise RowProblem(f"field {key!r} is {value!r}; expected one of {allowed}")


def winner_label(obj: dict) -> str:
    """MT-Bench / Arena `winner`: model_a, model_b, tie, tie (bothbad), or the winning model's name."""
    winner = obj.get("winner")
    named = {"model_a": "A", "model_b": "B", "tie": "tie", "tie (bothbad)": "tie"}
    if isinstance(winner, str) and winner in named:
        return named[winner]
    if isinstance(winner, str) and winner and winner == obj.get("model_a"):
        return "A"
    if isinstance(winner, str) and winner and winner == obj.get("model_b"):
        return "B"
    raise RowProblem(f"field 'winner' is {winner!r}; expected model_a, model_b, tie or a model's name")


def row_context(obj: dict, key: str = "context") -> Optional[str]:
    """An optional context field as one text, or a problem naming the field."""
    try:
        return context_text(obj.get(key))
    except ValueError as exc:
        raise RowProblem(f"field {key!r} {exc}") from None


def _row_id(obj: dict, layout: str, row: int) -> str:
    if "_key" in obj:  # a JSON object keyed by id (MM-Vet)
        return str(obj["_key"])
    if "_rows" in obj:  # an item that spans rows (regrouped): their numbers
        return "+".join(str(r) for r in obj["_rows"])
    for key in LAYOUTS[layout].id_fields:
        value = as_text(obj.get(key))
        if value is not None and value.strip():
            return value.strip()
    return str(row)


def _plain(value: Any) -> Any:
    """A list as Python holds it (Parquet and `datasets` give numpy arrays); anything else as it is."""
    return value.tolist() if hasattr(value, "tolist") else value


def _conversation(obj: dict, key: str) -> list[tuple[str, str]]:
    conv = _plain(obj.get(key))
    if not isinstance(conv, list) or not conv:
        raise RowProblem(f"field {key!r} must be a list of messages")
    return turns(conv, f"field {key!r}")


def _turn_list(value: Any) -> list[str]:
    """Arena's prompt/response: plain text, or a JSON-encoded list of turns whose nulls are empty replies."""
    value = _plain(value)
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    if isinstance(value, list):
        return ["" if v is None else (as_text(v) or "") for v in value]
    t = as_text(value)
    return [] if t is None else [t]


# ---- one reader per layout: (row number, row, options) -> item, or None for a row outside the selection ----
def _pandalm(row: int, obj: dict, _: dict) -> dict:
    votes = []
    for k in ("annotator1", "annotator2", "annotator3"):
        if k not in obj:
            raise RowProblem(f"field {k!r} is missing")
        votes.append(label_from(obj[k], k, {0: "tie", 1: "A", 2: "B"}))
    (top, count), = Counter(votes).most_common(1)
    return {"question": question_text(obj, "instruction", "input"), "answer_a": text(obj, "response1"),
            "answer_b": text(obj, "response2"), "reference": None, "label": top if count >= 2 else "tie",
            "subset": as_text(obj.get("motivation_app")) or ""}


def _judgelm(row: int, obj: dict, _: dict) -> dict:
    keys = required_keys("", row, obj, ("question", "answer_1", "answer_2"))
    s1, s2 = read_scores("", row, obj)
    return {"question": question_text(obj, keys["question"]), "answer_a": text(obj, keys["answer_1"]),
            "answer_b": text(obj, keys["answer_2"]), "reference": read_reference("", row, obj),
            "context": row_context(obj), "label": "A" if s1 > s2 else "B" if s2 > s1 else "tie", "subset": ""}


def _mtbench(row: int, obj: dict, opts: dict) -> Optional[dict]:
    turn = opts["turn"]
    if obj.get("turn") is not None:
        try:
            row_turn = int(float(str(obj["turn"]).strip()))  # 2, "2" and 2.0 alike
        except ValueError:
            raise RowProblem(f"field 'turn' is {obj['turn']!r}; expected a turn number") from None
        if row_turn != turn:
            return None
    label = winner_label(obj)
    sides = {}
    for side in ("a", "b"):
        pairs = _conversation(obj, f"conversation_{side}")
        if len(pairs) < turn:
            raise RowProblem(f"field 'conversation_{side}' has {len(pairs)} turn(s); turn {turn} asked")
        sides[side] = transcript_for_turn(pairs, turn)
    qid = as_text(obj.get("question_id")) or str(row)
    return {"id": f"{qid}:{obj.get('model_a', 'a')}:{obj.get('model_b', 'b')}:t{turn}:r{row}",
            "question": sides["a"][0], "answer_a": sides["a"][1], "answer_b": sides["b"][1], "reference": None,
            "label": label, "subset": f"turn{turn}"}


def _arena(row: int, obj: dict, _: dict) -> dict:
    if "winner_model_a" in obj:
        flags = {}
        for k in ("winner_model_a", "winner_model_b", "winner_tie"):
            flags[k] = label_from(obj.get(k), k, {0: 0, 1: 1})
        if sum(flags.values()) != 1:
            raise RowProblem(f"winner_model_a/winner_model_b/winner_tie are {list(flags.values())}; exactly one "
                             "must be 1")
        label = "A" if flags["winner_model_a"] else "B" if flags["winner_model_b"] else "tie"
        prompts = _turn_list(text(obj, "prompt"))
        sides = {}
        for side in ("a", "b"):
            replies = _turn_list(text(obj, f"response_{side}"))
            if not prompts or len(replies) != len(prompts):
                raise RowProblem(f"field 'response_{side}' has {len(replies)} turn(s) for {len(prompts)} prompt(s)")
            sides[side] = list(zip(prompts, replies))
    else:
        label = winner_label(obj)
        sides = {side: _conversation(obj, f"conversation_{side}") for side in ("a", "b")}
    if not sides["a"] or not sides["b"]:
        raise RowProblem("a conversation has no complete turn")
    qa, qb = (transcript_for_turn(sides[s], len(sides[s])) for s in ("a", "b"))
    return {"question": qa[0], "answer_a": qa[1], "answer_b": qb[1], "reference": None, "label": label,
            "subset": ""}


def _rewardbench(row: int, obj: dict, opts: dict) -> dict:
    rid = _row_id(obj, "rewardbench", row)
    chosen, rejected = text(obj, "chosen"), text(obj, "rejected")
    chosen_first = random.Random(derive_seed(opts["seed"], "rewardbench-slot", rid)).random() < 0.5
    return {"question": question_text(obj, "prompt"),
            "answer_a": chosen if chosen_first else rejected, "answer_b": rejected if chosen_first else chosen,
            "reference": None, "label": "A" if chosen_first else "B", "subset": as_text(obj.get("subset")) or ""}


def _llmbar(row: int, obj: dict, _: dict) -> dict:
    return {"question": question_text(obj, "input"), "answer_a": text(obj, "output_1"),
            "answer_b": text(obj, "output_2"), "reference": None,
            "label": label_from(obj.get("label"), "label", {1: "A", 2: "B"}), "subset": ""}


def _autoj(row: int, obj: dict, _: dict) -> dict:
    return {"question": question_text(obj, "prompt"), "answer_a": text(obj, "response 1"),
            "answer_b": text(obj, "response 2"), "reference": None,
            "label": label_from(obj.get("label"), "label", {0: "A", 1: "B", 2: "tie"}),
            "subset": as_text(obj.get("scenario")) or ""}


# JudgeBench's categories, by its `source` field (ScalerLab/JudgeBench, utils/file_operations.py)
JUDGEBENCH_CATEGORIES = ("knowledge", "reasoning", "math", "coding")


def judgebench_category(source: str) -> str:
    """knowledge | reasoning | math | coding, or "" for a source JudgeBench does not have."""
    if source.startswith("mmlu-pro"):
        return "knowledge"
    return {"livebench-reasoning": "reasoning", "livebench-math": "math", "livecodebench": "coding"}.get(source, "")


def _judgebench(row: int, obj: dict, _: dict) -> dict:
    source = text(obj, "source").strip()
    return {"question": question_text(obj, "question"), "answer_a": text(obj, "response_A"),
            "answer_b": text(obj, "response_B"), "reference": None,
            "label": label_from(obj.get("label"), "label", {"A>B": "A", "B>A": "B"}),
            "subset": judgebench_category(source) or source}


def _rating(obj: dict, key: str) -> float:
    value = obj.get(key)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RowProblem(f"field {key!r} is {value!r}; expected a number")
    return float(value)


def _helpsteer2_pairs(rows: list[tuple[int, dict]]) -> tuple[list[tuple[int, dict]], list[tuple[int, str]]]:
    """HelpSteer2 publishes one row per response, the two responses to a prompt one after the other: pair
    consecutive rows with the same prompt. (row of the pair's first response, the pair as one row), and the
    rows that have no partner."""
    pairs, lone = [], []
    i = 0
    while i < len(rows):
        (r1, a) = rows[i]
        if i + 1 < len(rows) and rows[i + 1][1].get("prompt") == a.get("prompt"):
            r2, b = rows[i + 1]
            pairs.append((r1, {"_rows": (r1, r2), "_first": a, "_second": b}))
            i += 2
        else:
            lone.append((r1, "the prompt has one response here; HelpSteer2 pairs two consecutive rows"))
            i += 1
    return pairs, lone


def _helpsteer2(row: int, obj: dict, _: dict) -> dict:
    a, b = obj["_first"], obj["_second"]
    ha, hb = _rating(a, "helpfulness"), _rating(b, "helpfulness")
    if ha == hb:
        raise RowProblem(f"helpfulness is equal; both {ha:g}: no preference")
    return {"question": question_text(a, "prompt"), "answer_a": text(a, "response"),
            "answer_b": text(b, "response"), "reference": None, "label": "A" if ha > hb else "B", "subset": ""}


def _answer_list(obj: dict, key: str, max_answers: int, least: int = 2) -> list[str]:
    """A published list of answers as texts; every element must be text (a JSON scalar is its text)."""
    if key not in obj:
        raise RowProblem(f"field {key!r} is missing")
    value = _plain(obj[key])
    if not isinstance(value, list):
        raise RowProblem(f"field {key!r} is {type(value).__name__}, not a list of answers")
    if len(value) < least:
        raise RowProblem(f"field {key!r} has {len(value)} answer(s); at least {least} needed")
    if len(value) > max_answers:
        raise RowProblem(f"field {key!r} has {len(value)} answers, over benchmark.max_answers={max_answers}")
    return [v if isinstance(v, str) else text({f"{key}[{i}]": v}, f"{key}[{i}]") for i, v in enumerate(value)]


def _ranked(row: int, obj: dict, opts: dict) -> dict:
    answers = _answer_list(obj, "answers", opts["max_answers"])
    ranking = _plain(obj.get("ranking"))
    if not isinstance(ranking, list) or not ranking:
        raise RowProblem(f"field 'ranking' is {ranking!r}; expected answer numbers (from 1), best first")
    numbers = []
    for r in ranking:
        if isinstance(r, bool) or not isinstance(r, (int, float)) or float(r) != int(r) or not 1 <= r <= len(answers):
            raise RowProblem(f"field 'ranking' names answer {r!r}; there are {len(answers)} answers (1-{len(answers)})")
        numbers.append(int(r) - 1)
    if len(set(numbers)) != len(numbers):
        raise RowProblem(f"field 'ranking' names an answer twice: {ranking}")
    ranks = [numbers.index(a) if a in numbers else len(numbers) for a in range(len(answers))]
    ref = as_text(obj.get("reference"))
    return {"question": question_text(obj, "question"), "answers": answers, "context": row_context(obj),
            "reference": ref if ref and ref.strip() else None, "best": [numbers[0]], "ranks": ranks,
            "subset": as_text(obj.get("subset")) or ""}


def _rewardbench2(row: int, obj: dict, opts: dict) -> dict:
    chosen = _answer_list(obj, "chosen", opts["max_answers"], least=1)
    rejected = _answer_list(obj, "rejected", opts["max_answers"], least=1)
    if len(chosen) + len(rejected) > opts["max_answers"]:
        raise RowProblem(f"{len(chosen) + len(rejected)} completions, over benchmark.max_answers="
                         f"{opts['max_answers']}")
    declared = obj.get("num_correct")
    if declared is not None and not (isinstance(declared, (int, float)) and not isinstance(declared, bool)
                                     and declared == len(chosen)):
        raise RowProblem(f"field 'num_correct' is {declared!r} but 'chosen' has {len(chosen)} completion(s)")
    return {"question": question_text(obj, "prompt"), "answers": chosen + rejected, "reference": None,
            "best": list(range(len(chosen))), "ranks": [0] * len(chosen) + [1] * len(rejected),
            "subset": as_text(obj.get("subset")) or ""}


def capabilities(value: Any) -> list[str]:
    """MM-Vet's `capability`: a list of names, or one text "ocr,math"."""
    value = _plain(value)
    if isinstance(value, str):
        value = [v for v in (x.strip() for x in value.split(",")) if v]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise RowProblem(f"field 'capability' is {value!r}; expected a list of capability names")
    return [v.strip() for v in value]


def _mmvet(row: int, obj: dict, opts: dict) -> dict:
    qid = _row_id(obj, "mmvet", row)
    responses = opts["responses"] or {}
    if qid not in responses:
        raise RowProblem(f"no response for question {qid!r} in benchmark.responses")
    answer = as_text(responses[qid])
    if answer is None:
        raise RowProblem(f"the response for {qid!r} is {type(responses[qid]).__name__}, not text")
    image = as_text(obj.get("imagename")) or ""
    context = None
    descriptions = opts.get("descriptions")
    if descriptions is not None and image in descriptions:
        try:
            context = context_text(descriptions[image])
        except ValueError as exc:
            raise RowProblem(f"the description of {image!r} {exc}") from None
    caps = capabilities(obj.get("capability"))
    return {"question": question_text(obj, "question"), "answer": answer, "reference": text(obj, "answer"),
            "context": context, "capabilities": caps, "subset": ",".join(sorted(caps)), "image": image}


def _pairs(row: int, obj: dict, _: dict) -> dict:
    ref = as_text(obj.get("reference"))
    return {"question": question_text(obj, "question"), "answer_a": text(obj, "answer_a"),
            "answer_b": text(obj, "answer_b"), "reference": ref if ref and ref.strip() else None,
            "context": row_context(obj),
            "label": label_from(obj.get("label"), "label", {"A": "A", "B": "B", "tie": "tie"}),
            "subset": as_text(obj.get("subset") or obj.get("category")) or ""}


@dataclass(frozen=True)
class Layout:
    """One published benchmark layout: how `auto` recognises a row, how a row becomes an item, where its ids
    come from, and whether its labels hold ties."""

    name: str
    signature: Callable[[dict], bool]  # the row has this layout's fields
    reader: Callable[[int, dict, dict], Optional[dict]]  # (row number, row, {"turn", "seed"}) -> item, or None
    id_fields: tuple[str, ...]  # the first present and non-empty is the id; none: the row number
    two_class: bool = False  # labels are A/B only (a preference with no tie): scored over two classes
    # rows -> (the rows the reader reads, (row, reason) of rows that cannot be used): layouts whose item spans rows
    regroup: Optional[Callable[[list[tuple[int, dict]]], tuple[list[tuple[int, dict]], list[tuple[int, str]]]]] = None


# Detection order: a signature that another one contains comes first (arena's rows also have mtbench's fields).
LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("arena", _arena_signature, _arena, ("id", "question_id")),
    Layout("pandalm", _has("response1", "response2", "annotator1"), _pandalm, ("idx",)),
    Layout("mtbench", _has("conversation_a", "conversation_b", "winner"), _mtbench, ()),
    Layout("autoj", _has("response 1", "response 2", "label"), _autoj, ("id",)),
    Layout("mmvet", _has("imagename", "capability", "question", "answer"), _mmvet, ("_key", "id")),
    Layout("rewardbench2", _has("prompt", "chosen", "rejected", "num_correct"), _rewardbench2, ("id",)),
    Layout("rewardbench", _has("prompt", "chosen", "rejected"), _rewardbench, ("id",), two_class=True),
    Layout("ranked", _has("answers", "ranking"), _ranked, ("id",)),
    Layout("llmbar", _has("output_1", "output_2", "label"), _llmbar, ("id",), two_class=True),
    Layout("judgebench", _has("pair_id", "response_A", "response_B", "label"), _judgebench, ("pair_id",),
           two_class=True),
    Layout("helpsteer2", _has("prompt", "response", "helpfulness"), _helpsteer2, (), two_class=True,
           regroup=_helpsteer2_pairs),
    Layout("pairs", _has("answer_a", "answer_b", "label"), _pairs, ("id",)),
    Layout("judgelm", _judgelm_signature, _judgelm, ("question_id", "id")),
)}


def keyed(path: Optional[str], what: str, value_field: str) -> Optional[dict]:
    """A JSON object keyed by id (MM-Vet's results and descriptions), or rows with `id` and `value_field`, as
    {key: value}."""
    if path is None:
        return None
    from judge_ray.storage import location

    try:
        data = json.loads(location(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what} file not found: {path}") from None
    except (ValueError, OSError):
        data = None
    if isinstance(data, dict):
        return data
    return {str(o.get("id", o.get("_key", r))): o.get(value_field) for r, o in read_records(path, what)}


def _reason(exc: InputError, row: int) -> str:
    """Helpers shared with training raise `<src>:<row>: reason`; keep the reason."""
    return str(exc).split(f":{row}: ", 1)[-1]


def read_benchmark(source: str, layout: str = "auto", split: Optional[str] = None, limit: Optional[int] = None,
                   turn: int = 1, seed: int = 0, strict: bool = False, max_answers: int = 26,
                   responses: Optional[str] = None, descriptions: Optional[str] = None) -> Benchmark:
    """The benchmark's usable items and its skipped rows (each with its reason). `strict`: the first unusable
    row is a one-line InputError naming file, row and field, as a hand-made file deserves. `responses` and
    `descriptions`: MM-Vet's model answers and image descriptions (files keyed by question id / image name)."""
    bad: list[tuple[int, str]] = []
    rows = read_records(source, "benchmark file", split, None if strict else bad)
    if layout == "auto":
        found = next((lay for _, obj in rows[:20] if (lay := detect_benchmark_layout(obj))), None)
        if found is None:
            first = rows[0] if rows else (bad[0][0], {})
            raise InputError(f"{source}:{first[0]}: in none of the known benchmark layouts "
                             f"({', '.join(LAYOUTS)}); fields are {sorted(first[1])[:8]}")
        layout = found
    reader = LAYOUTS[layout].reader
    if layout == "mmvet" and responses is None:
        raise InputError(f"{source}: the mmvet layout grades a model's answers: set benchmark.responses to its "
                         "results file (a JSON object keyed by question id)")
    opts = {"turn": turn, "seed": seed, "max_answers": max_answers,
            "responses": keyed(responses, "benchmark.responses", "answer"),
            "descriptions": keyed(descriptions, "benchmark.descriptions", "description")}
    if LAYOUTS[layout].regroup:
        rows, lone = LAYOUTS[layout].regroup(rows)
        if strict and lone:
            raise InputError(f"{source}:{lone[0][0]}: {lone[0][1]}")
        bad += lone
    bench = Benchmark(layout, [], [{"row": r, "id": "", "reason": why} for r, why in bad])
    bench.id_field = next((k for k in LAYOUTS[layout].id_fields if any(k in obj for _, obj in rows[:20])), None)
    seen: set[str] = set()
    for row, obj in rows:
        rid = _row_id(obj, layout, row)
        try:
            item = reader(row, obj, opts)
        except InputError as exc:
            reason = _reason(exc, row)
            if strict:
                raise InputError(f"{source}:{row}: {reason}") from None
            bench.skipped.append({"row": row, "id": rid, "reason": reason})
            continue
        if item is None:
            continue
        item = {"id": item.pop("id", rid), **item}
        if item["id"] in seen:
            item["id"] = f"{item['id']}#r{row}"  # benchmarks repeat ids (several annotators); keep rows apart
        seen.add(item["id"])
        bench.items.append(item)
        if limit and len(bench.items) >= limit:
            break
    bench.skipped.sort(key=lambda s: s["row"])
    if not bench.items:
        why = f"; {len(bench.skipped)} row(s) skipped, first: row {bench.skipped[0]['row']}: " \
              f"{bench.skipped[0]['reason']}" if bench.skipped else ""
        raise InputError(f"benchmark file has no usable example for this selection (turn={turn}): {source}{why}")
    return bench


def skipped_summary(skipped: list[dict]) -> dict[str, int]:
    """Skipped rows counted by reason (field values stripped so reasons group)."""
    return dict(Counter(s["reason"].split(";")[0] for s in skipped).most_common())
