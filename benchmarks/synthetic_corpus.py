"""A WildChat-like chat corpus of any size, written for this project (no download): shards of JSONL with
`conversation_hash`, `language` and `conversation` turns, and the mess real corpora have (system turns first,
an assistant-only conversation, empty or non-text user turns, other languages, repeated texts).

    .venv/bin/python benchmarks/synthetic_corpus.py --rows 20000 --out data/chat20k   # 4 shards
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

TASKS = ["Explain {t} to a beginner in three sentences.", "Write a short poem about {t}.",
         "What are the pros and cons of {t}?", "Give me a step-by-step plan to learn {t}.",
         "Write a Python function related to {t} and explain it.", "Summarise the history of {t} briefly.",
         "How would you test an idea about {t}? Be concrete.", "Compare {t} with a close alternative.",
         "What is a common misconception about {t}?", "Solve a small math problem involving {t}, showing steps."]
TOPICS = ["binary search", "photosynthesis", "compound interest", "the French revolution", "neural networks",
          "sourdough bread", "plate tectonics", "public key cryptography", "marathon training", "jazz harmony",
          "garbage collection", "supply and demand", "black holes", "vaccines", "the Pythagorean theorem",
          "SQL joins", "climate models", "chess openings", "the stock market", "recursion", "probability",
          "linked lists", "the immune system", "renewable energy", "Shakespeare's sonnets", "git branching"]


def conversation(i: int, rng: random.Random, previous: str = "") -> dict:
    text = rng.choice(TASKS).format(t=rng.choice(TOPICS)) + f" (case {i})"
    turns = [{"role": "user", "content": text}, {"role": "assistant", "content": "..."}]
    kind = i % 50
    if kind == 1:
        turns.insert(0, {"role": "system", "content": "You are a helpful assistant."})
    elif kind == 2:
        turns = [{"role": "assistant", "content": "Hello! How can I help?"}]
    elif kind == 3:
        turns[0]["content"] = ""
    elif kind == 4:
        turns[0]["content"] = 404
    elif kind == 9 and previous:
        turns[0]["content"] = "  " + previous.upper()  # the previous instruction again, case and spaces aside
    language = "Spanish" if kind in (6, 7) else "English"
    return {"conversation_hash": f"{i:08x}", "language": language, "turn": 1, "conversation": turns}


def write_corpus(rows: int, out: Path, shards: int = 4, seed: int = 0) -> Path:
    """Writes `rows` conversations into `shards` JSONL files under `out`, streaming (nothing held)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = [open(out / f"part-{k:03d}.jsonl", "w") for k in range(shards)]
    try:
        previous = ""
        for i in range(rows):
            row = conversation(i, rng, previous)
            files[i % shards].write(json.dumps(row) + "\n")
            content = row["conversation"][0]["content"] if row["conversation"][0]["role"] == "user" else ""
            previous = content if isinstance(content, str) else ""
    finally:
        for f in files:
            f.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--shards", type=int, default=4)
    args = ap.parse_args()
    print(write_corpus(args.rows, Path(args.out), args.shards))


if __name__ == "__main__":
    main()
