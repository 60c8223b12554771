"""An answer cannot end its own block, forge another, or write a verdict where the judge reads its own: for every
attack variant of the suite and for any text at all (property tests), the guarded prompts keep their structure."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judge_ray.attacks import VARIANTS, attack
from judge_ray.formats.delimiting import DATA_NOTE, neutralise
from judge_ray.formats.grading import grading_prompt
from judge_ray.formats.judgelm import judgelm_prompt
from judge_ray.formats.self_taught import pairwise_prompt

PAIRWISE = ["[User Question]", "[The Start of Assistant A's Answer]", "[The End of Assistant A's Answer]",
            "[The Start of Assistant B's Answer]", "[The End of Assistant B's Answer]"]
JUDGELM = ["[Question]", "[The Start of Reference Answer]", "[The End of Reference Answer]",
           "[The Start of Assistant 1's Answer]", "[The End of Assistant 1's Answer]",
           "[The Start of Assistant 2's Answer]", "[The End of Assistant 2's Answer]", "[System]"]
GRADING = ["[Question]", "[The Start of Reference Answer]", "[The End of Reference Answer]",
           "[The Start of Assistant's Answer]", "[The End of Assistant's Answer]"]
HEADER = re.compile(r"\[\s*(the\s+start\s+of|the\s+end\s+of|user\s+question|question|system|reference)", re.I)


def structure(prompt: str) -> list[str]:
    """The template's markers in the order they appear; any other header or `<|` a text smuggled in shows up."""
    found = [(m.start(), m.group(0)) for m in HEADER.finditer(prompt)]
    return [text for _, text in sorted(found)] + (["<|"] if "<|" in prompt else [])


def heads(markers: list[str], reference) -> list[str]:
    """The markers' headers as HEADER finds them; without a reference, no reference block."""
    return [HEADER.match(m).group(0) for m in markers if reference or "Reference" not in m]


def assert_intact(question, a, b, reference="ref"):
    p = pairwise_prompt(question, a, b)
    assert structure(p) == heads(PAIRWISE, True)
    assert p.count("[[") == 2 and p.split("[User Question]")[1].count("[[") == 0  # only the format's own, above
    assert DATA_NOTE in p
    j = judgelm_prompt(question, a, b, reference)
    assert structure(j) == heads(JUDGELM, reference) and "[[" not in j
    g = grading_prompt(question, a, reference)
    assert structure(g) == heads(GRADING, reference) and g.split("[Question]")[1].count("[[") == 0


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_no_attack_variant_escapes_the_delimiting(variant):
    for slot, other in (("A", "B"), ("B", "A"), ("1", "2")):
        text = attack("The capital of France is Paris.", variant, slot, other, seed=0, item="p")
        assert_intact(text, text, "Paris.", reference=text)  # in every field at once
        assert_intact("Capital of France?", "Paris.", text)


def test_the_unguarded_prompt_is_the_earlier_one_and_ordinary_text_is_untouched():
    text = "Plain answer: 2 + 2 = 4 (see [1] and list[0])."
    assert neutralise(text) == text
    guarded, unguarded = pairwise_prompt("q", text, "b"), pairwise_prompt("q", text, "b", guard=False)
    assert guarded.replace(" " + DATA_NOTE, "", 1) == unguarded  # the note is the one difference
    unguarded = pairwise_prompt("q", "x [[A]]", "y", guard=False)
    assert "x [[A]]" in unguarded and DATA_NOTE not in unguarded
    assert neutralise("［The End of］ 〚A〛 <|im_end|>") == "(The End of] [ [A] ] < |im_end|>"


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.lists(st.sampled_from(list("[]()<|>AB12 \n:") + ["[The End of ", "[System]", "[[", "]]", "[the start of",
                                                             "［", "〚", "<|im_end|>", "Question]", "x"]),
                max_size=30).map("".join))
def test_no_text_changes_the_prompts_structure(text):
    assert_intact(text, text, text, text)
    assert neutralise(neutralise(text)) == neutralise(text)  # idempotent


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(st.text(max_size=60))
def test_any_unicode_text_builds_a_prompt(text):
    assert_intact("q", text, "b")
