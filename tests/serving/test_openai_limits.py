"""What a request to the OpenAI-compatible routes may ask for, without Ray or vLLM."""
import pytest

from judge_ray.serving.openai_limits import OpenAILimits, chat_size, prompt_size, request_problem

LIMITS = OpenAILimits(max_tokens=64, max_n=2, max_prompt_chars=100)


def test_prompt_sizes_count_text_and_token_ids():
    assert prompt_size("hello") == 5 and prompt_size(["ab", "cde"]) == 5
    assert prompt_size([1, 2, 3]) == 3 and prompt_size([[1, 2], [3]]) == 3 and prompt_size(None) == 0
    messages = [{"role": "system", "content": "abc"},
                {"role": "user", "content": [{"type": "text", "text": "defg"}, {"type": "image_url", "url": "u"}]},
                {"role": "assistant", "content": None}]
    assert chat_size(messages) == 7 and chat_size(None) == 0


@pytest.mark.parametrize("max_tokens, n, size, setting", [
    (None, None, 0, None), (64, 2, 100, None), (65, None, 0, "serve.openai_max_tokens"),
    (None, 3, 0, "serve.openai_max_n"), (None, None, 101, "serve.openai_max_prompt_chars"),
])
def test_each_limit_is_named_when_broken(max_tokens, n, size, setting):
    problem = request_problem(LIMITS, max_tokens=max_tokens, n=n, size=size)
    assert (problem is None) if setting is None else (setting in problem)
