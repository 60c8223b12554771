"""What every job entry point shares: `[--config FILE] [--verbose] [key=value ...]`, user errors as one line."""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional, Sequence

from judge_ray.errors import UserError
from judge_ray.logs import configure

USAGE = "usage: python {prog} [--config FILE] [--verbose] [key=value ...]"


def parse_args(argv: Sequence[str], prog: str, schema: Optional[type] = None) -> tuple[str | None, list[str]]:
    """`--config FILE` and `key=value` overrides; `--verbose` shows the project's debug lines (as
    `log.level=debug`); `--help` prints every config key of `schema` with its default and meaning, then exits."""
    config, overrides, args = None, [], list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            if schema is None:
                print(USAGE.format(prog=prog))
            else:
                from judge_ray.config import default_config_path
                from judge_ray.config_help import help_text

                print(help_text(schema, prog, default_config_path(schema)))
            raise SystemExit(0)
        if arg == "--config":
            if not args:
                raise UserError("--config needs a file")
            config = args.pop(0)
        elif arg.startswith("--config="):
            config = arg.split("=", 1)[1]
        elif arg in ("-v", "--verbose"):
            configure(verbose=True)
        elif arg.startswith("-"):
            raise UserError(f"unknown option {arg}; {USAGE.format(prog=prog)}")
        else:
            overrides.append(arg)
    return config, overrides


def load_job_config(path: Optional[str], overrides: list[str], schema: type) -> Any:
    """A job's config, validated, with its `log.level` applied (`--verbose` given on the command line wins)."""
    from judge_ray.config import load_config
    from judge_ray.logs import verbose

    cfg = load_config(path, overrides, schema)
    if not verbose():
        configure(level=str(cfg.log.level))
    return cfg


def main_guard(fn: Callable[[], Any]) -> int:
    """Run a job with the project's logging configured (`logs.configure`); a UserError (and Ctrl-C) ends it
    with one line on stderr and a non-zero exit code."""
    configure()
    try:
        fn()
        return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `--help | head`: the reader left; nothing to report
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the interpreter flushes stdout again at exit
        return 0
