"""Labelled pairs for the loop's evaluation: any benchmark layout the evaluation reads (the project's own
`question/answer_a/answer_b/label` pairs, PandaLM, LLMBar, ...), through the same reader, so a file the
evaluation job scores is a file the loop can evaluate on. `bundled` names the set shipped with the package."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from judge_ray.errors import InputError
from judge_ray.evaluation.benchmarks import Benchmark, read_benchmark

BUNDLED = "bundled"


def bundled_labelled_path() -> Path:
    """66 pairs written for this project: 10 with a clear winner per seed category, winners alternating
    between slots, plus one tie per category."""
    return Path(__file__).resolve().parent / "data" / "labelled_pairs.jsonl"


def labelled_path(spec: str) -> Path:
    return bundled_labelled_path() if spec == BUNDLED else Path(spec)


def labelled_name(spec: str) -> str:
    return BUNDLED if spec == BUNDLED else Path(spec).stem


@dataclass
class LabelledSet:
    bench: Benchmark  # the A/B-labelled items, as the evaluation harness reads them
    ties: int = 0  # tie-labelled items set aside: a pairwise A/B judge cannot express a tie

    @property
    def skipped(self) -> list[dict]:  # unusable rows, with reasons
        return self.bench.skipped


def load_labelled_pairs(spec: str | Path, seed: int = 0) -> LabelledSet:
    path = labelled_path(str(spec))
    bench = read_benchmark(str(path), seed=seed)
    if bench.kind != "pairs":
        raise InputError(f"labelled eval file {path} is a {bench.kind} benchmark ({bench.layout}); the loop's labelled "
                         "sets are pairs: evaluate it with jobs/evaluate.py")
    items = [item for item in bench.items if item["label"] != "tie"]
    if not items:
        raise InputError(f"labelled eval file has no A/B-labelled pairs: {path}")
    return LabelledSet(replace(bench, items=items), len(bench.items) - len(items))
