"""Hydra experiment configs (genarch/conf/experiment/): each composes, selects its model and training
recipe, and builds; experiments.make_found writes a model + experiment pair that composes the same way."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from experiments.make_found import write_found
from genarch.model import GenomicNet

CONF = Path(__file__).resolve().parents[1] / "genarch" / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))

# experiment -> (model it selects, optimizer, lr_scale, batch size): the recipes the YAML comments cite
RECIPES = {
    "attentionnet_paper": ("attentionnet", "adam", 1.0, 125),
    "promoternet_paper": ("promoternet", "adam", 1.0, 125),
    "deepbind_paper": ("deepbind", "adam", 1.0, 125),
    "deepmotif_paper": ("deepmotif", "adam", 10.0, 256),
    "tfbs_found": ("tfbs_found", "adam", 2.032530691410382, 25),
    "reg_found": ("reg_found", "adam", 1.5772062316187605, 125),
}


def compose_experiment(name: str, *overrides: str):
    with initialize_config_module("genarch.conf", version_base=None):
        return compose("config", overrides=[f"+experiment={name}", *overrides])


def test_every_experiment_config_is_listed():
    assert EXPERIMENTS == sorted(RECIPES)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_with_its_recipe_and_builds(name):
    model, optimizer, lr_scale, batch = RECIPES[name]
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert text.startswith("# @package _global_")
    cfg = compose_experiment(name)
    assert (cfg.model.name, cfg.optimizer.name, cfg.optimizer.lr_scale, cfg.trainer.batch_size) == \
        (model, optimizer, lr_scale, batch)
    assert cfg.dataset._target_.endswith("SyntheticTFBS"), "an experiment config leaves the dataset to the command line"
    for length, outputs in ((101, 1), (2000, 11)):
        net = GenomicNet(OmegaConf.to_container(cfg.model, resolve=True), length, outputs).eval()
        with torch.no_grad():
            assert net(torch.rand(2, 4, length)).shape == (2, outputs)


def test_command_line_overrides_win_over_the_experiment():
    cfg = compose_experiment("deepmotif_paper", "trainer.batch_size=50", "optimizer.lr_scale=0.3",
                             "dataset=deepbind_encode")
    assert (cfg.trainer.batch_size, cfg.optimizer.lr_scale) == (50, 0.3)
    assert cfg.dataset._target_.endswith("DeepBindENCODE")


def test_the_control_is_the_model_with_default_training():
    with initialize_config_module("genarch.conf", version_base=None):
        control = compose("config", overrides=["model=tfbs_found"])
        default = compose("config")
    found = compose_experiment("tfbs_found")
    assert control.model == found.model
    assert control.optimizer == default.optimizer and control.trainer == default.trainer
    assert (found.optimizer.l2, found.trainer.batch_size) != (control.optimizer.l2, control.trainer.batch_size)


def _fake_sweep(tmp_path: Path, values: dict) -> Path:
    """A sweep dir as genarch writes it: ledger.jsonl plus each job's composed .hydra/config.yaml."""
    sweep = tmp_path / "sweep"
    records = []
    for job, (value, batch, l2) in values.items():
        with initialize_config_module("genarch.conf", version_base=None):
            cfg = compose("config", overrides=["model=search", "optimizer=sgd", f"optimizer.l2={l2}",
                                               f"trainer.batch_size={batch}", f"model.stem.filters={8 * (job + 1)}"])
        (sweep / str(job) / ".hydra").mkdir(parents=True)
        (sweep / str(job) / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        records.append({"job": job, "event": "start"})
        records.append({"job": job, "event": "end", "status": "ok",
                        "objective": {"name": "val_loss", "direction": "minimize", "value": value}})
    records.append({"job": 9, "event": "end", "status": "failed", "objective": {"name": "val_loss", "value": None}})
    (sweep / "ledger.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return sweep


def test_make_found_writes_a_model_and_an_experiment_that_compose(tmp_path):
    # minimised objective: job 1 (0.2) is the best, not job 0 (0.9)
    sweep = _fake_sweep(tmp_path, {0: (0.9, 50, 0.001), 1: (0.2, 25, 0.0001)})
    conf = tmp_path / "conf"
    model_path, experiment_path = write_found(sweep, "found_x", conf, command="test")
    model = yaml.safe_load(model_path.read_text())
    assert model["name"] == "found_x" and model["stem"]["filters"] == 16  # job 1's architecture
    with initialize_config_module("genarch.conf", version_base=None):
        cfg = compose("config", overrides=[f"hydra.searchpath=[file://{conf}]", "+experiment=found_x"])
    experiment = yaml.safe_load(experiment_path.read_text())
    assert experiment_path.read_text().startswith("# @package _global_")
    assert experiment["defaults"] == [{"override /model": "found_x"}, {"override /optimizer": "sgd"}]
    assert experiment["optimizer"] == {"lr_scale": 1.0, "l2": 0.0001} and experiment["trainer"] == {"batch_size": 25}
    assert cfg.model.name == "found_x" and cfg.optimizer.name == "sgd" and cfg.trainer.batch_size == 25


def test_make_found_takes_a_multi_fidelity_sweeps_best_from_its_highest_rung(tmp_path):
    # job 1 scored best (0.2) but at rung 0 (less data); job 2 is job 0 promoted to rung 1: the one to freeze
    sweep = _fake_sweep(tmp_path, {0: (0.5, 50, 0.001), 1: (0.2, 25, 0.0001), 2: (0.4, 50, 0.001)})
    rungs = [{"job": 0, "event": "rung", "trial": 0, "rung": 0}, {"job": 1, "event": "rung", "trial": 1, "rung": 0},
             {"job": 2, "event": "rung", "trial": 0, "rung": 1}]
    with open(sweep / "ledger.jsonl", "a") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rungs))
    model_path, _ = write_found(sweep, "found_y", tmp_path / "conf", command="test")
    assert yaml.safe_load(model_path.read_text())["stem"]["filters"] == 24  # job 2's architecture


def test_make_found_composes_the_winner_from_the_ledger_when_its_job_folder_is_gone(tmp_path):
    """A sweep restored from its kept ledger (experiments/kept_sweeps.py) has no job folders."""
    import shutil

    sweep = _fake_sweep(tmp_path, {0: (0.9, 50, 0.001), 1: (0.2, 25, 0.0001)})
    records = [json.loads(line) for line in (sweep / "ledger.jsonl").read_text().splitlines()]
    for r in records:
        if r.get("event") == "start" and r["job"] == 1:
            r["overrides"] = ["model=search", "optimizer=sgd", "optimizer.l2=0.0001", "trainer.batch_size=25",
                              "model.stem.filters=16"]
    (sweep / "ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (sweep / "multirun.yaml").write_text("hydra:\n  searchpath: []\n")
    kept = write_found(sweep, "found_k", tmp_path / "kept", command="test")
    shutil.rmtree(sweep / "1")
    rebuilt = write_found(sweep, "found_k", tmp_path / "rebuilt", command="test")
    for a, b in zip(kept, rebuilt):
        assert yaml.safe_load(a.read_text()) == yaml.safe_load(b.read_text())
    (sweep / "multirun.yaml").unlink()
    with pytest.raises(SystemExit, match="no multirun.yaml"):
        write_found(sweep, "found_k", tmp_path / "none", command="test")


def test_make_found_refuses_a_sweep_with_no_finished_trial(tmp_path):
    sweep = tmp_path / "empty"
    sweep.mkdir()
    (sweep / "ledger.jsonl").write_text(json.dumps({"job": 0, "event": "start"}) + "\n")
    with pytest.raises(SystemExit, match="no finished trial"):
        write_found(sweep, "x", tmp_path / "conf")


# the TFBS stage that starts from the published model and the earlier winner (experiments/tfbs/conf/stage/; the
# earlier winner, tfbs_mf_1's, is kept as experiments/tfbs/conf/experiment/tfbs_found_mf1.yaml)
# (stage, point, experiment, batch size where the stage's space no longer holds the experiment's)
STAGE_POINTS = [("tfbs_mf_4", 0, "attentionnet_paper", 50), ("tfbs_mf_4", 1, "tfbs_found_mf1", None)]


@pytest.mark.parametrize("stage, index, experiment, batch", STAGE_POINTS)
def test_a_stage_point_trains_the_experiment_it_names(stage, index, experiment, batch):
    """A point of hydra.sweeper.points written in the stage's keys composes to the experiment's network, layer by
    layer, and to its training recipe (the batch size aside where the header says so): the search really starts
    from that model."""
    from genarch.space import format_value

    root = Path(__file__).resolve().parents[1] / "experiments" / "tfbs" / "conf"
    point = yaml.safe_load((root / "stage" / f"{stage}.yaml").read_text())["hydra"]["sweeper"]["points"][index]
    with initialize_config_module("genarch.conf", version_base=None):
        swept = compose("config", overrides=[f"hydra.searchpath=[file://{root}]", f"+stage={stage}",
                                             *[f"{key}={format_value(value)}" for key, value in point.items()]])
    preset = compose_experiment(experiment, f"hydra.searchpath=[file://{root}]",
                                *([f"trainer.batch_size={batch}"] if batch else []))
    nets = [GenomicNet(OmegaConf.to_container(cfg.model, resolve=True), 101, 1) for cfg in (swept, preset)]
    assert str(nets[0]) == str(nets[1])
    sizes = [sum(p.numel() for p in net.parameters()) for net in nets]
    assert sizes[0] == sizes[1]
    recipe = [(cfg.optimizer.name, cfg.optimizer.lr_scale, cfg.optimizer.l2, cfg.trainer.batch_size)
              for cfg in (swept, preset)]
    assert recipe[0] == recipe[1]
