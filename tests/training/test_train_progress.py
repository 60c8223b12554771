"""Rank 0's progress lines reach the driver's log once each, through a file (no Ray here)."""
import time

from judge_ray.training.train_progress import ProgressFile, TailProgress
from tests.helpers import project_lines


def test_each_line_rank_0_appends_is_logged_once_and_an_earlier_runs_lines_are_not(tmp_path):
    path = tmp_path / "run.progress"
    say = ProgressFile(str(path))
    say("[train] from the run before")
    with project_lines() as lines:
        with TailProgress(path, every_s=0.05):
            say("[train] model loaded")
            time.sleep(0.2)
            say("[train] epoch 1/1 step 1\nloss 2.0")  # one line, whatever the text holds
            with open(path, "a") as f:
                f.write("[train] half a li")  # still being written when the fit ends: not shown half
    assert lines == ["[train] model loaded", "[train] epoch 1/1 step 1 loss 2.0"]
    ProgressFile(None)("rank 1 writes nothing")
    assert path.read_text().count("\n") == 3
