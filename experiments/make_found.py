"""Freeze a sweep's best trial as a named model config plus a Hydra experiment config that trains it.

    python -m experiments.make_found experiments/runs/tfbs/stage_tfbs_2 --name tfbs_found
    python -m experiments.make_found <sweep_dir> --job 7 --name ...     # a chosen trial instead of the best

Writes, under ``--conf`` (default: genarch's own config dir, so ``python -m genarch`` finds them with no
search path):

- ``model/<name>.yaml``: the trial's resolved ``model`` config, self-contained (every block with its ``kind``);
  ``model=<name>`` trains the architecture with genarch's default training (the control of a head-to-head);
- ``experiment/<name>.yaml``: a ``# @package _global_`` experiment config (lightning-hydra-template style)
  selecting that model with the optimizer and batch size the trial trained with:
  ``python -m genarch +experiment=<name>``.

The trial is read from the sweep's ledger with genarch's ledger reader (``genarch.ledger.finished_trials``),
best in the objective direction the sweep recorded; in a multi-fidelity sweep, best of its highest rung.
"""

import argparse
from pathlib import Path

import yaml
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from genarch.ledger import finished_trials, load_trials, rung_records

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONF = ROOT / "genarch" / "conf"


def best_job(sweep: Path) -> tuple[int, float]:
    """The best finished trial by the direction its objective was recorded with (maximise if none is); in a
    multi-fidelity sweep, the best of the highest rung any job finished (lower rungs trained on less)."""
    ok = [t for t in finished_trials(sweep) if t.ok]
    if not ok:
        raise SystemExit(f"{sweep / 'ledger.jsonl'}: no finished trial with an objective value")
    rungs = {job: int(r.get("rung", 0)) for job, r in rung_records(sweep).items()}
    if rungs:
        top = max(rungs.get(t.job, 0) for t in ok)
        ok = [t for t in ok if rungs.get(t.job, 0) == top]
    directions = {t.direction for t in ok if t.direction}
    if len(directions) > 1:
        raise SystemExit(f"{sweep}: its trials record both directions {sorted(directions)}; give --job")
    sign = -1.0 if directions == {"minimize"} else 1.0
    best = max(ok, key=lambda t: sign * t.value)
    return best.job, best.value


def training_of(cfg) -> dict:
    """The trial's optimizer (group choice and its searched values) and batch size."""
    opt = OmegaConf.to_container(cfg.optimizer, resolve=True)
    return {"optimizer": opt["name"], "optimizer_values": {k: opt[k] for k in ("lr_scale", "l2") if k in opt},
            "batch_size": int(cfg.trainer.batch_size)}


def experiment_yaml(name: str, origin: str, training: dict) -> str:
    body = {"defaults": [{"override /model": name}, {"override /optimizer": training["optimizer"]}],
            "optimizer": training["optimizer_values"], "trainer": {"batch_size": training["batch_size"]}}
    return ("# @package _global_\n"
            f"# {name}: the architecture the staged search selected, trained as it was selected ({origin}).\n"
            f"#   python -m genarch +experiment={name} [dataset=...]\n"
            f"# model={name} alone trains the same architecture with genarch's default training (the control).\n"
            + yaml.safe_dump(body, sort_keys=False))


def trial_config(sweep: Path, job: int):
    """The config job ``job`` of ``sweep`` trained: its ``.hydra/config.yaml``, else (a sweep restored from its
    kept ledger, experiments/kept_sweeps.py: the job folders are gone) composed again from the overrides its
    ledger records, on the search path of the sweep's multirun.yaml (run from the repository root), with
    today's config files: the same config only while the stage file and the model groups are unchanged."""
    saved = sweep / str(job) / ".hydra" / "config.yaml"
    if saved.exists():
        return OmegaConf.load(saved)
    trial = next((t for t in load_trials(sweep) if t.job == job), None)
    if trial is None or trial.overrides is None or not (sweep / "multirun.yaml").exists():
        raise SystemExit(f"{saved}: missing, and {sweep} holds no multirun.yaml and recorded overrides of job {job} "
                         "to compose its config from")
    searchpath = list(OmegaConf.load(sweep / "multirun.yaml").hydra.get("searchpath") or [])
    with initialize_config_module("genarch.conf", version_base=None):
        return compose("config", overrides=[f"hydra.searchpath=[{','.join(searchpath)}]", *trial.overrides])


def write_found(sweep: Path, name: str, conf: Path, job: "int | None" = None, command: str = "") -> tuple[Path, Path]:
    value = None
    if job is None:
        job, value = best_job(sweep)
    cfg = trial_config(sweep, job)
    model = OmegaConf.to_container(cfg.model, resolve=True)
    model["name"] = name
    origin = (f"trial {job} of sweep {sweep}, stage {cfg.get('stage')}"
              + (f", objective {value:.4f}" if value is not None else ""))
    model_path, experiment_path = conf / "model" / f"{name}.yaml", conf / "experiment" / f"{name}.yaml"
    for path in (model_path, experiment_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_text(f"# {name}: the architecture the staged search selected: {origin}.\n"
                          f"# Written by: {command}\n"
                          f"# Its training settings: experiment/{name}.yaml (python -m genarch +experiment={name}).\n"
                          + yaml.safe_dump(model, sort_keys=False))
    experiment_path.write_text(experiment_yaml(name, origin, training_of(cfg)))
    return model_path, experiment_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep")
    ap.add_argument("--job", type=int, default=None)
    ap.add_argument("--name", required=True)
    ap.add_argument("--conf", default=str(DEFAULT_CONF), help="config dir to write model/ and experiment/ into")
    args = ap.parse_args()
    command = (f"python -m experiments.make_found {args.sweep} --name {args.name}"
               + (f" --job {args.job}" if args.job is not None else "")
               + (f" --conf {args.conf}" if Path(args.conf).resolve() != DEFAULT_CONF else ""))
    model_path, experiment_path = write_found(Path(args.sweep), args.name, Path(args.conf), args.job, command)
    print(f"wrote {model_path} and {experiment_path}")


if __name__ == "__main__":
    main()
