import pytest

from judge_ray.formats.judgelm import judgelm_prompt, parse_scores, score_line
from judge_ray.formats.verdicts import ParseFailure, Scores


def test_prompt_with_and_without_reference():
    plain = judgelm_prompt("Q", "one", "two")
    assert "Assistant 1's Answer]\none" in plain and "Assistant 2's Answer]\ntwo" in plain
    assert "Reference" not in plain
    ref = judgelm_prompt("Q", "one", "two", reference="gold")
    assert "[The Start of Reference Answer]\ngold" in ref and "reference answer is given" in ref
    assert ref.index("Reference Answer]") < ref.index("Assistant 1's Answer]")


@pytest.mark.parametrize("text, s1, s2, outcome", [
    ("8 6\nAssistant 1 is more detailed.", 8, 6, "A"),
    ("3,9\nwhy", 3, 9, "B"),
    ("  7 7  \n\nequal", 7, 7, "tie"),
    ("10 1", 10, 1, "A"),
    ("8.5 9\nfine", 8.5, 9, "B"),
])
def test_parse_scores(text, s1, s2, outcome):
    r = parse_scores(text)
    assert isinstance(r, Scores) and (r.score_1, r.score_2, r.outcome) == (s1, s2, outcome)


def test_explanation_is_the_rest():
    assert parse_scores("8 6\nline one\nline two").explanation == "line one\nline two"


@pytest.mark.parametrize("text, reason", [
    ("", "empty"), ("eight six\n", "not two scores"), ("8\nonly one", "not two scores"),
    ("11 3\n", "outside"), ("0 5", "outside"), ("8 6 4", "not two scores"),
])
def test_parse_failures(text, reason):
    r = parse_scores(text)
    assert isinstance(r, ParseFailure) and reason in r.reason


def test_score_line_round_trips():
    assert score_line(8, 6) == "8 6" and parse_scores(score_line(7.5, 2) + "\nx").score_1 == 7.5
