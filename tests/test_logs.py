"""What a job prints: the project's lines once each; Ray's forwarded worker output reduced to the project's
marked warnings and errors (no Ray started here: the handlers are called with the data Ray passes them)."""
import logging

import pytest

from judge_ray import logs
from tests.helpers import project_lines


def test_worker_output_keeps_the_projects_marked_warnings_once_and_the_raylets_memory_warnings():
    forward = logs._WorkerLines()
    data = {"pid": 7, "actor_name": "EngineStage", "lines": [
        "Setting up process group for: env:// [rank=0, world_size=2]",
        "Traceback (most recent call last):", "InterruptedError",
        f"{logs.WORKER_MARK}WARNING] the engine dropped 2 empty prompts",
        f"{logs.WORKER_MARK}ERROR] the engine could not read a verdict"]}
    with project_lines(logging.DEBUG) as lines:
        forward(data)
        forward({**data, "pid": 8})  # the same warning from another actor: once
        forward({"pid": "raylet", "lines": ["WARNING: 8 PYTHON worker processes have been started",
                                            "Memory on the node was 95% full: a worker was killed"]})
    assert lines == ["the engine dropped 2 empty prompts", "the engine could not read a verdict",
                     "(raylet) Memory on the node was 95% full: a worker was killed"]


def test_a_worker_marks_its_warnings_and_keeps_its_info_lines(capsys):
    project = logging.getLogger("judge_ray")
    before = (list(project.handlers), project.level, project.propagate)
    try:
        logs.configure_worker()
        logs.configure_worker()  # idempotent: one handler
        log = logging.getLogger("judge_ray.stages.judging")
        log.info("judged 16 rows")
        log.warning("2 prompts were over the context")
        err = capsys.readouterr().err
        assert err == f"{logs.WORKER_MARK}WARNING] 2 prompts were over the context\n"
    finally:
        project.handlers[:], project.level, project.propagate = before[0], before[1], before[2]


def test_rays_harmless_notices_are_dropped_and_its_other_errors_still_print(monkeypatch):
    import ray._private.worker as ray_worker

    printed = []
    monkeypatch.setattr(ray_worker, "print_to_stdstream", lambda data, ignore_prefix: printed.append(data["lines"]))
    logs._filter_ray_notices()
    ray_worker.print_to_stdstream({"pid": "raylet", "lines": [
        "WARNING: 22 PYTHON worker processes have been started on node: abc"]}, ignore_prefix=False)
    ray_worker.print_to_stdstream({"pid": "raylet", "lines": ["A worker died or was killed while executing a task",
                                                              "WARNING: 8 PYTHON worker processes have been "
                                                              "started on node: abc"]}, ignore_prefix=False)
    assert printed == [["A worker died or was killed while executing a task"]]


def test_the_jobs_lines_are_plain_and_warnings_say_so(capsys):
    project = logging.getLogger("judge_ray")
    before = (list(project.handlers), project.level, project.propagate)
    try:
        logs.configure()
        logging.getLogger("judge_ray.pipeline").info("[run] starting")
        logging.getLogger("judge_ray.pipeline").debug("hidden by default")
        logging.getLogger("judge_ray.pipeline").warning("a corpus row was skipped")
        assert capsys.readouterr().out == "[run] starting\nwarning: a corpus row was skipped\n"
        logs.configure(verbose=True)
        logging.getLogger("judge_ray.pipeline").debug("shown with --verbose")
        assert capsys.readouterr().out == "debug: shown with --verbose\n"
    finally:
        logs.configure(verbose=False)
        project.handlers[:], project.level, project.propagate = before[0], before[1], before[2]


@pytest.mark.parametrize("argv, shown", [
    ([], ["[run] progress", "warning: a row was skipped"]),
    (["log.level=warning"], ["warning: a row was skipped"]),
    (["log.level=debug"], ["debug: detail", "[run] progress", "warning: a row was skipped"]),
    (["--verbose", "log.level=error"], ["debug: detail", "[run] progress", "warning: a row was skipped"]),
    (["log.level=error"], []),
])
def test_log_level_from_config_and_verbose_on_the_command_line(capsys, argv, shown):
    from judge_ray.cli import load_job_config, parse_args
    from judge_ray.config import SelfTaughtConfig

    project = logging.getLogger("judge_ray")
    before = (list(project.handlers), project.level, project.propagate)
    try:
        logs.configure()  # as main_guard does first
        path, overrides = parse_args(argv, "jobs/self_taught.py")
        cfg = load_job_config(path, overrides, SelfTaughtConfig)
        assert logs.verbose() == ("debug: detail" in shown)
        log = logging.getLogger("judge_ray.pipeline")
        log.debug("detail")
        log.info("[run] progress")
        log.warning("a row was skipped")
        assert capsys.readouterr().out.splitlines() == shown
        assert str(cfg.log.level) in ("info", "warning", "debug", "error")
    finally:
        logs.configure()
        project.handlers[:], project.level, project.propagate = before[0], before[1], before[2]


def test_an_unknown_log_level_is_a_one_line_config_error():
    from judge_ray.config import ConfigError, SelfTaughtConfig, load_config

    with pytest.raises(ConfigError, match="log.level") as err:
        load_config(None, ["log.level=loud"], SelfTaughtConfig)
    assert "\n" not in str(err.value)
