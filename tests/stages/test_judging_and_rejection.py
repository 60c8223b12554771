from collections import Counter

from judge_ray.formats.self_taught import parse_verdict
from judge_ray.stages.judging import judge_batch, judgment_requests
from judge_ray.stages.rejection import sft_row, swapped_sft_row
from tests.fakes import FakeEngine
from tests.recipes import balance_positions, rejection_sample

PAIRS = [{"pair_id": f"p{i}", "instruction": f"Q{i}", "response_w": f"GOOD answer {i}",
          "response_l": f"weak answer {i}", "winner": "AB"[i % 2]} for i in range(6)]


def test_requests_have_n_seeded_samples_and_swapped_orders():
    req = judgment_requests(PAIRS[:2], samples=3, seed=0, stage="judge_1", both_orders=True)
    assert len(req) == 2 * 2 * 3
    assert len({r["seed"] for r in req}) == len(req)
    first_ab = [r for r in req if r["pair_id"] == "p0" and r["order"] == "AB"][0]
    first_ba = [r for r in req if r["pair_id"] == "p0" and r["order"] == "BA"][0]
    assert first_ab["winner"] == "A" and first_ab["answer_a"] == "GOOD answer 0"
    assert first_ba["winner"] == "B" and first_ba["answer_b"] == "GOOD answer 0"
    assert req == judgment_requests(PAIRS[:2], samples=3, seed=0, stage="judge_1", both_orders=True)
    assert req != judgment_requests(PAIRS[:2], samples=3, seed=1, stage="judge_1", both_orders=True)


def test_judge_batch_always_has_a_verdict_and_records_free_text_validity():
    rows = judgment_requests(PAIRS, samples=4, seed=0, stage="j")
    out = judge_batch(FakeEngine(confidence=4.0, free_verdicts=0.5), rows, 32, 0.8, 0.95)
    assert all(r["verdict"] in ("A", "B") for r in out)
    # the verdict's probability is that of the option drawn
    assert all(abs(r["verdict_prob"] - (r["prob_a"] if r["verdict"] == "A" else 1 - r["prob_a"])) < 1e-9 for r in out)
    assert sum(r["correct"] for r in out) / len(out) > 0.8  # the fake prefers the GOOD answer
    free = [r for r in out if r["free_valid"]]
    assert 0 < len(free) < len(out)
    assert all(parse_verdict(r["reasoning"]).ok == r["free_valid"] for r in out)


def test_rejection_keeps_one_correct_per_pair_and_counts_drops():
    judgments = []
    for i in range(4):
        for k in range(3):
            judgments.append({"pair_id": f"p{i}", "sample": k, "winner": "A", "correct": i != 3 and k > 0,
                              "question": "q", "answer_a": "a", "answer_b": "b", "reasoning": f"r{k}"})
    rows, stats = rejection_sample(judgments, seed=0, balance=False)
    assert [r["pair_id"] for r in rows] == ["p0", "p1", "p2"]
    assert stats["pairs_dropped"] == 1 and stats["pairs_kept"] == 3 and stats["correct_judgments"] == 6
    assert all(r["reasoning"] in ("r1", "r2") for r in rows)
    assert rows == rejection_sample(judgments, seed=0, balance=False)[0]


def test_balancing_moves_the_surplus_by_swapping():
    rows = [sft_row({"pair_id": f"p{i}", "winner": "A", "question": "q", "answer_a": f"good{i}",
                     "answer_b": f"bad{i}", "reasoning": "Assistant A is right, Assistant B is not. [[A]]"})
            for i in range(5)]
    balanced = balance_positions(rows, seed=0)
    assert Counter(r["winner"] for r in balanced) == {"A": 3, "B": 2}
    moved = [r for r in balanced if r["swapped"]]
    assert len(moved) == 2
    for r in moved:
        assert r["answer_b"].startswith("good") and r["response"].endswith("[[B]]")
        assert r["reasoning"].startswith("Assistant B is right, Assistant A is not.")
        assert "Assistant A's Answer]\nbad" in r["prompt"]


def test_swap_twice_is_identity():
    row = sft_row({"pair_id": "p", "winner": "B", "question": "q", "answer_a": "x", "answer_b": "y",
                   "reasoning": "Assistant B wins"})
    assert swapped_sft_row(swapped_sft_row(row)) == row


def test_verdict_alone_when_max_tokens_is_zero():
    """Rows with max_tokens 0 get the verdict straight after the question (no reasoning), mixed in one batch
    with reasoning rows, each row in its place, each verdict seeded as the reasoning path seeds it."""
    rows = judgment_requests(PAIRS, samples=2, seed=0, stage="j")
    for i, r in enumerate(rows):
        r["max_tokens"] = 0 if i % 2 else 16
    engine = FakeEngine(confidence=4.0)
    out = judge_batch(engine, rows, 32, 0.8, 0.95)
    assert [(r["pair_id"], r["sample"]) for r in out] == [(r["pair_id"], r["sample"]) for r in rows]
    direct = [r for i, r in enumerate(out) if i % 2]
    assert all(r["reasoning"] == "" and not r["free_valid"] for r in direct)
    assert all(r["reasoning"] for i, r in enumerate(out) if not i % 2)
    assert sum(r["correct"] for r in direct) / len(direct) > 0.8  # the fake's preference is read without reasoning
    again = judge_batch(engine, [r for i, r in enumerate(rows) if i % 2], 32, 0.8, 0.95)
    assert [r["verdict"] for r in again] == [r["verdict"] for r in direct]  # independent of the batch around it


def test_swap_augmentation_trains_every_kept_judgment_both_ways():
    rows = judgment_requests(PAIRS, samples=3, seed=0, stage="j")
    out = judge_batch(FakeEngine(confidence=4.0), rows, 16, 0.8, 0.95)
    plain, stats = rejection_sample(out, seed=0, balance=False)
    augmented, stats_aug = rejection_sample(out, seed=0, balance=True, swap_augment=True)
    assert len(augmented) == 2 * len(plain) and stats_aug["pairs_kept"] == stats["pairs_kept"]
    assert stats_aug["sft_winner_A"] == stats_aug["sft_winner_B"] == len(plain)
    for original, swapped in zip(augmented[::2], augmented[1::2]):
        assert original["pair_id"] == swapped["pair_id"] and not original["swapped"] and swapped["swapped"]
        assert swapped == swapped_sft_row(original)
        assert swapped["response"].endswith("[[B]]" if original["winner"] == "A" else "[[A]]")


def test_verdict_alone_judgments_train_the_verdict_alone():
    """judge.max_tokens=0: the kept judgments have no reasoning, so the judge is trained to give the verdict
    straight after the question, both ways under swap augmentation."""
    from judge_ray.formats.self_taught import VERDICT_PREFIX

    out = judge_batch(FakeEngine(confidence=4.0), judgment_requests(PAIRS, samples=2, seed=0, stage="j"), 0, 0.8,
                      0.95)
    rows, _ = rejection_sample(out, seed=0, balance=True, swap_augment=True)
    assert rows and all(r["response"] == f"{VERDICT_PREFIX}{r['winner']}]]" for r in rows)


def test_adversarial_negatives_attack_only_the_losing_answer_with_training_variants():
    from judge_ray.attacks import BY_NAME

    plain = judgment_requests(PAIRS, samples=2, seed=0, stage="j")
    assert all(r["attack"] == "" for r in plain)
    rows = judgment_requests(PAIRS, samples=2, seed=0, stage="j", both_orders=True, adversarial=1.0)
    for r in rows:
        win, lose = (r["answer_a"], r["answer_b"]) if r["winner"] == "A" else (r["answer_b"], r["answer_a"])
        assert win.startswith("GOOD answer") and BY_NAME[r["attack"]].split == "train"  # never an eval variant
        assert lose != f"weak answer {r['pair_id'][1:]}"  # attacked ...
        if BY_NAME[r["attack"]].family != "master_key":  # ... around its own text, unless replaced whole
            assert f"weak answer {r['pair_id'][1:]}" in lose
    by_pair = {}
    for r in rows:  # one variant per pair, in both orders and every sample
        by_pair.setdefault(r["pair_id"], set()).add(r["attack"])
    assert all(len(v) == 1 for v in by_pair.values())
    assert rows == judgment_requests(PAIRS, samples=2, seed=0, stage="j", both_orders=True, adversarial=1.0)
    half = judgment_requests([{**PAIRS[0], "pair_id": f"x{i}"} for i in range(400)], 1, 0, "j", adversarial=0.25)
    assert 0.18 < sum(r["attack"] != "" for r in half) / 400 < 0.32  # the seeded share
