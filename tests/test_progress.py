"""Stage progress as plain log lines (no terminal) at most every `every_s`, with rate and ETA."""
import io

from judge_ray.progress import StageProgress, eta_text
from tests.helpers import project_lines


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_lines_every_interval_with_rate_and_eta():
    clock = Clock()
    p = StageProgress("judge", 1000, every_s=30, stream=io.StringIO(), clock=clock)
    with project_lines() as lines:
        _updates(p, clock, lines)


def _updates(p, clock, lines):
    clock.now = 10
    p.update(100)
    assert lines == []  # not yet 30 s
    clock.now = 40
    p.update(300)
    assert lines == ["  [judge] 400/1000 rows (40%), 10.0 rows/s, ETA 1m00s"]
    clock.now = 50
    p.update(100)
    assert len(lines) == 1
    clock.now = 100
    p.update(500)
    assert len(lines) == 1  # the stage is done: its summary line says the rest


def test_eta_text():
    assert eta_text(5) == "5s" and eta_text(125) == "2m05s" and eta_text(3 * 3600 + 60) == "3h01m"
