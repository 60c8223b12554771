"""The attack suite behind `benchmarks/judge_attacks.py`: every labelled pair of a benchmark judged clean and with
each attack variant on its losing answer (and, for control, on its winning one), in both orders, by each judge,
with the prompt guarded and unguarded; the figures of `attack_metrics` per family, written where a person can
open them:

    <out>/trials.jsonl   one row per (judge, prompt, pair, variant, target): P(target's slot) clean and attacked
    <out>/report.json    {judge: {prompt: {family: {target: figures}}}}, the truncation counts, the settings
    <out>/report.md      the table
    <out>/attacks.png    attack success per family and judge, 95% intervals

Judges are read verdict-alone (`max_tokens=0`: the verdict's probability after the prompt, one forward pass per
request, greedy), the reading the loop trains and evaluates. The same suite runs through a served endpoint
(`HttpJudge`: `/v1/judge` in each order, its verdict and confidence).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from judge_ray.attacks import Variant, attack
from judge_ray.evaluation.attack_metrics import family_report, slot_prob
from judge_ray.stages.seeds import derive_seed

logger = logging.getLogger(__name__)

TARGETS = ("loser", "winner")
PROMPTS = ("guarded", "unguarded")


@dataclass
class Request:
    """One judgment the suite needs: a presentation (answers in their slots) under one prompt."""

    key: tuple  # (pair, variant or "clean", target or "-", order, prompt)
    question: str
    answer_a: str
    answer_b: str
    guard: bool


@dataclass
class Plan:
    """The requests of a suite run and how to read them back into trials."""

    requests: list[Request] = field(default_factory=list)
    trials: list[dict] = field(default_factory=list)  # each with the request keys of its four probabilities


def _other(slot: str) -> str:
    return "B" if slot == "A" else "A"


def labelled_pairs(items: Sequence[dict], source: str) -> list[dict]:
    """The items with an A/B label (ties set aside); none is a UserError naming `source`."""
    from judge_ray.errors import UserError

    pairs = [i for i in items if i.get("label") in ("A", "B")]
    if not pairs:
        raise UserError(f"{source}: no pair with an A or B label to attack (the suite needs labelled pairs)")
    return pairs


def _shown(pair: dict, order: str) -> dict[str, str]:
    """The pair's answers by slot as `order` presents them (BA: swapped)."""
    a, b = pair["answer_a"], pair["answer_b"]
    return {"A": a, "B": b} if order == "AB" else {"A": b, "B": a}


def _clean_key(pair: str, order: str, prompt: str) -> tuple:
    return (pair, "clean", "-", order, prompt)


def plan(pairs: Sequence[dict], variants: Sequence[Variant], prompts: Sequence[str], seed: int) -> Plan:
    """Clean requests for each pair in both orders, and one request per (variant, target, order); a trial per
    (pair, variant, target, prompt) names its two attacked requests and the target's slot in each (its clean
    requests are the pair's)."""
    out = Plan()
    for prompt in prompts:
        guard = prompt == "guarded"
        for p in pairs:
            for order in ("AB", "BA"):
                shown = _shown(p, order)
                out.requests.append(Request(_clean_key(p["id"], order, prompt), p["question"], shown["A"],
                                            shown["B"], guard))
            for v in variants:
                for target in TARGETS:
                    home = p["label"] if target == "winner" else _other(p["label"])  # the target's slot in AB
                    keys = {}
                    for order in ("AB", "BA"):
                        slot = home if order == "AB" else _other(home)  # where the target sits in this order
                        shown = _shown(p, order)
                        shown[slot] = attack(shown[slot], v, slot, _other(slot), seed, f"{p['id']}|{target}")
                        key = (p["id"], v.name, target, order, prompt)
                        out.requests.append(Request(key, p["question"], shown["A"], shown["B"], guard))
                        keys[order] = (key, slot)
                    out.trials.append({"pair": p["id"], "family": v.family, "variant": v.name, "target": target,
                                       "prompt": prompt, "keys": keys})
    return out


def read_trials(suite: Plan, prob_a: dict[tuple, float]) -> list[dict]:
    """The trials with P(the target's slot) per order, clean and attacked, from each request's P(A)."""
    rows = []
    for t in suite.trials:
        row = {k: t[k] for k in ("pair", "family", "variant", "target", "prompt")}
        for order, (key, slot) in t["keys"].items():
            row[f"attacked_{order.lower()}"] = slot_prob(prob_a[key], slot)
            row[f"clean_{order.lower()}"] = slot_prob(prob_a[_clean_key(t["pair"], order, t["prompt"])], slot)
        rows.append(row)
    return rows


class EngineJudge:
    """A model read verdict-alone through the loop's judge stage, in this process (or on an engine pool when it
    asks for GPUs)."""

    def __init__(self, model: str, engine: str, cfg, seed: int):
        from judge_ray.models import resolve_model

        self.path, self.engine, self.cfg, self.seed = resolve_model(model), engine, cfg, seed

    def prob_a(self, requests: Sequence[Request]) -> dict[tuple, float]:
        from judge_ray.distributed.data_stages import run_stage
        from judge_ray.engines.factory import engine_options

        rows = [{"request_id": "|".join(map(str, r.key)), "question": r.question, "answer_a": r.answer_a,
                 "answer_b": r.answer_b, "winner": "", "prompt_guard": r.guard, "max_tokens": 0, "temperature": 0.0,
                 "seed": derive_seed(self.seed, "attack-judge", *r.key)} for r in requests]
        r = self.cfg.ray
        local = 10 ** 9 if not r.actor_gpus else 0  # a CPU judge in this process: no Ray needed
        out = run_stage(rows, "judge", model=self.path, engine=self.engine,
                        engine_options=engine_options(self.cfg.vllm, r, self.seed), stage_kwargs={},
                        pool_size=r.pool_size, batch_size=r.batch_size, actor_cpus=r.actor_cpus,
                        actor_gpus=r.actor_gpus, local_rows=local)
        by_id = {o["request_id"]: float(o["prob_a"]) for o in out}
        return {req.key: by_id["|".join(map(str, req.key))] for req in requests}

    def truncated(self, requests: Sequence[Request]) -> int:
        """Requests whose prompt the engine cuts to its context (it keeps the end, as for any judgment)."""
        from transformers import AutoTokenizer

        from judge_ray.formats.chat import render_chat
        from judge_ray.formats.self_taught import VERDICT_PREFIX, pairwise_prompt

        tok = AutoTokenizer.from_pretrained(self.path)
        limit = self.cfg.vllm.max_model_len
        return sum(len(tok.encode(render_chat(tok, pairwise_prompt(r.question, r.answer_a, r.answer_b, r.guard))
                                  + VERDICT_PREFIX, add_special_tokens=False)) > limit for r in requests)


class HttpJudge:
    """A served judge: `/v1/judge` (mode single) for each presentation; P(A) from its verdict and confidence.
    The endpoint always guards its prompts, so only the guarded prompt is measured through it."""

    def __init__(self, url: str, token: Optional[str] = None, post: Optional[Callable] = None):
        self.url, self.token = url.rstrip("/"), token
        self._post = post

    def prob_a(self, requests: Sequence[Request]) -> dict[tuple, float]:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        out = {}
        with httpx.Client(timeout=120) as client:
            post = self._post or (lambda body: client.post(f"{self.url}/v1/judge", json=body, headers=headers))
            for r in requests:
                resp = post({"question": r.question, "answer_a": r.answer_a, "answer_b": r.answer_b,
                             "mode": "single"})
                if resp.status_code != 200:
                    raise RuntimeError(f"/v1/judge answered {resp.status_code} for {r.key}: {resp.text[:200]}")
                body = resp.json()
                p = float(body["confidence"])
                out[r.key] = p if body["winner"] == "A" else 1.0 - p if body["winner"] == "B" else 0.5
        return out

    def truncated(self, requests: Sequence[Request]) -> int:
        return 0  # the endpoint refuses an over-long input (413) instead of truncating it


def run_suite(judges: Sequence[tuple[str, object]], pairs: Sequence[dict], variants: Sequence[Variant],
              prompts: Sequence[str], seed: int, done: Optional[dict[str, tuple[list[dict], int]]] = None
              ) -> tuple[dict, list[dict], dict[str, int]]:
    """(report {judge: {prompt: {family: {target: figures}}}}, trial rows, truncated requests per judge).
    `done`: {label: (trial rows, truncated)} measured before (`previous_trials`), read back instead of judged."""
    suite = plan(pairs, variants, prompts, seed)
    report: dict = {}
    rows: list[dict] = []
    truncated: dict[str, int] = {}
    for label, judge in judges:
        if label in (done or {}):
            earlier, truncated[label] = done[label]
            trials = [{k: v for k, v in t.items() if k != "judge"} for t in earlier]
            logger.info(f"[attacks] {label}: {len(trials)} trials read back from the earlier run")
        else:
            logger.info(f"[attacks] {label}: {len(pairs)} pairs x {len(variants)} variants x 2 targets x 2 orders "
                        f"x {len(prompts)} prompt(s): {len(suite.requests)} judgments")
            trials = read_trials(suite, judge.prob_a(suite.requests))
            truncated[label] = judge.truncated(suite.requests)
        rows += [{"judge": label, **t} for t in trials]
        report[label] = {prompt: family_report([t for t in trials if t["prompt"] == prompt]) for prompt in prompts}
    return report, rows, truncated


REPORT_HEADER = ["judge", "prompt", "family", "target", "trials", "attack success [95% CI] (n)",
                 "mean shift [95% CI]", "greedy flip AB [95% CI] (n)", "greedy flip BA [95% CI] (n)"]


def _pct(fig: dict) -> str:
    if fig["rate"] is None:
        return f"- (n={fig['n']})"
    lo, hi = fig["ci"]
    return f"{100 * fig['rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] (n={fig['n']})"


def _shift(fig: dict) -> str:
    if fig["mean"] is None:
        return "-"
    lo, hi = fig["ci"]
    return f"{fig['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def report_rows(report: dict) -> list[list[str]]:
    rows = []
    for judge, by_prompt in report.items():
        for prompt, families in by_prompt.items():
            for family, by_target in families.items():
                for target, f in by_target.items():
                    rows.append([judge, prompt, family, target, str(f["trials"]), _pct(f["success"]),
                                 _shift(f["shift"]), _pct(f["flip_ab"]), _pct(f["flip_ba"])])
    return rows


def report_markdown(report: dict, truncated: dict[str, int], settings: dict) -> str:
    from judge_ray.evaluation.report import markdown_table

    lines = [f"# Can an answer talk the judge into a verdict? ({settings['benchmark']})", "",
             f"{settings['pairs']} labelled pairs; variants: {', '.join(settings['variants'])} "
             f"({settings['split']}); seed {settings['seed']}.", "",
             markdown_table(report_rows(report), REPORT_HEADER), "",
             "- target `loser`: the attack is on the losing answer (success moves the verdict to it); `winner`: the "
             "control, the same attack on the winning answer",
             "- attack success: of the trials whose clean verdict (both orders' P averaged) is not the attacked "
             "answer, the share whose attacked verdict is; mean shift: attacked minus clean P(attacked answer)",
             "- greedy flip: the same per order, from that order's greedy verdict",
             "- truncated prompts (cut to the context, keeping the end): "
             + (", ".join(f"{k} {v}" for k, v in truncated.items()) or "none")]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    """Attack success on the losing answer per family, one bar per judge and prompt, 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from judge_ray.storage import save_figure

    series = [(f"{judge} ({prompt})", fams) for judge, by_prompt in report.items()
              for prompt, fams in by_prompt.items()]
    families = sorted({f for _, fams in series for f in fams})
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(families)), 4))
    width = 0.8 / max(1, len(series))
    for k, (name, fams) in enumerate(series):
        xs, ys, errs = [], [], [[], []]
        for i, family in enumerate(families):
            s = fams.get(family, {}).get("loser", {}).get("success")
            if not s or s["rate"] is None:
                continue
            xs.append(i + k * width)
            ys.append(s["rate"])
            errs[0].append(s["rate"] - s["ci"][0])
            errs[1].append(s["ci"][1] - s["rate"])
        ax.bar(xs, ys, width, yerr=errs, capsize=2, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(families))], families, rotation=20)
    ax.set_ylabel("attack success (losing answer)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    ax.set_title("Attack success per family, 95% Wilson intervals")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def write_report(out: Path, report: dict, rows: list[dict], truncated: dict[str, int], settings: dict) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "trials.jsonl").write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    (out / "report.json").write_text(json.dumps({"report": report, "truncated": truncated, "settings": settings},
                                                indent=1))
    text = report_markdown(report, truncated, settings)
    (out / "report.md").write_text(text)
    plot(report, out / "attacks.png")
    return text


SAME_SUITE = ("benchmark", "layout", "pairs", "seed", "variants", "prompts")


def model_fingerprint(model: str) -> str:
    """What identifies a judge's weights: a local directory by its files' names, sizes and modification times (a
    retrained model in the same place is another judge), anything else (an id, a URL) by its name."""
    import hashlib

    path = Path(model)
    if not path.is_dir():
        return model
    files = sorted((f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns)
                   for f in path.rglob("*") if f.is_file())
    return f"{path.resolve()}#{hashlib.sha1(repr(files).encode()).hexdigest()[:12]}"


def previous_trials(folder: Path, settings: dict) -> dict[str, tuple[list[dict], int]]:
    """What an earlier run writing to `folder` measured, per judge label, where it measured the same suite
    (`SAME_SUITE` settings) with the same weights (`settings["models"]`): {label: (trial rows, truncated)}.
    Adding a judge to a comparison then judges only the new one."""
    path = folder / "report.json"
    if not path.is_file() or not (folder / "trials.jsonl").is_file():
        return {}
    old = json.loads(path.read_text())
    before = old.get("settings", {})
    differs = [k for k in SAME_SUITE if before.get(k) != settings.get(k)]
    if differs:
        logger.info(f"[attacks] {folder}: an earlier run of another suite ({', '.join(differs)} differ): "
                    "nothing reused")
        return {}
    rows = [json.loads(line) for line in (folder / "trials.jsonl").read_text().splitlines() if line.strip()]
    out = {}
    for label, fingerprint in (before.get("models") or {}).items():
        if settings.get("models", {}).get(label) == fingerprint:
            out[label] = ([r for r in rows if r.get("judge") == label], old.get("truncated", {}).get(label, 0))
    return out


def choose_pairs(items: Sequence[dict], source: str, limit: Optional[int], seed: int) -> list[dict]:
    """The labelled pairs, or a seeded `limit` of them (the same ones for the same seed)."""
    pairs = labelled_pairs(items, source)
    if limit is not None and limit < len(pairs):
        pairs = sorted(pairs, key=lambda p: derive_seed(seed, "attack-pairs", str(p["id"])))[:limit]
    return pairs


def judges_of(specs: Sequence[str]) -> list[tuple[str, str]]:
    """(label, model) per `--judge`: `label=model`, a model (preset, directory, id), or a self-taught run
    directory (its M_0 … M_T)."""
    from judge_ray.evaluation.runner import self_taught_judges
    from judge_ray.models import check_model
    from judge_ray.storage import location

    out: list[tuple[str, str]] = []
    for spec in specs:
        label, _, model = spec.rpartition("=") if "=" in spec else ("", "", spec)
        run = self_taught_judges(location(model)) if location(model).is_dir() else None
        if run:
            out += [(f"{label or Path(model).name}:M_{i}", m) for i, m in run]
        else:
            check_model(model)
            out.append((label or model, model))
    return out
