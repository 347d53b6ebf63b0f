"""Freeze a sweep's best trial as a named model config plus its training settings.

    python experiments/make_found.py experiments/runs/tfbs/stage_tfbs_2 --name tfbs_found --conf experiments/tfbs/conf
    python experiments/make_found.py <sweep_dir> --job 7 ...          # a chosen trial instead of the best

Writes ``<conf>/model/<name>.yaml`` (the trial's resolved ``model`` config, self-contained: every block
with its ``kind``) and ``<conf>/<name>.training.yaml`` (the optimizer and batch size the trial
trained with, as override strings). The head-to-head scripts train ``model=<name>`` with those
overrides; the published models keep genarch's defaults (Adam, lr 1e-3, batch 125).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
from omegaconf import OmegaConf


def best_job(sweep: Path) -> tuple[int, float]:
    """The best finished trial by the direction its objective was recorded with (maximise if none is)."""
    from genarch.ledger import finished_trials

    ok = [t for t in finished_trials(sweep) if t.ok]
    if not ok:
        raise SystemExit(f"no finished trial in {sweep}")
    directions = {t.direction for t in ok if t.direction}
    if len(directions) > 1:
        raise SystemExit(f"{sweep}: its trials record both directions {sorted(directions)}; give --job")
    sign = -1.0 if directions == {"minimize"} else 1.0
    best = max(ok, key=lambda t: sign * t.value)
    return best.job, best.value


def training_overrides(cfg) -> list[str]:
    opt = OmegaConf.to_container(cfg.optimizer, resolve=True)
    out = [f"optimizer={opt['name']}"]
    for key in ("lr_scale", "l2"):
        if key in opt:
            out.append(f"optimizer.{key}={opt[key]}")
    out.append(f"trainer.batch_size={cfg.trainer.batch_size}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep")
    ap.add_argument("--job", type=int, default=None)
    ap.add_argument("--name", required=True)
    ap.add_argument("--conf", required=True)
    args = ap.parse_args()
    sweep = Path(args.sweep)
    job, value = best_job(sweep) if args.job is None else (args.job, None)
    cfg = OmegaConf.load(sweep / str(job) / ".hydra" / "config.yaml")
    model = OmegaConf.to_container(cfg.model, resolve=True)
    model["name"] = args.name
    stage = cfg.get("stage")
    header = (f"# {args.name}: the architecture the staged search selected: trial {job} of sweep {sweep}"
              f" (stage {stage}{', objective %.4f' % value if value is not None else ''}).\n"
              f"# Written by: python experiments/make_found.py {args.sweep} --name {args.name} --conf {args.conf}"
              f"{' --job %d' % args.job if args.job is not None else ''}\n"
              f"# Training settings it was selected with: {args.conf}/{args.name}.training.yaml.\n")
    out = Path(args.conf) / "model"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.yaml").write_text(header + yaml.safe_dump(model, sort_keys=False))
    (Path(args.conf) / f"{args.name}.training.yaml").write_text(
        f"# optimizer / batch size of trial {job} of {sweep}; used as overrides for model={args.name}\n"
        + yaml.safe_dump({"overrides": training_overrides(cfg)}, sort_keys=False))
    print(f"wrote {out / (args.name + '.yaml')} (job {job}) and its training overrides: {training_overrides(cfg)}")


if __name__ == "__main__":
    main()
