"""The transformers engine on the tiny model: per-row seeds, n samples, the one-pass judge."""
import pytest

from judge_ray.engines.base import Engine, EngineOptions, SamplingParams
from judge_ray.engines.hf import TransformersEngine
from judge_ray.formats.self_taught import VERDICT_PREFIX


@pytest.fixture(scope="module")
def engine(tiny_model):
    return TransformersEngine(tiny_model, EngineOptions(batch_size=4))


def test_a_rows_sample_depends_on_its_seed_not_its_batch(engine):
    p = SamplingParams(max_tokens=12, temperature=1.0, seed=42)
    alone = engine.generate([engine.chat("hello")], p)[0]
    others = [engine.chat(f"other prompt {i} with more words") for i in range(5)]
    in_batch = engine.generate(others + [engine.chat("hello")], [SamplingParams(max_tokens=12, temperature=1.0,
                                                                                 seed=i) for i in range(5)] + [p])
    assert in_batch[-1] == alone
    other = engine.generate([engine.chat("hello")], SamplingParams(max_tokens=12, temperature=1.0, seed=43))
    assert other[0] != alone


def test_greedy_is_deterministic_and_max_tokens_per_row(engine):
    a = engine.generate([engine.chat("x"), engine.chat("y")],
                        [SamplingParams(max_tokens=3), SamplingParams(max_tokens=10)])
    assert a == engine.generate([engine.chat("x"), engine.chat("y")],
                                [SamplingParams(max_tokens=3), SamplingParams(max_tokens=10)])
    short, long = engine.generate([engine.chat("x")] * 2, [SamplingParams(max_tokens=3), SamplingParams(max_tokens=10)])
    assert len(long) > len(short) and long.startswith(short.rstrip("\ufffd"))


def test_option_logprobs_are_normalised_log_probabilities(engine):
    lp = engine.option_logprobs([engine.chat("q", "[[")], ["A", "B"])[0]
    assert set(lp) == {"A", "B"} and all(v < 0 for v in lp.values())


def test_one_pass_judge_matches_generate_then_choose(engine):
    prompts = [engine.chat(f"judge pair {i}") for i in range(3)]
    params = [SamplingParams(max_tokens=8, temperature=0.0, seed=i) for i in range(3)]
    fast = engine.generate_then_choose(prompts, params, VERDICT_PREFIX, ["A", "B"], 0.0, [1, 2, 3])
    slow = Engine.generate_then_choose(engine, prompts, params, VERDICT_PREFIX, ["A", "B"], 0.0, [1, 2, 3])
    for (t1, c1), (t2, c2) in zip(fast, slow):
        assert t1 == t2 and c1.choice == c2.choice
        # one pass scores the generated token ids; two passes re-tokenize the text at the reasoning/suffix
        # boundary, which the tiny tokenizer may merge differently: close, not bit-equal
        assert c1.probs["A"] == pytest.approx(c2.probs["A"], abs=0.02)


def test_multi_token_options_are_rejected(engine):
    from judge_ray.errors import UserError

    with pytest.raises(UserError, match="one token"):
        engine.option_logprobs([engine.chat("q")], ["A", "Assistant B is better"])


def test_shared_prefix_scoring_equals_one_pass_per_row(engine):
    """Judge prompts share their instructions: scoring the prefix once gives the logits of the plain path."""
    import torch

    from judge_ray.engines.hf import SHARED_PREFIX_MIN
    from judge_ray.formats.self_taught import pairwise_prompt

    prompts = [engine.chat(pairwise_prompt(q, a, b)) + VERDICT_PREFIX
               for q, a, b in [("2+2?", "4", "five"), ("Capital of France?", "Paris, of course.", "Lyon"),
                               ("Say hi", "", "hello there, how are you today?")]]
    rows = [engine.encode(p, reserve=1) for p in prompts]
    shared = engine.next_token_logits(rows)
    ids, mask = engine._pad(rows)
    with torch.inference_mode():
        plain = engine.model(input_ids=ids, attention_mask=mask).logits[:, -1, :].float()
    assert torch.allclose(shared, plain, atol=1e-4), (shared - plain).abs().max()
    singles = torch.cat([engine.next_token_logits([r]) for r in rows])  # no prefix to share: plain path
    assert torch.allclose(shared, singles, atol=1e-4)
    assert len(rows[0]) > SHARED_PREFIX_MIN  # the case under test did share a prefix
    lp = engine.option_logprobs(prompts, ["A", "B"])
    assert len(lp) == 3 and all(set(d) == {"A", "B"} for d in lp)


def test_shared_prefix_generation_gives_the_left_padded_batchs_text_and_verdicts(engine, monkeypatch):
    """A batch of judge prompts prefills their common instructions once, padded between prefix and tail: the
    same reasoning and verdict per row as the plain left-padded batch, sampled rows included."""
    import judge_ray.engines.hf as hf
    from judge_ray.formats.self_taught import pairwise_prompt

    prompts = [engine.chat(pairwise_prompt(q, a, b))
               for q, a, b in [("2+2?", "4", "five"), ("Capital of France?", "Paris, of course.", "Lyon"),
                               ("Say hi", "hey", "hello there, how are you today?"), ("1+1?", "2", "3")]]
    params = [SamplingParams(max_tokens=10, temperature=t, seed=i) for i, t in enumerate((0.0, 1.0, 0.0, 1.0))]
    rows = [engine.encode(p, reserve=14) for p in prompts]
    assert "past_key_values" in engine._generation_inputs(rows)  # the case under test shares a prefix
    shared = engine.generate_then_choose(prompts, params, VERDICT_PREFIX, ["A", "B"], 0.0, [1, 2, 3, 4])
    monkeypatch.setattr(hf, "SHARED_PREFIX_MIN", 10**9)
    assert "past_key_values" not in engine._generation_inputs(rows)
    plain = engine.generate_then_choose(prompts, params, VERDICT_PREFIX, ["A", "B"], 0.0, [1, 2, 3, 4])
    for (t1, c1), (t2, c2) in zip(shared, plain):
        assert t1 == t2 and c1.choice == c2.choice
        assert c1.probs["A"] == pytest.approx(c2.probs["A"], abs=1e-4)
    assert len({t for t, _ in shared}) > 1  # rows differ: the tails were not mixed up
