"""Regression head-to-head (paper Table 4 analogue): sequence -> expression on the real public sets.

    python experiments/regression/regression.py                        # all sets, all models, seeds 0 1 2
    python experiments/regression/regression.py --datasets vaishnav_yeast --seeds 0
    python experiments/regression/regression.py --aggregate-only
    python experiments/regression/regression.py --datasets deepstarr --prior experiments/results/regression.json
        # re-run one set; the other sets' cells come from the committed results (their run folders are
        # not on this machine)

Models: ``reg_found`` (the regression staged search's pick, experiments/regression/conf/model/,
once the search has run), PromoterNet (paper Table 4 structure), DeepBind and DeepMotif (their
trunks with a linear output per target: genarch builds the output layer from the task, so the
"adaptation to regression" is the loss (MSE) and a linear output). Each (model, dataset, seed) run
lives in ``experiments/runs/regression/<protocol>/<model>/<dataset>/seed<k>/`` (git-ignored; ok runs
are skipped). Metric: test Pearson r per output and its mean over outputs.

Splits (from the dataset presets; none leaks): vaishnav_yeast = native promoter tiles, grouped by
shared 20-mers so overlapping tiles of one promoter stay on one side; lentimpra = the source's own
valid/test files (train carved from valid); deepstarr = the DREAM sample's train/val/test files;
aitac = 10-fold over the 100 peaks (fold 0 as test: 10 peaks, so its r is noisy), 81 cell-type
targets grouped into their immune lineages by the preset (target_groups), one output per lineage,
reported per lineage; synthetic_ilsep = the embedded ILSEP-shaped default
(2 kb promoters, 11 lineages). Outputs: experiments/results/regression.{json,md,png}.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tables import (grid_main, grid_parser, model_overrides, RESULTS, ROOT, RUNS, fmt, md_table, mean_over_seeds, read_ok, summary_stats,
                    win_share_markdown, win_shares, write_json)

DATASETS = {  # name -> extra overrides (budget) for that set
    "vaishnav_yeast": [],
    "lentimpra": [],
    "deepstarr": [],
    "aitac": [],
    "synthetic_ilsep": [],
}
MODELS = ["reg_found", "promoternet", "deepbind", "deepmotif"]
SEARCHPATH = "hydra.searchpath=[file://experiments/regression/conf]"
PAPER = {"ILSEP": {"promoternet": 0.587, "deepbind": 0.506, "deepmotif": 0.441}}


def protocol_name(args) -> str:
    return f"mt{args.max_train}_{args.trainer}"


def run_dir(args, model, dataset, seed) -> Path:
    return RUNS / "regression" / protocol_name(args) / model / dataset / f"seed{seed}"


def run_one(args, model, dataset, seed) -> bool:
    out = run_dir(args, model, dataset, seed)
    if read_ok(out):
        return False
    model_file = ROOT / "experiments" / "regression" / "conf" / "model" / f"{model}.yaml"
    if model.startswith("reg_") and not model_file.exists():
        return False  # the search has not picked one yet
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "genarch", SEARCHPATH, f"model={model}", f"dataset={dataset}", f"seed={seed}",
           f"trainer={args.trainer}", "trainer.progress=false", f"trainer.threads={args.threads}",
           "trainer.save_checkpoint=false", "++summary=false", f"hydra.run.dir={out}", *DATASETS[dataset],
           *model_overrides(ROOT / "experiments" / "regression" / "conf", model)]
    if args.max_train:
        cmd.append(f"dataset.max_train={args.max_train}")
    t0 = time.time()
    with open(out / "run.log", "w") as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    res = read_ok(out)
    r = res["metrics"]["test"].get("pearson_r") if res else None
    print(f"[{time.strftime('%H:%M:%S')}] {model:12s} {dataset:16s} seed {seed}: "
          f"{'test r ' + fmt(r) if res else 'FAILED rc=' + str(proc.returncode)} ({time.time() - t0:.0f} s)", flush=True)
    return True


def load_prior(args) -> dict:
    """``--prior``: a committed regression.json of the same protocol, read once (the aggregate rewrites it)."""
    if not getattr(args, "prior", None):
        return {}
    if not hasattr(args, "_prior"):
        prior = json.loads(Path(args.prior).read_text())
        if prior.get("protocol", {}).get("name") != protocol_name(args):
            raise SystemExit(f"--prior {args.prior}: protocol {prior.get('protocol', {}).get('name')!r}, "
                             f"this run's is {protocol_name(args)!r}")
        args._prior = prior
    return args._prior


def aggregate(args) -> dict:
    scores: dict = {}
    per_output: dict = {}
    for model in args.models:
        for dataset in DATASETS:
            for sd in sorted((RUNS / "regression" / protocol_name(args) / model / dataset).glob("seed*")):
                res = read_ok(sd)
                if not res:
                    continue
                test = res["metrics"]["test"]
                scores.setdefault(model, {}).setdefault(dataset, []).append(test["pearson_r"])
                outs = {k.split("/", 1)[1]: v for k, v in test.items() if k.startswith("pearson_r/")}
                per_output.setdefault(model, {}).setdefault(dataset, []).append(outs)
    prior, from_prior = load_prior(args), {}
    for model, per in prior.get("per_seed", {}).items():  # a cell with run folders here comes only from them
        for dataset, values in per.items():
            if model in args.models and dataset in DATASETS and dataset not in scores.get(model, {}):
                scores.setdefault(model, {})[dataset] = list(values)
                per_output.setdefault(model, {})[dataset] = list(prior["per_output_test_pearson"][model][dataset])
                from_prior.setdefault(model, []).append(dataset)
    table = mean_over_seeds(scores)
    out = {"protocol": {"name": protocol_name(args), "max_train": args.max_train, "trainer": args.trainer},
           "per_dataset_test_pearson_mean_over_seeds": table, "per_seed": scores,
           "per_output_test_pearson": per_output,
           "aitac_lineage_means": {m: {k: statistics.fmean(x[k] for x in per["aitac"]) for k in per["aitac"][0]}
                                   for m, per in per_output.items() if per.get("aitac")},
           "summary": summary_stats(table), "win_shares": win_shares(table), "paper": PAPER,
           **({"from_prior": {"file": args.prior, "cells": from_prior}} if from_prior else {})}
    write_json(RESULTS / "regression.json", out)
    models = [m for m in args.models if m in table]
    rows = []
    for d in DATASETS:
        row = [d]
        for m in models:
            v = table[m].get(d)
            n = len(scores[m].get(d, []))
            extra = ""
            if v is not None and d == "deepstarr":
                outs = per_output[m][d]
                extra = " (" + ", ".join(f"{k.split('_')[0]} {fmt(statistics.fmean(o[k] for o in outs))}" for k in outs[0]) + ")"
            row.append(f"{fmt(v)}{extra} [{n}]" if v is not None else "-")
        rows.append(row)
    stats = out["summary"]
    rows.append(["**mean** over sets"] + [f"{fmt(stats[m]['mean'])} [{stats[m]['n']}]" for m in models])
    rows.append(["**median** over sets"] + [fmt(stats[m]["median"]) for m in models])
    lines = ["# Regression: test Pearson r (mean over outputs), mean over seeds [count]", "",
             f"Protocol `{protocol_name(args)}`. Command: `python experiments/regression/regression.py` "
             "(`--aggregate-only` to rebuild).", "", md_table(["dataset"] + models, rows), "",
             "Paper on ILSEP (not public; not reproducible here): PromoterNet 0.587, DeepBind 0.506, DeepMotif 0.441.", ""]
    if from_prior:
        lines += [f"Read from `{args.prior}` (run folders not on this machine): "
                  + "; ".join(f"{m}: {', '.join(ds)}" for m, ds in from_prior.items()) + ".", ""]
    if out["aitac_lineage_means"]:
        lin = out["aitac_lineage_means"]
        names = sorted({k for v in lin.values() for k in v})
        lines += ["AI-TAC sample, mean test r per lineage:", "",
                  md_table(["lineage"] + list(lin), [[n] + [fmt(lin[m].get(n)) for m in lin] for n in names]), ""]
    if models:
        lines += ["Win shares over datasets (row beats column):", "", win_share_markdown(win_shares(table)), ""]
    lines += ["![regression](regression.png)", ""]
    (RESULTS / "regression.md").write_text("\n".join(lines))
    _plot(table)
    return out


def _plot(table) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not table:
        return
    names = list(DATASETS)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(table)
    for i, (m, per) in enumerate(table.items()):
        ax.bar([j + i * width for j, d in enumerate(names) if d in per], [per[d] for d in names if d in per],
               width=width, label=m)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=20)
    ax.set_ylabel("test Pearson r (mean over outputs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(RESULTS / "regression.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = grid_parser(__doc__, models=MODELS, items_flag="--datasets", items=list(DATASETS), max_train=8000)
    parser.add_argument("--prior", help="a committed regression.json of this protocol: (model, set) cells with no run "
                                        "folder here are read from it")
    args = parser.parse_args()
    grid_main(args, args.datasets, run_one, aggregate)


if __name__ == "__main__":
    main()
