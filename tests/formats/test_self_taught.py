import pytest

from judge_ray.formats.self_taught import (VERDICT_PREFIX, judgment_text, pairwise_prompt, parse_verdict,
                                           reasoning_before_verdict)
from judge_ray.formats.verdicts import ParseFailure, Verdict


def test_prompt_holds_question_and_both_answers_in_slots():
    p = pairwise_prompt("Q?", "first", "second")
    question, first = p.index("[User Question]\nQ?"), p.index("Assistant A's Answer]\nfirst")
    assert question < first < p.index("Assistant B's Answer]\nsecond")
    assert '"[[A]]" if assistant A is better' in p


@pytest.mark.parametrize("text, winner", [
    ("A is more accurate. [[A]]", "A"),
    ("reasoning...\nFinal verdict: [[B]]", "B"),
    ("[[ B ]] because", "B"),
    ("[[A]] ... as I said, [[A]]", "A"),
])
def test_parse_valid_verdicts(text, winner):
    assert parse_verdict(text) == Verdict(winner)


@pytest.mark.parametrize("text, reason", [
    ("", "empty"),
    ("   \n", "empty"),
    ("Assistant A is better.", "no [[A]]"),
    ("[[C]]", "no [[A]]"),
    ("[A]", "no [[A]]"),
    ("Output [[A]] if A is better and [[B]] if B is", "both"),
    (None, "empty"),
])
def test_parse_failures_are_typed_not_raised(text, reason):
    result = parse_verdict(text)
    assert isinstance(result, ParseFailure) and not result.ok and reason in result.reason


def test_judgment_text_is_reasoning_then_forced_verdict():
    assert reasoning_before_verdict("B is wrong. [[A") == "B is wrong."
    text = judgment_text("B is wrong. [[A]]", "A")
    assert text == "B is wrong." + VERDICT_PREFIX + "A]]"
    assert parse_verdict(text) == Verdict("A")
