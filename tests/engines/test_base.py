import math

import pytest

from judge_ray.engines.base import SamplingParams, sample_choice
from tests.fakes import FakeEngine


def test_sample_choice_greedy_and_probabilities():
    c = sample_choice({"A": math.log(0.2), "B": math.log(0.6)}, 0.0, seed=1)
    assert c.choice == "B"
    assert c.probs["A"] == pytest.approx(0.25) and c.probs["B"] == pytest.approx(0.75)
    assert c.prob == pytest.approx(0.75)


def test_sample_choice_is_seeded_and_follows_the_distribution():
    lp = {"A": math.log(0.3), "B": math.log(0.7)}
    draws = [sample_choice(lp, 1.0, seed=s).choice for s in range(2000)]
    assert draws == [sample_choice(lp, 1.0, seed=s).choice for s in range(2000)]
    assert 0.25 < draws.count("A") / 2000 < 0.35
    # low temperature sharpens towards the argmax
    cold = [sample_choice(lp, 0.1, seed=s).choice for s in range(500)]
    assert cold.count("B") > 490


def test_generate_returns_one_text_per_prompt_and_checks_lengths():
    e = FakeEngine()
    out = e.generate(["x", "y", "x"], [SamplingParams(seed=7), SamplingParams(seed=7), SamplingParams(seed=8)])
    assert len(out) == 3 and all(isinstance(o, str) for o in out)
    assert out[0] != out[2]  # the seed, not the prompt alone, decides a sample
    assert e.generate([], SamplingParams()) == []
    with pytest.raises(ValueError):
        e.generate(["x", "y"], [SamplingParams()])


def test_choose_reads_a_repeated_prompt_once_and_draws_each_row_with_its_seed():
    """N verdict-alone samples of one pair: one forward pass, N seeded draws (as N separate reads would give)."""
    prompts = ["[The Start of Assistant A's Answer]good[The End of Assistant A's Answer]"
               "[The Start of Assistant B's Answer]bad[The End of Assistant B's Answer]"] * 40 + ["other"]
    engine = FakeEngine(confidence=0.5)
    choices = engine.choose(prompts, ["A", "B"], 1.0, list(range(41)))
    assert len(engine.calls) == 2 and len(choices) == 41
    one_by_one = [FakeEngine(confidence=0.5).choose([p], ["A", "B"], 1.0, [s])[0] for s, p in enumerate(prompts)]
    assert choices == one_by_one
    assert {c.choice for c in choices[:40]} == {"A", "B"}  # the draws differ by seed, not one shared draw
    assert engine.choose([], ["A", "B"], 1.0, []) == []
