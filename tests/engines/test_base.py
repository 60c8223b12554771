import math

import pytest

from judge_ray.engines.base import SamplingParams, expand_samples, regroup, sample_choice
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


def test_n_samples_expand_to_consecutive_seeds_and_regroup():
    prompts, params = expand_samples(["p", "q"], [SamplingParams(seed=10, n=3), SamplingParams(seed=5, n=1)])
    assert prompts == ["p", "p", "p", "q"] and [p.seed for p in params] == [10, 11, 12, 5]
    assert all(p.n == 1 for p in params)
    assert regroup(["a", "b", "c", "d"], [SamplingParams(n=3), SamplingParams(n=1)]) == [["a", "b", "c"], ["d"]]


def test_generate_returns_n_per_prompt_and_checks_lengths():
    e = FakeEngine()
    out = e.generate(["x", "y"], SamplingParams(n=2, seed=7))
    assert [len(o) for o in out] == [2, 2] and out[0][0] != out[0][1] and out[0] == out[1]
    with pytest.raises(ValueError):
        e.generate(["x", "y"], [SamplingParams()])
