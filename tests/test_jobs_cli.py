"""The job's user-facing errors: one line on stderr, non-zero exit, nothing presented as a result. The jobs run
in this process (`job_here`: their `__main__` path, no interpreter start), except the few that need a real
one: an error and `--help` through the script itself, and a reader that closes the pipe."""
import subprocess

import pytest

from tests.helpers import REPO, assert_one_line_error, job_here
from tests.helpers import run_job as job_process


@pytest.fixture()
def run_job(capsys):
    return lambda *args: job_here(capsys, "self_taught.py", *args)


def test_unknown_config_key(run_job, tmp_path):
    assert_one_line_error(run_job("judge.smaples=3", f"run.root={tmp_path}"), "smaples")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow  # a real process: the script's own entry point, imports and exit code
def test_an_error_and_help_from_the_script_itself(tmp_path):
    assert_one_line_error(job_process("self_taught.py", "judge.smaples=3", f"run.root={tmp_path}"), "smaples")
    assert not list(tmp_path.iterdir())
    proc = job_process("evaluate.py", "--help", timeout=120)
    assert proc.returncode == 0 and "usage: python jobs/evaluate.py" in proc.stdout


def test_malformed_override_and_unknown_option(run_job, tmp_path):
    assert_one_line_error(run_job("iterations"), "key=value")
    assert_one_line_error(run_job("--frobnicate"), "--frobnicate")


def test_missing_model_path(run_job, tmp_path):
    assert_one_line_error(run_job("model=/nonexistent/judge", f"run.root={tmp_path}"), "/nonexistent/judge")
    assert not list(tmp_path.iterdir())


def test_a_missing_corpus_is_one_line_before_anything_starts(run_job, tmp_path):
    assert_one_line_error(run_job("model=tiny", f"data.instructions={tmp_path}/nope/*.jsonl",
                                   f"run.root={tmp_path}/runs"), "no such file, folder or glob")
    assert_one_line_error(run_job("model=tiny", "data.max_instructions=0", f"run.root={tmp_path}/runs"),
                           "data.max_instructions=0")
    assert not (tmp_path / "runs").exists()


def test_finished_run_directory_is_refused(run_job, tmp_path):
    run = tmp_path / "runs" / "done"
    run.mkdir(parents=True)
    (run / "summary.md").write_text("finished\n")
    proc = run_job("model=tiny", f"run.root={tmp_path / 'runs'}", "run.name=done")
    assert_one_line_error(proc, "already holds a finished run", "run.overwrite=true")
    assert (run / "summary.md").read_text() == "finished\n"


def test_help(run_job):
    proc = run_job("--help")
    assert proc.returncode == 0 and "key=value" in proc.stdout


def test_help_on_every_job_prints_its_config_keys(capsys):
    for job, key in (("self_taught.py", "judge.samples = "), ("evaluate.py", "policy.predicted_ties = miss"),
                     ("train_judge.py", "recipe.swap_ratio = "), ("serve.py", "serve.max_batch_size = ")):
        proc = job_here(capsys, job, "--help")
        assert proc.returncode == 0, proc.stderr
        assert f"usage: python jobs/{job}" in proc.stdout and key in proc.stdout
        line = next(line for line in proc.stdout.splitlines() if key in line)
        assert len(line.split(key, 1)[1].split(None, 1)) == 2, line  # a default and a meaning


@pytest.mark.slow  # a real process and a real pipe
def test_help_into_a_closed_pipe_exits_quietly():
    """`python jobs/self_taught.py --help | head -3`: the reader has left; no traceback, exit 0."""
    import sys

    proc = subprocess.Popen([sys.executable, str(REPO / "jobs" / "self_taught.py"), "--help"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # gone before the job (still importing) writes a byte
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err
