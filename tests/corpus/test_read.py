"""Corpora as published, read through Ray Data into a run's corpus folder: every layout and format, odd rows
dropped and counted (never fatal), exact dedup, the seeded cap, and one-line errors for unusable corpora."""
import json

import pandas as pd
import pytest

from judge_ray.corpus.layouts import (DUPLICATE, NO_TEXT, NO_USER_TURN, NOT_TEXT, OTHER_LANGUAGE, TOO_SHORT,
                                     normalise)
from judge_ray.corpus.read import BROKEN, CorpusFilters, prepare_corpus
from judge_ray.errors import InputError, UserError

pytestmark = pytest.mark.slow  # starts Ray


def read_instructions(out_dir):
    """The prepared instructions in their seeded order (rank), as the next stage reads them."""
    return pd.read_parquet(out_dir / "instructions").sort_values("rank").to_dict("records")


def turn(role, content):
    return {"role": role, "content": content}


def wildchat_rows(n):
    """WildChat-like: `conversation` with a system turn first sometimes, `language`, repeated hashes."""
    rows = [{"conversation_hash": f"h{i % (n - 3)}", "language": "English" if i % 5 else "Spanish",
             "conversation": [turn("user", f"Question number {i}: how do I sort a list?"), turn("assistant", "...")]}
            for i in range(n)]
    rows += [{"conversation_hash": "odd1", "language": "English", "conversation": [turn("assistant", "no user")]},
             {"conversation_hash": "odd2", "language": "English", "conversation": [turn("user", "")]},
             {"conversation_hash": "odd3", "language": "English", "conversation": [turn("user", 12345)]},
             {"conversation_hash": "dup", "language": "English",
              "conversation": [turn("user", "QUESTION NUMBER 1:  how do I sort a list?")]}]
    return rows


# local_bytes: 0 reads through Ray Data; 10**7 reads these small files in the driver (`_Here`), alike.
@pytest.mark.parametrize("local_bytes", [0, 10**7])
def test_a_chat_corpus_in_shards_with_odd_rows(tmp_path, ray_cluster, local_bytes):
    rows = wildchat_rows(40)
    shards = tmp_path / "wildchat"
    shards.mkdir()
    for k in range(3):
        with open(shards / f"part-{k}.jsonl", "w") as f:
            for r in rows[k::3]:
                f.write(json.dumps(r) + "\n")
            f.write("{broken json\n" if k == 0 else "")
    stats = prepare_corpus(str(shards / "part-*.jsonl"), CorpusFilters(language="en", min_chars=5), tmp_path / "c",
                           local_bytes=local_bytes)
    english = [r for r in rows[:40] if r["language"] == "English"]
    assert stats["layout"] == "chat" and stats["read"] == len(rows) + 1
    assert stats["dropped"] == {BROKEN: 1, NO_USER_TURN: 1, NO_TEXT: 1, NOT_TEXT: 1, OTHER_LANGUAGE: 8,
                                DUPLICATE: 1}
    assert stats["kept"] == len(english)
    kept = read_instructions(tmp_path / "c")
    assert len({r["id"] for r in kept}) == len(kept) == len(english)  # every usable text exactly once
    assert {normalise(r["instruction"]) for r in kept} == {normalise(r["conversation"][0]["content"]) for r in english}
    assert (tmp_path / "c" / "stats.json").is_file() and not (tmp_path / "c" / "annotated").exists()


def test_formats_and_layouts_read_alike(tmp_path, ray_cluster):
    texts = [f"Explain idea {i} in two sentences." for i in range(12)]
    share = [{"id": i, "conversations": [{"from": "human", "value": t}, {"from": "gpt", "value": "ok"}]}
             for i, t in enumerate(texts)]
    (tmp_path / "share.json").write_text(json.dumps(share))
    pd.DataFrame({"messages": [[turn("system", "s"), turn("user", t)] for t in texts]}).to_parquet(
        tmp_path / "chat.parquet")
    (tmp_path / "custom.jsonl").write_text("\n".join(json.dumps({"q": t, "a": "x"}) for t in texts) + "\n")
    for name, filters, layout in (("share.json", CorpusFilters(), "sharegpt"),
                                  ("chat.parquet", CorpusFilters(), "chat"),
                                  ("custom.jsonl", CorpusFilters(instruction_field="q"), "field:q")):
        stats = prepare_corpus(str(tmp_path / name), filters, tmp_path / f"out-{name}")
        assert stats["kept"] == 12 and stats["layout"] == layout, (name, stats)
        assert sorted(r["instruction"] for r in read_instructions(tmp_path / f"out-{name}")) == sorted(texts)
        # read in the driver instead (a small corpus of local files): the same rows, ids and ranks
        here = prepare_corpus(str(tmp_path / name), filters, tmp_path / f"here-{name}", local_bytes=10**7)
        assert here == {**stats}
        assert read_instructions(tmp_path / f"here-{name}") == read_instructions(tmp_path / f"out-{name}")


def test_the_cap_is_seeded_and_a_datasets_directory_reads(tmp_path, ray_cluster):
    import datasets

    texts = [f"Task {i}: write a haiku about the number {i}." for i in range(50)]
    datasets.Dataset.from_dict({"prompt": texts}).save_to_disk(str(tmp_path / "hf"))
    a = prepare_corpus(str(tmp_path / "hf"), CorpusFilters(max_instructions=10, seed=1), tmp_path / "a")
    prepare_corpus(str(tmp_path / "hf"), CorpusFilters(max_instructions=10, seed=1), tmp_path / "b")
    prepare_corpus(str(tmp_path / "hf"), CorpusFilters(max_instructions=10, seed=2), tmp_path / "c")
    assert a["kept"] == 10 and a["capped"] == 40
    ids = [[r["id"] for r in read_instructions(tmp_path / x)] for x in "abc"]
    assert ids[0] == ids[1] != ids[2]
    again = prepare_corpus(str(tmp_path / "hf"), CorpusFilters(max_instructions=10, seed=1), tmp_path / "a")
    assert again == a  # finished: read back, not recomputed


def test_unusable_corpora_are_one_line_errors(tmp_path, ray_cluster):
    (tmp_path / "qa.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    with pytest.raises(InputError, match="no instruction field found.*question, answer"):
        prepare_corpus(str(tmp_path / "qa.jsonl"), CorpusFilters(), tmp_path / "o1")
    (tmp_path / "short.jsonl").write_text('{"prompt": "hi"}\n{"prompt": "yo"}\n')
    with pytest.raises(UserError, match=f"no instruction is left.*2 {TOO_SHORT}"):
        prepare_corpus(str(tmp_path / "short.jsonl"), CorpusFilters(min_chars=10), tmp_path / "o2")
    with pytest.raises(InputError, match="no such file"):
        prepare_corpus(str(tmp_path / "none" / "*.parquet"), CorpusFilters(), tmp_path / "o3")
