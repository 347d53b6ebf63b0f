"""The sweeper's settings: one dataclass in the ConfigStore is the only place their defaults live."""

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from genarch.sweeper.config import SweeperSettings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "stages.md"


def _text(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def test_the_plugin_class_writes_no_default_of_its_own():
    from hydra_plugins.genarch_sweeper.genarch_sweeper import NevergradSweeper

    params = inspect.signature(NevergradSweeper.__init__).parameters
    assert [p.kind for name, p in params.items() if name != "self"] == [inspect.Parameter.VAR_KEYWORD]


def test_the_configstore_node_is_the_dataclass():
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    import hydra_plugins.genarch_sweeper.genarch_sweeper  # noqa: F401 - registers the node

    node = ConfigStore.instance().load("hydra/sweeper/genarch.yaml").node
    defaults = OmegaConf.to_container(OmegaConf.structured(SweeperSettings))
    assert OmegaConf.to_container(node) == defaults
    assert defaults["_target_"] == "hydra_plugins.genarch_sweeper.genarch_sweeper.NevergradSweeper"
    assert not (Path(__file__).resolve().parents[1] / "genarch" / "conf" / "hydra" / "sweeper").exists()


def test_the_docs_table_states_the_dataclass_defaults():
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOCS.read_text(encoding="utf-8"), flags=re.M))
    fields = {f.name: f for f in dataclasses.fields(SweeperSettings) if f.name not in ("_target_", "params")}
    assert set(fields) <= set(rows), f"settings missing from docs/stages.md: {sorted(set(fields) - set(rows))}"
    defaults = SweeperSettings()
    for name in fields:
        assert rows[name].strip().strip("`") == _text(getattr(defaults, name)), name


@pytest.mark.parametrize("given, expected", [
    ({"warm_start": "multirun/a"}, ["multirun/a"]),     # one string from the command line: a list of one
    ({"warm_start": None}, []),
    ({"budget": 5, "params": None}, {}),
])
def test_settings_from_hydra(given, expected):
    settings = SweeperSettings.from_hydra(given)
    key = next(iter(given)) if "warm_start" in given else "params"
    assert getattr(settings, key) == expected


def test_task_rules_must_name_task_rules():
    from genarch.sweeper.task import load_task_rules

    with pytest.raises(ValueError, match="hydra.sweeper.task_rules=collections.OrderedDict: not a subclass"):
        load_task_rules("collections.OrderedDict")
    with pytest.raises(ValueError, match="hydra.sweeper.task_rules=no.such.Rules: cannot import"):
        load_task_rules("no.such.Rules")
    assert type(load_task_rules(None)).__name__ == "TaskRules"


def test_the_sweeper_imports_nothing_of_the_task():
    sweeper = Path(__file__).resolve().parents[1] / "genarch" / "sweeper"
    for path in sweeper.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) genarch\.(model|training|result)\b", text, flags=re.M), path.name
