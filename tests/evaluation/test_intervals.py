"""Wilson intervals pinned on published values (Newcombe 1998, Table I: 81/263 -> 0.2553-0.3662)."""
import pytest

from judge_ray.evaluation.intervals import excludes, interval, pct_with_interval, wilson


def test_wilson_matches_newcombe():
    low, high = wilson(81 / 263, 263)
    assert low == pytest.approx(0.2553, abs=1e-4) and high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_at_the_edges_and_small_n():
    assert wilson(0.0, 10)[0] == 0.0 and wilson(0.0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson(1.0, 10)[1] == 1.0 and wilson(1.0, 10)[0] == pytest.approx(0.7225, abs=1e-4)
    low, high = wilson(0.25, 2)  # 25% on 2 pairs says almost nothing
    assert low < 0.05 and high > 0.75
    assert wilson(0.5, 0) == (0.0, 1.0)


def test_interval_record_and_table_text():
    ci = interval(0.5, 60)
    assert ci["n"] == 60 and ci["method"] == "wilson95"
    assert pct_with_interval(0.5, ci) == f"50.0% [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}] n=60"
    assert pct_with_interval(None, ci) == "-"
    assert excludes(ci, 0.0) and not excludes(ci, 0.5)
