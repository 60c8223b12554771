"""`--help` for every job, generated from the config schema itself: each key, its default (as the job's
default file under conf/ sets it) and its one-line meaning (the comment on the dataclass field). Why from
the schema: a hand-written option list drifts from the code; this one cannot, and a test fails when a new
field comes without its meaning."""
from __future__ import annotations

import dataclasses
import inspect
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

_FIELD = re.compile(r"^\s+(\w+)\s*:[^#]*#\s*(.+?)\s*$")


@lru_cache(maxsize=None)
def field_comments(cls: type) -> dict[str, str]:
    """{field name: the comment on its line} from the dataclass's source and its bases' (a section that
    inherits the sampling keys, say, keeps their meaning unless it restates them)."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        comments.update({m.group(1): m.group(2) for line in source.splitlines() if (m := _FIELD.match(line))})
    return comments


def _section_doc(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return "" if doc.startswith(cls.__name__ + "(") else doc.splitlines()[0]


def schema_keys(schema: type, values: Any = None, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(dotted key, default, meaning) for every leaf key; `values` overrides the schema defaults."""
    values = values if values is not None else schema()
    comments = field_comments(schema)
    out: list[tuple[str, Any, str]] = []
    for f in dataclasses.fields(schema):
        value = getattr(values, f.name)
        if dataclasses.is_dataclass(value):
            out += schema_keys(type(value), value, f"{prefix}{f.name}.")
        else:
            out.append((f"{prefix}{f.name}", value, comments.get(f.name, "")))
    return out


def sections(schema: type, prefix: str = "") -> list[tuple[str, str]]:
    out, defaults = [], schema()
    for f in dataclasses.fields(schema):
        value = getattr(defaults, f.name)
        if dataclasses.is_dataclass(value):
            out.append((f"{prefix}{f.name}", _section_doc(type(value))))
            out += sections(type(value), f"{prefix}{f.name}.")
    return out


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value)


def help_text(schema: type, prog: str, default_file: Optional[Path]) -> str:
    """The whole --help page: usage, then one line per key (key = default  meaning), grouped by section."""
    values = schema()
    if default_file and default_file.is_file():  # the defaults a plain run uses: the schema under its conf file
        values = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.load(default_file)))
    keys = schema_keys(schema, values)
    docs = dict(sections(schema))
    width = min(44, max(len(f"{k} = {_show(v)}") for k, v, _ in keys))
    lines = [f"usage: python {prog} [--config FILE] [--verbose] [key=value ...]", "",
             f"Config keys (defaults as {default_file.name if default_file else 'the schema'} sets them; "
             "override any as key=value; an unknown key is an error):"]
    section = None
    for key, value, meaning in keys:
        head = key.rsplit(".", 1)[0] if "." in key else ""
        if head != section:
            section = head
            lines.append("")
            if head:
                lines.append(f"{head}:" + (f"  {docs[head]}" if docs.get(head) else ""))
        left = f"  {key} = {_show(value)}"
        lines.append(f"{left:<{width + 4}}  {meaning}" if meaning else left)
    return "\n".join(lines)
