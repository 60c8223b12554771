"""An engine of one's own by import path (`engine=package.module:ClassName`), beside the built-in kinds."""
import pytest

from judge_ray.config import RayConfig, VllmConfig, load_config
from judge_ray.engines.base import EngineOptions
from judge_ray.config import is_import_path
from judge_ray.engines.factory import engine_options, make_engine, resolve_engine_kind
from judge_ray.errors import UserError
from tests.fakes import PathEngine


def test_an_import_path_builds_that_class_with_the_model_path_and_the_options():
    options = engine_options(VllmConfig(max_model_len=512), RayConfig(batch_size=3), seed=7)
    engine = make_engine("tests.fakes:PathEngine", "MARKER", options)
    assert isinstance(engine, PathEngine) and engine.model_path == "MARKER"
    assert engine.options == EngineOptions(max_model_len=512, batch_size=3, seed=7)
    assert make_engine("tests.fakes:PathEngine", "M").options == EngineOptions()  # the defaults when none given
    assert resolve_engine_kind("tests.fakes:PathEngine") == "tests.fakes:PathEngine"
    assert not is_import_path("transformers") and not is_import_path("a:") and not is_import_path(":B")


def test_config_accepts_import_paths_but_not_unknown_kinds():
    assert load_config(None, ["engine=tests.fakes:PathEngine"]).engine == "tests.fakes:PathEngine"
    with pytest.raises(UserError, match="engine='bogus' must be one of"):
        load_config(None, ["engine=bogus"])
