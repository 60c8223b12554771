"""The endpoint's judge logic on the fake engine (no Serve, no HTTP)."""
import math

import pytest

from judge_ray.config import ServeSettings
from judge_ray.serving.service import JudgeService
from tests.fakes import FakeEngine

GOOD_A = {"question": "q", "answer_a": "GOOD", "answer_b": "bad", "reference": None}


def service(fmt: str) -> JudgeService:
    return JudgeService(FakeEngine(), "fake", fmt, ServeSettings(max_input_tokens=20))


def test_pairwise_modes():
    svc = service("pairwise")
    single, both, vote, old_name = svc.judge([{**GOOD_A, "mode": "single"}, {**GOOD_A, "mode": "both"},
                                              {**GOOD_A, "mode": "vote", "samples": 5}, {**GOOD_A, "mode": "swap"}])
    assert single["winner"] == "A" and single["orders_agree"] is None and single["samples"] == 1
    assert 0.5 < single["confidence"] <= 1
    assert both["winner"] == "A" and both["orders_agree"] is True and both["samples"] == 2
    assert old_name == both  # `swap`, the API's old name for `both`
    assert vote["winner"] == "A" and vote["samples"] == 5
    b = svc.judge([{"question": "q", "answer_a": "bad", "answer_b": "GOOD", "mode": "both"}])[0]
    assert b["winner"] == "B" and b["orders_agree"] is True
    # same request, same answer
    assert svc.judge([{**GOOD_A, "mode": "vote", "samples": 5}])[0] == vote


def test_judgelm_format_and_unreadable_output():
    svc = service("judgelm")
    ok, bad = svc.judge([{**GOOD_A, "mode": "both"}, {"question": "UNREADABLE", "answer_a": "x", "answer_b": "y",
                                                      "mode": "single"}])
    assert ok["winner"] == "A" and ok["confidence"] == 1.0 and ok["orders_agree"] is True
    assert bad["winner"] is None and bad["confidence"] == 0.0


def test_grade_is_always_a_score_and_token_limit():
    svc = service("pairwise")
    g = svc.grade([{"question": "q", "answer": "a"}])[0]
    assert 1 <= g["score"] <= 9 and 0 < g["confidence"] <= 1
    assert svc.too_long({"question": "short", "answer_a": "word " * 30}) == (31, "answer_a")
    assert svc.too_long({"question": "short", "answer_a": "fine"}) is None


def test_rank_scores_every_answer_over_the_rotations():
    for fmt in ("judgelm", "pairwise"):
        svc = service(fmt)
        rot, single = svc.rank([{"question": "q", "answers": ["bad", "GOOD", "meh"], "mode": "rotations"},
                                {"question": "q", "answers": ["bad", "GOOD", "meh"], "mode": "single"}])
        assert rot["best"] == 1 and rot["ranking"][0] == 1 and rot["orders"] == 3 == rot["orders_read"]
        assert rot["consistent"] is True and single["orders"] == 1 and single["consistent"] is None
        assert rot["ranks"] == ([1, 0, 1]) and single["best"] == 1
        if fmt == "judgelm":
            assert rot["scores"] == [2.0, 9.0, 2.0]
        else:  # the model's probability of each slot, mapped back to the answers (the fake: e^2 for GOOD)
            e2 = math.exp(2.0)
            assert rot["scores"] == pytest.approx([1 / (e2 + 2), e2 / (e2 + 2), 1 / (e2 + 2)], abs=1e-6)
    unread = service("judgelm").rank([{"question": "UNREADABLE", "answers": ["a", "b"], "mode": "rotations"}])[0]
    assert unread["best"] is None and unread["scores"] == [None, None] and unread["orders_read"] == 0
    assert svc.rank([{"question": "q", "answers": ["bad", "GOOD", "meh"], "mode": "rotations"}])[0] == rot


def test_context_reaches_every_route():
    svc = service("pairwise")
    seen = []
    svc.engine._generate_orig = svc.engine._generate

    def spy(prompts, params):
        seen.extend(prompts)
        return svc.engine._generate_orig(prompts, params)

    svc.engine._generate = spy
    ctx = "Caption: a cat on a sofa"
    svc.judge([{**GOOD_A, "mode": "single", "context": ctx}])
    svc.grade([{"question": "q", "answer": "a", "context": ctx}])
    svc.rank([{"question": "q", "answers": ["a", "b", "c"], "mode": "single", "context": ctx}])
    assert len(seen) >= 3 and all("[The Start of Context]\nCaption: a cat on a sofa" in p for p in seen)
