from judge_ray.formats.chat import render_chat
from judge_ray.formats.swap import swap_labels


def test_swap_exchanges_whole_mentions_and_verdicts():
    text = "Assistant A is vague; Assistant B cites sources. Assistant A's tone is fine. [[B]]"
    assert swap_labels(text, ("Assistant A", "Assistant B")) == (
        "Assistant B is vague; Assistant A cites sources. Assistant B's tone is fine. [[A]]")


def test_swap_numbered_assistants_and_is_an_involution():
    text = "Assistant 1 scores 8; Assistant 2 scores 6; Assistant 10 is not a slot."
    swapped = swap_labels(text, ("Assistant 1", "Assistant 2"))
    assert swapped == "Assistant 2 scores 8; Assistant 1 scores 6; Assistant 10 is not a slot."
    assert swap_labels(swapped, ("Assistant 1", "Assistant 2")) == text


class _Tok:
    chat_template = "x"

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert not tokenize and add_generation_prompt
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"


class _NoTemplate:
    chat_template = None


def test_render_chat_uses_the_model_template_and_prefix():
    assert render_chat(_Tok(), "hi", "So [[") == "<user>hi<assistant>So [["
    assert render_chat(_Tok(), "hi", system="sys") == "<system>sys<user>hi<assistant>"


def test_render_chat_without_template_falls_back():
    assert render_chat(_NoTemplate(), "hi", "x") == "User: hi\nAssistant: x"
