"""An engine of one's own by import path (`engine=package.module:ClassName`), beside the built-in kinds."""
import pytest

from judge_ray.config import load_config
from judge_ray.engines.factory import is_import_path, make_engine, resolve_engine_kind
from judge_ray.errors import UserError
from tests.fakes import FakeEngine


def test_an_import_path_builds_that_class_with_the_model_path():
    engine = make_engine("tests.fakes:FakeEngine", "MARKER")
    assert isinstance(engine, FakeEngine) and engine.good_word == "MARKER"
    assert resolve_engine_kind("tests.fakes:FakeEngine") == "tests.fakes:FakeEngine"
    assert not is_import_path("transformers") and not is_import_path("a:") and not is_import_path(":B")


def test_config_accepts_import_paths_but_not_unknown_kinds():
    assert load_config(None, ["engine=tests.fakes:FakeEngine"]).engine == "tests.fakes:FakeEngine"
    with pytest.raises(UserError, match="engine='bogus' must be one of"):
        load_config(None, ["engine=bogus"])
