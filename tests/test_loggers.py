"""The ``logger`` config group: each logger writes per-epoch metrics and the hyperparameters that the
tool itself reads back (CSV file, TensorBoard's EventAccumulator, MlflowClient on the file store, the
W&B offline run file); a sweep logs one run per trial in one group; Lightning checkpoints."""

import csv
import glob
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genarch.model import ConfigError

REPO = Path(__file__).resolve().parents[1]
TINY = ["trainer=smoke", "dataset.n=400", "trainer.batch_size=50", "++summary=false"]


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GENARCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("WANDB_SILENT", "true")


def compose(*overrides: str):
    from hydra import compose as hydra_compose, initialize_config_module

    with initialize_config_module("genarch.conf", version_base=None):
        return hydra_compose("config", overrides=[*TINY, *overrides])


def train_tiny(out_dir: Path, *overrides: str) -> dict:
    """One 2-epoch run in this process; its result as result.json would hold it."""
    from genarch.app import quiet_libraries
    from genarch.training import train

    quiet_libraries()
    out_dir.mkdir(parents=True, exist_ok=True)
    return train(compose(*overrides), out_dir).to_dict()


# -- readers: each tool's own API ----------------------------------------------------------------

def read_csv(run_dir: Path) -> dict[str, list[float]]:
    rows = list(csv.DictReader(open(run_dir / "csv" / "metrics.csv")))
    return {k: [float(r[k]) for r in rows if r.get(k)] for k in rows[0]}


def read_tensorboard(run_dir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    assert acc.PluginTagToContent("hparams")  # the HParams tab's data: hyperparameters with the final metrics
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def mlflow_client(store: Path):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.as_uri())


def read_mlflow_run(client, run) -> dict[str, list[float]]:
    return {key: [m.value for m in sorted(client.get_metric_history(run.info.run_id, key), key=lambda m: m.step)]
            for key in run.data.metrics}


def wandb_records(run_file: Path):
    """The protobuf records of a W&B offline run file (LevelDB log format: 32 KiB blocks of
    crc32/length/type-framed chunks after a 7-byte ':W&B' header), decoded with wandb's own proto."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, buf = run_file.read_bytes(), 32768, 7, b""
    if data[:4] != b":W&B":  # not yet written (read_wandb waits for the whole file)
        return
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        if pos + 7 + length > len(data):  # a chunk still being written
            return
        payload, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        buf = payload if kind in (1, 2) else buf + payload
        if kind in (1, 4):  # a whole record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(buf)
            yield record


def read_wandb(run_dir: Path, wait_s: float = 60) -> tuple[dict[str, list[float]], dict, dict]:
    """History, config and run record of the W&B offline run in ``run_dir``. ``wandb.finish()`` can return
    before W&B's service process has written the whole file (seen on a loaded machine): the file is read
    once it holds its closing ``exit`` record."""
    import time

    (run_file,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    deadline = time.monotonic() + wait_s
    while True:
        records = list(wandb_records(Path(run_file)))
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    history: dict[str, list[float]] = {}
    config, run = {}, {}
    for record in records:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            for item in record.history.item:
                history.setdefault(item.key or "/".join(item.nested_key), []).append(json.loads(item.value_json))
        elif kind == "config":
            config.update({u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in record.config.update})
        elif kind == "run":
            run = {"name": record.run.display_name, "group": record.run.run_group, "project": record.run.project}
    return history, config, run


# -- one run per logger --------------------------------------------------------------------------

def check_curves(curves: dict[str, list[float]], result: dict) -> None:
    """Two epochs of train loss and validation metrics; the best logged val_auroc is the run's objective."""
    assert len(curves["train_loss"]) == 2 and len(curves["val_auroc"]) == 2 and len(curves["val_loss"]) == 2
    assert max(curves["val_auroc"]) == pytest.approx(result["objective"]["value"], abs=1e-5)
    # and once, after training, the run's evaluation as in result.json (the objective is final/val_auroc)
    assert curves["final/val_auroc"] == [pytest.approx(result["objective"]["value"], abs=1e-6)]
    assert curves["final/test_auroc"] == [pytest.approx(result["metrics"]["test"]["auroc"], abs=1e-6)]


@pytest.mark.parametrize("logger", ["csv", "tensorboard", "mlflow", "wandb"])
def test_logger_writes_epoch_metrics_the_tool_reads(tmp_path, logger):
    result = train_tiny(tmp_path, f"logger={logger}", "model.stem.filters=8")
    if logger == "csv":
        check_curves(read_csv(tmp_path), result)
        import yaml

        hparams = yaml.safe_load(open(tmp_path / "csv" / "hparams.yaml"))
        assert hparams["model.stem.filters"] == 8 and hparams["trainer.max_epochs"] == 2
    elif logger == "tensorboard":
        check_curves(read_tensorboard(tmp_path), result)
        assert "model.stem.filters: 8" in (tmp_path / "tensorboard" / "hparams.yaml").read_text()
    elif logger == "mlflow":
        client = mlflow_client(tmp_path / "mlruns")
        experiment = client.get_experiment_by_name("genarch")
        (run,) = client.search_runs([experiment.experiment_id])
        assert run.info.run_name == tmp_path.name
        check_curves(read_mlflow_run(client, run), result)
        assert run.data.params["model.stem.filters"] == "8"
    else:
        history, config, run = read_wandb(tmp_path)
        check_curves(history, result)
        assert config["model.stem.filters"] == 8 and run["name"] == tmp_path.name and run["project"] == "genarch"
    assert "model.stem.filters" in result["hparams"] and not any(k.startswith("logger.") for k in result["hparams"])


def test_a_failed_trial_ends_its_mlflow_run_failed_and_flushes_its_csv(tmp_path, monkeypatch):
    from genarch.training import runner

    def fails(*args, **kwargs):
        raise FloatingPointError("the evaluation after fit fails")

    monkeypatch.setattr(runner, "task_metrics", fails)
    with pytest.raises(FloatingPointError):
        train_tiny(tmp_path, "logger=many")
    client = mlflow_client(tmp_path / "mlruns")
    (run,) = client.search_runs([client.get_experiment_by_name("genarch").experiment_id])
    assert run.info.status == "FAILED"  # not RUNNING (nor FINISHED) in the sweep's store
    assert len(read_csv(tmp_path)["epoch"]) >= 2  # the epochs it trained are on disk


def test_logger_none_writes_no_curves_and_csv_is_the_default(tmp_path):
    train_tiny(tmp_path / "none", "logger=none", "trainer.save_checkpoint=false")
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == []  # train() itself writes only checkpoints
    assert compose().logger.csv._target_.endswith("CSVLogger")


def test_logger_entry_without_target_names_its_key():
    from genarch.training.loggers import logger_specs

    with pytest.raises(ConfigError, match=r"logger\.tb must be a logger config with a _target_"):
        logger_specs({"tb": {"save_dir": "x"}})
    assert logger_specs({"csv": None}) == {} and logger_specs(None) == {}


# -- checkpoints ---------------------------------------------------------------------------------

def test_best_checkpoint_is_lightning_format_and_matches_model_pt(tmp_path):
    from genarch.training.checkpoints import best_ckpt_path, load_net_from_ckpt
    from genarch.training.runner import MODEL_FILE, load_trained
    from genarch.training.subnormals import subnormals_flushed

    mode = subnormals_flushed()
    result = train_tiny(tmp_path, "logger=none", "model.stem.filters=8")
    ckpt = torch.load(best_ckpt_path(tmp_path), map_location="cpu", weights_only=False)
    assert {"state_dict", "optimizer_states", "epoch", "pytorch-lightning_version", "genarch"} <= set(ckpt)
    assert ckpt["epoch"] == result["extra"]["best_epoch"]
    net_pt, spec_pt = load_trained(tmp_path)
    assert subnormals_flushed() is mode  # neither training nor loading leaves the thread's float mode changed
    net_ckpt, spec_ckpt = load_net_from_ckpt(best_ckpt_path(tmp_path))
    for (k, a), (_, b) in zip(net_pt.state_dict().items(), net_ckpt.state_dict().items()):
        assert torch.equal(a, b), k
    assert spec_ckpt["seq_len"] == spec_pt["seq_len"] == 101 and spec_ckpt["target_names"] == spec_pt["target_names"]
    (tmp_path / MODEL_FILE).unlink()  # without model.pt, load_trained reads the Lightning checkpoint
    net_only_ckpt, _ = load_trained(tmp_path)
    x = torch.zeros(2, 4, 101)
    assert torch.equal(net_only_ckpt(x), net_pt(x))


def test_save_checkpoint_false_writes_neither_checkpoint(tmp_path):
    train_tiny(tmp_path, "logger=none", "trainer.save_checkpoint=false")
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "model.pt").exists()


# -- a sweep: one group, one run per trial ----------------------------------------------------------

@pytest.mark.slow
def test_sweep_trials_log_as_one_group(tmp_path):
    sweep = tmp_path / "sweep"
    env = {**os.environ, "GENARCH_CACHE": str(tmp_path / "cache"), "HYDRA_FULL_ERROR": "1", "WANDB_SILENT": "true"}
    proc = subprocess.run([sys.executable, "-m", "genarch", "hydra/sweeper=genarch", *TINY, "logger=many",
                           "model.stem.filters=choice(4,8)", "hydra.sweeper.budget=2", "hydra.sweeper.num_workers=1",
                           f"hydra.sweep.dir={sweep}", "-m"], cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = {n: json.loads((sweep / str(n) / "result.json").read_text()) for n in (0, 1)}
    client = mlflow_client(sweep / "mlruns")  # one store for the sweep, one experiment, one run per trial
    experiment = client.get_experiment_by_name(str(sweep))
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["trial-0", "trial-1"]
    for n in (0, 1):
        trial = sweep / str(n)
        assert runs[f"trial-{n}"].data.params["model.stem.filters"] == str(results[n]["hparams"]["model.stem.filters"])
        for curves in (read_mlflow_run(client, runs[f"trial-{n}"]), read_tensorboard(trial), read_csv(trial)):
            check_curves(curves, results[n])
        history, _, run = read_wandb(trial)  # each trial its own W&B run, the sweep its group
        check_curves(history, results[n])
        assert run["name"] == f"trial-{n}" and run["group"] == str(sweep)
