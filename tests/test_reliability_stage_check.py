"""A stage file is checked like the command line before the first trial (issue 36, case 2): an unknown key in
its body or its params, a misspelled choice value or fixed value, an unknown group option are refused naming
the stage file, the key and the allowed values; every stage genarch ships passes; and a space whose
candidates are all rejected no longer logs them as "already evaluated as job of a warm-start sweep"."""

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra

from genarch.model.validate import validate_model
from genarch.sweeper.params import spec_from_yaml
from genarch.sweeper.stage_check import StageCheckError, check_stage, legal_values

REPO = Path(__file__).resolve().parents[1]
HEADER = "# @package _global_\ndefaults:\n  - override /hydra/sweeper: genarch\n"


def _check(stage_path: Path) -> None:
    """The sweeper's check of ``stage_path`` (composed from its folder's parent as a search path)."""
    name = stage_path.stem
    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=[f"hydra.searchpath=[file://{stage_path.parent.parent}]", f"+stage='{name}'"],
                      return_hydra_config=True)
        specs, fixed = {}, []
        for key, value in cfg.hydra.sweeper.params.items():
            spec = spec_from_yaml(str(key), value)
            if spec.swept:
                if not spec.prefix:  # as the sweeper: a swept +key or ++key may add a key the config lacks
                    specs[spec.name] = spec.spec
            else:
                fixed.append(spec.override(spec.spec["value"]))
        check_stage(cfg, specs, fixed, GlobalHydra.instance().config_loader(), stage_path.read_text(), validate_model)


def _stage(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "conf" / "stage" / "s_check.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + textwrap.dedent(body))
    return path


PARAMS = "hydra:\n  sweeper:\n    params:\n"


@pytest.mark.parametrize("body, expected", [
    ("trainer: {max_epochz: 1}\n" + PARAMS + "      model.stem.filters: choice(4, 8)\n",
     "trainer.max_epochz: not a key of the config (trainer has: "),
    ("dataset: {nn: 1000}\n" + PARAMS + "      model.stem.filters: choice(4, 8)\n",
     "dataset.nn: not a key of the config (dataset has: "),
    (PARAMS + "      model.activation: choice(relu, leaky_rleu)\n",
     "model.activation: 'leaky_rleu' is not an allowed value (allowed: relu, leaky_relu, very_leaky_relu, elu, exp)"),
    (PARAMS + "      model.activation: leaky_rleu\n      model.stem.filters: choice(4, 8)\n",
     "model.activation: 'leaky_rleu' is not an allowed value (allowed: relu, "),
    (PARAMS + "      model/rnn: choice(none, lstmm)\n",
     "model/rnn: 'lstmm' not an option of the group (options: gru, lstm, none, simple)"),
    (PARAMS + "      model.stem.filterz: choice(4, 8)\n",
     "model.stem.filterz: not a key of the config (model.stem has: "),
    (PARAMS + "      model.reduction.kind: choice(maxpool, avgpool)\n",
     "model.reduction.kind: 'avgpool' is not an allowed value (allowed: none, maxpool, meanpool, strided_conv)"),
])
def test_a_misspelt_key_or_value_of_a_stage_is_refused_naming_it(tmp_path, body, expected):
    with pytest.raises(StageCheckError) as refused:
        _check(_stage(tmp_path, body))
    assert expected in str(refused.value)


def test_every_problem_is_named_at_once(tmp_path):
    body = "trainer: {max_epochz: 1}\n" + PARAMS + "      model.activation: choice(relu, leaky_rleu)\n"
    with pytest.raises(StageCheckError) as refused:
        _check(_stage(tmp_path, body))
    assert "trainer.max_epochz" in str(refused.value) and "leaky_rleu" in str(refused.value)


def test_legal_keys_values_and_the_stages_own_top_level_data_pass(tmp_path):
    body = ("subset: [A, B]\ndataset: {n: 500}\n" + PARAMS + "      model.activation: choice(relu, elu)\n"
            "      model/pooling: choice(max, attention)\n      model.pooling.hidden: choice(8, 16)\n"
            "      model.stem.first_activation: choice(exp, relu)\n")
    _check(_stage(tmp_path, body))


@pytest.mark.parametrize("path", sorted(glob.glob(str(REPO / "genarch/conf/stage/*.yaml"))
                                        + glob.glob(str(REPO / "experiments/*/conf/stage/*.yaml"))),
                         ids=lambda p: Path(p).stem)
def test_every_shipped_stage_passes_the_check(path):
    _check(Path(path))


def test_legal_values_come_from_the_validator_passed_in():
    from genarch.model.activations import ACTIVATIONS
    from genarch.model.validate import RNNS

    with initialize_config_module("genarch.conf", version_base="1.3"):
        from omegaconf import OmegaConf

        model = OmegaConf.to_container(compose("config", overrides=["model=search"]).model, resolve=True)
    assert legal_values(validate_model, model, "activation") == list(ACTIVATIONS)
    assert legal_values(validate_model, model, "rnn.kind") == list(RNNS)
    assert legal_values(validate_model, model, "stem.filters") is None  # a number: no enumeration

    def says_nothing(model):
        return None

    assert legal_values(says_nothing, model, "activation") is None


@pytest.mark.slow
def test_a_misspelt_stage_stops_before_the_first_trial_naming_the_stage_file(tmp_path):
    body = "trainer: {max_epochz: 1}\n" + PARAMS + "      model.activation: choice(relu, leaky_rleu)\n"
    path = _stage(tmp_path, body)
    sweep = tmp_path / "sweep"
    proc = subprocess.run([sys.executable, "-m", "genarch", f"hydra.searchpath=[file://{path.parent.parent}]",
                           "+stage=s_check", f"hydra.sweep.dir={sweep}", "-m"], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    said = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode != 0 and len(said) == 1, said
    assert said[0].startswith(f"genarch sweeper (stage file {path}): trainer.max_epochz: not a key of the config")
    assert "model.activation: 'leaky_rleu' is not an allowed value (allowed: relu, leaky_relu," in said[0]
    assert not sweep.exists()  # nothing ran, nothing was written


def test_a_repeated_rejected_candidate_is_not_logged_as_a_warm_start(tmp_path, monkeypatch, caplog):
    from omegaconf import OmegaConf

    from genarch.sweeper._impl import NevergradSweeperImpl, Outcome
    from genarch.sweeper.config import SweeperSettings

    def reject(self, c):
        c.outcome = Outcome("rejected", error="ConfigError: illegal")
        self.run.cache[c.key] = c.outcome
        return True

    monkeypatch.setattr(NevergradSweeperImpl, "_reject", reject)
    sweeper = NevergradSweeperImpl(SweeperSettings(seed=0, budget=2, max_repeated_asks=20))
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}, "runtime": {"choices": {}}},
                                       "objective": {"name": "auto", "direction": "auto"}})
    sweeper.launcher = object()  # never called: every candidate is rejected
    caplog.set_level("INFO")
    sweeper.sweep(["x=choice(1, 2)"])
    assert not any("warm-start" in r.getMessage() for r in caplog.records)
