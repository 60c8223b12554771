"""Derived seeds and seeded keys: every random choice takes one, and a row's seed or key depends only on the run
seed and the row, never on block layout or worker count. A leaf: the stages and the Ray Data forms both use it."""
from __future__ import annotations

import hashlib
from collections import Counter
from typing import Callable, Iterable, Optional


def derive_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (run seed, stage name, row id, sample index)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def order_key(seed: int, purpose: str, row_id: str) -> str:
    """A seeded sort key for one row (40 hex digits: no two ids share one in practice, unlike a 31-bit seed).
    Splits and slot balancing take the rows with the smallest keys, so they do not depend on block layout."""
    return hashlib.sha1(f"{seed}\x1f{purpose}\x1f{row_id}".encode()).hexdigest()


def nth_smallest(keys: Callable[[], Iterable[str]], n: int) -> Optional[str]:
    """The n-th smallest of the hex keys that `keys()` yields (each call a fresh pass), exactly, holding a
    histogram of 4-digit prefixes and the keys of one prefix rather than n keys: the split of 10^6 pairs
    needs 250k of them. None when n < 1; the largest key when n exceeds their count."""
    if n < 1:
        return None
    buckets: Counter = Counter(k[:4] for k in keys())
    if not buckets:
        return None
    seen = 0
    for prefix in sorted(buckets):
        if seen + buckets[prefix] >= n:
            inside = sorted(k for k in keys() if k[:4] == prefix)
            return inside[n - seen - 1]
        seen += buckets[prefix]
    return max(k for k in keys())
