"""The judge behind the endpoint, apart from HTTP and Serve: a batch of requests in, one engine call, answers
out. It reuses the evaluation's request building and verdict combining, so an endpoint verdict and a benchmark
verdict are computed the same way. Every request's seeds derive from its content: the same request gets the
same answer."""
from __future__ import annotations

import threading
from typing import Optional, Sequence

from judge_ray.config import EvalJudgeConfig, ServeSettings

from judge_ray.engines.base import Engine, SamplingParams
from judge_ray.evaluation.judging import build_requests, final_verdict, predictions_from_outputs
from judge_ray.evaluation.ranking import ranked_predictions, ranked_requests
from judge_ray.formats.grading import RATING_PREFIX, grading_prompt
from judge_ray.formats.verdicts import swap_outcome
from judge_ray.stages.judging import choose_best_batch, judge_batch
from judge_ray.stages.seeds import derive_seed
from judge_ray.stages.text import generate_batch

# API mode -> evaluation mode: the same names, and `swap`, the API's old name for `both`, still accepted.
MODES = {"single": "single", "both": "both", "swap": "both", "vote": "vote", "debiased": "debiased"}


def rating_options(engine: Engine) -> list[str]:
    """1..9, and 10 when the tokenizer has it as one token (a rating is a constrained one-token choice)."""
    options = [str(i) for i in range(1, 10)]
    tok = getattr(engine, "tokenizer", None)
    if tok is not None and len(tok.encode("10", add_special_tokens=False)) == 1:
        options.append("10")
    return options


class JudgeService:
    def __init__(self, engine: Engine, model_name: str, fmt: str, settings: ServeSettings):
        self.engine, self.model_name, self.fmt, self.s = engine, model_name, fmt, settings
        self.lock = threading.Lock()  # one engine call at a time (batches run in a worker thread)
        self.ratings = rating_options(engine)

    def count_tokens(self, text: str) -> int:
        tok = getattr(self.engine, "tokenizer", None)
        return len(tok.encode(text, add_special_tokens=False)) if tok is not None else len(text.split())

    def too_long(self, fields: dict[str, Optional[str]]) -> Optional[tuple[int, str]]:
        """(tokens, longest field) when the texts exceed serve.max_input_tokens."""
        counts = {k: self.count_tokens(v) for k, v in fields.items() if v}
        total = sum(counts.values())
        return (total, max(counts, key=counts.get)) if total > self.s.max_input_tokens else None

    def _plan(self, req: dict) -> EvalJudgeConfig:
        """A request as the evaluation harness's judge settings: one request builder and one reader of its
        outputs for `jobs/evaluate.py` and the endpoint."""
        vote = req["mode"] == "vote"
        return EvalJudgeConfig(mode=MODES[req["mode"]], grading="pairwise", reference=True,
                               samples=(req.get("samples") or self.s.vote_samples) if vote else 1,
                               temperature=self.s.vote_temperature if vote else 0.0, top_p=1.0,
                               max_tokens=self.s.max_tokens)

    def judge(self, requests: Sequence[dict]) -> list[dict]:
        """requests: question, answer_a, answer_b, reference, mode, samples."""
        items, plans, engine_rows = [], [], []
        for idx, r in enumerate(requests):
            item = {"id": str(idx), "question": r["question"], "answer_a": r["answer_a"], "answer_b": r["answer_b"],
                    "reference": r.get("reference"), "context": r.get("context") or None, "label": "", "subset": ""}
            plan = self._plan(r)
            seed = derive_seed("serve", r["question"], r["answer_a"], r["answer_b"], r.get("reference"),
                               MODES[r["mode"]], *([r["context"]] if r.get("context") else []))
            items.append(item)
            plans.append(plan)
            # seeds from the request alone (not its place in the batch): rows are re-tagged with the batch index
            engine_rows += [{**row, "item_id": item["id"]}
                            for row in build_requests([{**item, "id": "request"}], plan, self.fmt, seed)]
        stage = judge_batch if self.fmt == "pairwise" else generate_batch
        with self.lock:
            outputs = stage(self.engine, engine_rows)
        answers = []
        for item, plan in zip(items, plans):
            mine = [o for o in outputs if o["item_id"] == item["id"]]
            pred = predictions_from_outputs([item], mine, plan, self.fmt)[0]
            answers.append(self._answer(pred, plan))
        return answers

    def _answer(self, pred: dict, plan: EvalJudgeConfig) -> dict:
        winner = final_verdict(pred)
        calls = pred["calls"]
        debiased = pred.get("debiased")
        if debiased:  # the probability with the slot prior cancelled, and the prior
            confidence = {"A": debiased["prob_a"], "B": 1 - debiased["prob_a"]}.get(winner, 0.5)
        elif self.fmt == "pairwise":  # the model's own probability, both orders mapped to the original slots
            p_a = sum(c["prob_a"] if c["order"] == "AB" else 1 - c["prob_a"] for c in calls) / len(calls)
            confidence = {"A": p_a, "B": 1 - p_a}.get(winner or "", 1 - abs(2 * p_a - 1))
        else:
            frame = [c["verdict"] if c["order"] == "AB" else (swap_outcome(c["verdict"]) if c["verdict"] else None)
                     for c in calls]
            confidence = sum(v == winner for v in frame) / len(frame) if winner else 0.0
        agree = None
        if "winner_swapped" in pred and pred.get("winner") and pred.get("winner_swapped"):
            agree = pred["winner"] == swap_outcome(pred["winner_swapped"])
        first = calls[0]
        explanation = first["output"].rsplit(" [[", 1)[0] if self.fmt == "pairwise" else first["output"]
        return {"winner": winner, "confidence": round(float(confidence), 6), "orders_agree": agree,
                "explanation": explanation.strip(), "samples": len(calls),
                "prior": round(float(debiased["prior"]), 6) if debiased else None}

    def rank(self, requests: Sequence[dict]) -> list[dict]:
        """requests: question, answers, reference, mode. The evaluation's N-answer requests and reading
        (`evaluation.ranking`), so a ranking served and a ranking benchmarked are computed the same way."""
        rows, items = [], []
        for idx, r in enumerate(requests):
            item = {"id": "request", "question": r["question"], "answers": list(r["answers"]),
                    "reference": r.get("reference"), "context": r.get("context") or None, "best": [], "ranks": None,
                    "subset": ""}
            plan = EvalJudgeConfig(mode="single" if r["mode"] == "single" else "both", grading="pairwise",
                                   reference=True, samples=1, temperature=0.0, top_p=1.0,
                                   max_tokens=self.s.max_tokens)
            seed = derive_seed("serve-rank", r["question"], *r["answers"], r.get("reference"), r["mode"],
                               r.get("context"))
            rows += [{**row, "item_id": str(idx)} for row in ranked_requests([item], plan, self.fmt, seed)]
            items.append(({**item, "id": str(idx)}, plan))
        stage = choose_best_batch if self.fmt == "pairwise" else generate_batch  # ranked_requests' stage
        with self.lock:
            outputs = stage(self.engine, rows)
        answers = []
        for item, plan in items:
            pred = ranked_predictions([item], [o for o in outputs if o["item_id"] == item["id"]], plan, self.fmt)[0]
            answers.append(self._ranking(pred))
        return answers

    @staticmethod
    def _ranking(pred: dict) -> dict:
        scores, ranks = pred["scores"], pred["predicted_ranks"]
        order = sorted(range(len(scores)), key=lambda a: (ranks[a] if ranks else 0, a))
        tops = [a for a in range(len(scores)) if ranks and ranks[a] == 0 and scores[a] is not None]
        read = [c for c in pred["calls"] if c["scores"]]
        picks = {frozenset(a for a, s in c["scores"].items() if s == max(c["scores"].values())) for c in read}
        return {"scores": [None if s is None else round(float(s), 6) for s in scores], "ranking": order,
                "ranks": ranks, "best": tops[0] if len(tops) == 1 else None, "orders": len(pred["calls"]),
                "orders_read": len(read), "consistent": (len(picks) == 1) if len(read) > 1 else None,
                "explanation": (pred["calls"][0]["output"] if pred["calls"] else "").strip()}

    def grade(self, requests: Sequence[dict]) -> list[dict]:
        """A 1-10 rating per answer: the explanation, then `Rating: [[` and a constrained choice of the number."""
        prompts = [self.engine.chat(grading_prompt(r["question"], r["answer"], r.get("reference"),
                                                   context=r.get("context") or None)) for r in requests]
        seeds = [derive_seed("serve-grade", r["question"], r["answer"], r.get("reference"),
                             *([r["context"]] if r.get("context") else [])) for r in requests]
        params = [SamplingParams(max_tokens=self.s.max_tokens, temperature=0.0, seed=s) for s in seeds]
        with self.lock:
            results = self.engine.generate_then_choose(prompts, params, RATING_PREFIX, self.ratings, 0.0, seeds)
        return [{"score": float(choice.choice), "confidence": round(choice.prob, 6), "explanation": text.strip()}
                for text, choice in results]
