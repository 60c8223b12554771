"""benchmarks/zero_memory.py: the search for the largest size (a fake probe) and one real run on the tiny model."""
import sys
from argparse import Namespace

import pytest

from judge_ray.training.zero_memory import ModelShape, expected_bytes
from tests.helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import zero_memory  # noqa: E402

GB = 1e9


def _shape(width: int) -> ModelShape:
    return ModelShape(params=width * 1_000_000, hidden_size=width, largest_param=width * 1000, layer_params=width * 100)


def test_largest_climbs_while_the_estimate_allows_and_bisects_below_a_failure(monkeypatch, tmp_path):
    fits_up_to = 300  # widths above this "run out of memory" although their estimate is under the budget
    tried = []

    def fake_probe(size, stage, args):
        width = int(size.split(":")[1].split("x")[0])
        tried.append(width)
        held = expected_bytes(_shape(width).params, stage, 2)
        ranks = [{"held": held, "peak_rss": sum(held.values()) + 0.5 * GB, "step_s": [0.1]}] * 2
        ok = width <= fits_up_to
        return {"size": size, "stage": stage, "status": "ok" if ok else "out of memory (Ray's memory monitor ...)",
                "wall_s": 1.0, "ranks": ranks if ok else []}

    monkeypatch.setattr(zero_memory, "run_probe", fake_probe)
    monkeypatch.setattr(zero_memory, "shape_of", lambda size, tok, root: _shape(int(size[6:].split("x")[0])))
    monkeypatch.setattr(zero_memory, "machine_used", lambda: 1 * GB)
    args = Namespace(budget_gb=14.0, tokenizer="tiny", out=tmp_path)
    widths = list(range(100, 1001, 100))
    # Stage 0 needs 2 workers x 16 bytes per parameter (+ base, export shard, the machine's 1 GB): with a base of
    # 2 GB 200M is estimated at 12.5 GB and 300M at 15.7, over the budget; the probe at 200M measures a base of
    # 0.5 GB, which brings 300M (12.7 GB) under it, and it trains; 400M (15.9 GB) is never tried.
    search = zero_memory.largest(0, widths, 4, args, base=2 * GB, log=lambda _: None)
    assert tried == [200, 300] and search["largest"]["size"] == "llama:300x4"
    assert search["first_over_budget"]["size"] == "llama:400x4" and search["first_over_budget"]["estimated_gb"] > 14
    tried.clear()
    # Stage 3 needs half: up to 600M is estimated under the budget; it fails, so does 400M, then 300M trains
    stage3 = zero_memory.largest(3, widths, 4, args, base=0.5 * GB, log=lambda _: None)
    assert tried == [600, 300, 500, 400] and stage3["largest"]["size"] == "llama:300x4"
    assert [t["status"][:2] for t in stage3["tried"]] == ["ou", "ok", "ou", "ou"]


def test_estimate_follows_the_stage():
    shape = _shape(500)
    z0, z3 = (zero_memory.estimate(shape, s, base=GB) for s in (0, 3))
    assert z3 < 0.6 * z0
    assert z0 > 2 * sum(expected_bytes(shape.params, 0, 2).values())


def test_goals_read_the_rows():
    rows = [{"size": "m", "stage": 0, "held": {}, "held_total": 100, "peak_rss": [10, 11]},
            {"size": "m", "stage": 3, "held": {}, "held_total": 50, "peak_rss": [9, 12]}]
    searches = [{"stage": 0, "largest": {"size": "a", "params_m": 100.0}},
                {"stage": 3, "largest": {"size": "b", "params_m": 190.0}}]
    text = zero_memory.goals(rows, searches)
    assert "0.500x" in text[0] and text[0].endswith(": met")
    assert text[1].endswith("NOT met")  # rank 1's 12 > stage 0's 11
    assert "1.90x" in text[2] and text[2].endswith(": met")


@pytest.mark.slow
def test_benchmark_on_the_tiny_model(ray_cluster, tiny_model, tmp_path):
    """The benchmark's own path on one real probe (stage 3; stage 0 against stage 3 on the same probe is
    tests/training/test_zero3_resume.py's)."""
    result = zero_memory.main(["--sizes", "tiny", "--stages", "3", "--no-bisect", "--in-process",
                               "--out", str(tmp_path)])
    (z3,) = result["rows"]
    assert z3["status"] == "ok", result
    for key in ("params", "grads", "optimizer"):  # measured from the tensors, close to the accounting
        assert 0.9 * z3["expected"][key] <= z3["held"][key] <= 1.25 * z3["expected"][key] + 4096, (z3, key)
    assert len(z3["peak_rss"]) == 2 and min(z3["peak_rss"]) > z3["held_total"]
    text = (tmp_path / "zero_memory.md").read_text()
    assert "| tiny |" in text and "| 3 |" in text
