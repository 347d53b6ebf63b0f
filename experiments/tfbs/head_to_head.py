"""TFBS head-to-head (paper Table 1 format) on the DeepBind ENCODE experiments with train + test files.

Each (model, experiment, seed) is one ``python -m genarch`` run under
``experiments/runs/tfbs_h2h/<protocol>/<model>/<experiment>/seed<k>/`` (git-ignored). A run whose
result.json has status ok is never repeated, so the command is resumable and can be extended (more
seeds, more models) by running it again with other options. The aggregation (per-experiment test
AUROC = mean over the seeds present, mean / median over experiments, win shares) is rewritten from
whatever runs exist after every run and with ``--aggregate-only``:

    python experiments/tfbs/head_to_head.py                       # the documented protocol, seeds 0 1 2
    python experiments/tfbs/head_to_head.py --seeds 0             # one seed only
    python experiments/tfbs/head_to_head.py --seeds 0 1 2 3       # add a seed
    python experiments/tfbs/head_to_head.py --aggregate-only      # tables + plot from what exists

Outputs: experiments/results/tfbs_head_to_head.{json,md,png}.

Protocol (the same for every model; default ``mt4000_default_ep10``): training sequences subsampled
to ``--max-train`` (4,000) per experiment (AC peaks + one dinucleotide-shuffled negative each; 10% of
it carved out for validation / early stopping), ``trainer=<--trainer>`` (default: patience 3 on val
AUROC, batch 125, the best epoch's weights) with at most ``--max-epochs`` (10) epochs, one torch
thread (``--threads``); test = the experiment's B file (500 + 500). Sized for 2 CPU cores: one seed of the 4 models
on the 13 experiments takes about half an hour. The found model trains with the optimizer / batch
size it was selected with (experiments/tfbs/conf/tfbs_found.training.yaml); the published models
with genarch's defaults (Adam, lr 1e-3, batch 125). ``tfbs_found_default_training`` is the found
architecture trained with those same defaults, so architecture and training settings can be told apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tables import (grid_main, grid_parser, model_overrides, RESULTS, ROOT, RUNS, fmt, md_table, mean_over_seeds, read_ok,
                    summary_stats, win_share_markdown, win_shares, write_json)

EXPERIMENTS = [
    "ARID3A_HepG2", "ARID3A_K562", "CTCFL_K562", "ELK1_GM12878", "FOXA1_HepG2", "FOXM1_GM12878",
    "GABPA_GM12878", "GATA3_SH-SY5Y", "MYC_H1-hESC", "REST_GM12878", "SP1_GM12878", "USF1_HepG2",
    "ZBTB7A_HepG2",
]
SEARCH_SUBSET = ["ARID3A_K562", "GATA3_SH-SY5Y", "MYC_H1-hESC"]  # used to select the found model
MODELS = ["tfbs_found", "attentionnet", "deepbind", "deepmotif", "tfbs_found_default_training"]
PAPER = {"mean_auc": {"attentionnet": 0.933, "deepbind": 0.904, "deepmotif": 0.927},
         "attentionnet_beats": {"deepbind": 0.852, "deepmotif": 0.676}, "n_experiments": 108}
SEARCHPATH = "hydra.searchpath=[file://experiments/tfbs/conf]"


def protocol_name(args) -> str:
    return f"mt{args.max_train}_{args.trainer}" + (f"_ep{args.max_epochs}" if args.max_epochs else "")


def run_dir(args, model: str, experiment: str, seed: int) -> Path:
    return RUNS / "tfbs_h2h" / protocol_name(args) / model / experiment / f"seed{seed}"


def run_one(args, model: str, experiment: str, seed: int) -> bool:
    out = run_dir(args, model, experiment, seed)
    if read_ok(out):
        return False
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "genarch", SEARCHPATH, f"model={model}", "dataset=deepbind_encode",
           f"dataset.experiment={experiment}", f"dataset.max_train={args.max_train}", f"seed={seed}",
           f"trainer={args.trainer}", "trainer.progress=false", f"trainer.threads={args.threads}",
           "++summary=false", f"hydra.run.dir={out}", *model_overrides(ROOT / "experiments" / "tfbs" / "conf", model)]
    if args.max_epochs:
        cmd.append(f"trainer.max_epochs={args.max_epochs}")
    t0 = time.time()
    with open(out / "run.log", "w") as log:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    res = read_ok(out)
    auc = res["metrics"]["test"]["auroc"] if res else None
    print(f"[{time.strftime('%H:%M:%S')}] {model:13s} {experiment:14s} seed {seed}: "
          f"{'test AUROC ' + fmt(auc) if res else 'FAILED rc=' + str(proc.returncode)} ({time.time() - t0:.0f} s)",
          flush=True)
    return True


def collect(args) -> dict:
    base = RUNS / "tfbs_h2h" / protocol_name(args)
    scores: dict[str, dict[str, list[float]]] = {}
    val: dict[str, dict[str, list[float]]] = {}
    seeds_seen: dict[str, dict[str, list[int]]] = {}
    times: dict[str, list[float]] = {}
    for model in args.models:
        for experiment in EXPERIMENTS:
            for seed_dir in sorted((base / model / experiment).glob("seed*")):
                res = read_ok(seed_dir)
                if not res:
                    continue
                scores.setdefault(model, {}).setdefault(experiment, []).append(res["metrics"]["test"]["auroc"])
                val.setdefault(model, {}).setdefault(experiment, []).append(res["metrics"]["val"]["auroc"])
                seeds_seen.setdefault(model, {}).setdefault(experiment, []).append(int(res["seed"]))
                times.setdefault(model, []).append(float(res["wall_time_s"]))
    return {"test": scores, "val": val, "seeds": seeds_seen, "times": times}


def aggregate(args) -> dict:
    data = collect(args)
    table = mean_over_seeds(data["test"])
    # the Table-1 comparison uses only experiments every model has, so shares and means compare like with like
    models = [m for m in args.models if m in table]
    complete = [e for e in EXPERIMENTS if all(e in table[m] for m in models)] if models else []
    common = {m: {e: table[m][e] for e in complete} for m in models}
    shares = win_shares(common)
    stats = summary_stats(common)
    stats_all = summary_stats(table)
    held_out = [e for e in complete if e not in SEARCH_SUBSET]  # experiments the search never saw
    common_ho = {m: {e: table[m][e] for e in held_out} for m in models}
    out = {
        "protocol": {"name": protocol_name(args), "max_train": args.max_train, "trainer": args.trainer,
                     "max_epochs_override": args.max_epochs, "threads": args.threads,
                     "test": "B file (500 ChIP peaks + 500 dinucleotide shuffles)",
                     "selection": "val AUROC (10% carved from the subsampled AC training data)",
                     "search_subset": SEARCH_SUBSET},
        "models": models,
        "experiments_complete": complete,
        "n_experiments_complete": len(complete),
        "seeds": data["seeds"],
        "per_experiment_test_auroc_mean_over_seeds": table,
        "per_experiment_test_auroc_per_seed": data["test"],
        "summary_on_complete_experiments": stats,
        "summary_all_runs": stats_all,
        "win_shares_on_complete_experiments": shares,
        "experiments_complete_outside_search_subset": held_out,
        "summary_outside_search_subset": summary_stats(common_ho),
        "win_shares_outside_search_subset": win_shares(common_ho),
        "mean_wall_time_s": {m: (sum(t) / len(t)) for m, t in data["times"].items()},
        "paper": PAPER,
    }
    write_json(RESULTS / "tfbs_head_to_head.json", out)
    write_markdown(args, out)
    plot(out)
    return out


def write_markdown(args, out: dict) -> None:
    models = out["models"]
    table = out["per_experiment_test_auroc_mean_over_seeds"]
    seeds = out["seeds"]
    lines = ["# TFBS head-to-head: DeepBind ENCODE, test (B file) AUROC", "",
             f"Protocol `{out['protocol']['name']}`: max_train={args.max_train} training sequences per experiment, "
             f"trainer={args.trainer}" + (f" with max_epochs={args.max_epochs}" if args.max_epochs else "") +
             f", {args.threads} torch thread(s), CPU. Each cell is the mean test AUROC over the seeds that "
             "have finished (count in brackets). `tfbs_found` is the architecture the TFBS staged search "
             f"selected on {', '.join(SEARCH_SUBSET)} (validation AUROC only; test files never used for selection).",
             "", f"Complete experiments (every model has >= 1 seed): **{out['n_experiments_complete']} / "
             f"{len(EXPERIMENTS)}**. Command: `python experiments/tfbs/head_to_head.py` "
             "(`--aggregate-only` to rebuild these tables).", ""]
    rows = []
    for e in EXPERIMENTS:
        row = [e + (" (search subset)" if e in SEARCH_SUBSET else "")]
        for m in models:
            v = table.get(m, {}).get(e)
            row.append(f"{fmt(v)} [{len(seeds.get(m, {}).get(e, []))}]" if v is not None else "-")
        rows.append(row)
    stats = out["summary_on_complete_experiments"]
    rows.append(["**mean** (complete experiments)"] + [fmt(stats[m]["mean"]) for m in models])
    rows.append(["**median** (complete experiments)"] + [fmt(stats[m]["median"]) for m in models])
    rows.append(["mean run time (s)"] + [f"{out['mean_wall_time_s'].get(m, 0):.0f}" for m in models])
    lines += [md_table(["experiment"] + models, rows), "",
              "## Win shares (share of complete experiments on which the row model's AUROC is higher; ties count half)",
              "", win_share_markdown(out["win_shares_on_complete_experiments"]) if models else "(no runs yet)", "",
              f"### Outside the search subset ({len(out['experiments_complete_outside_search_subset'])} complete experiments "
              "the search never saw)", "",
              md_table(["", *models], [["mean"] + [fmt(out["summary_outside_search_subset"][m]["mean"]) for m in models],
                                       ["median"] + [fmt(out["summary_outside_search_subset"][m]["median"]) for m in models]]),
              "", win_share_markdown(out["win_shares_outside_search_subset"]) if models else "", "",
              "Paper (108 experiments, GPU, full training data): mean AUC AttentionNet 0.933, DeepMotif 0.927, "
              "DeepBind 0.904; AttentionNet beats DeepBind on 85.2% and DeepMotif on 67.6% of experiments.", "",
              "![per-experiment AUROC](tfbs_head_to_head.png)", ""]
    (RESULTS / "tfbs_head_to_head.md").write_text("\n".join(lines))


def plot(out: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models, table = out["models"], out["per_experiment_test_auroc_mean_over_seeds"]
    if not models:
        return
    fig, ax = plt.subplots(figsize=(11, 4.2))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        xs = [j + i * width for j, e in enumerate(EXPERIMENTS) if e in table.get(m, {})]
        ys = [table[m][e] for e in EXPERIMENTS if e in table.get(m, {})]
        ax.bar(xs, ys, width=width, label=m)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(EXPERIMENTS))])
    ax.set_xticklabels(EXPERIMENTS, rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("test AUROC (mean over seeds)")
    ax.set_title(f"DeepBind ENCODE head-to-head ({out['protocol']['name']}; "
                 f"{out['n_experiments_complete']}/{len(EXPERIMENTS)} experiments complete)")
    ax.legend(fontsize=8, ncol=len(models))
    fig.tight_layout()
    fig.savefig(RESULTS / "tfbs_head_to_head.png", dpi=110)
    plt.close(fig)


def main() -> None:
    args = grid_parser(__doc__, models=MODELS, items_flag="--experiments", items=EXPERIMENTS, max_train=4000,
                       max_epochs=10).parse_args()
    out = grid_main(args, args.experiments, run_one, aggregate)
    print(f"{out['n_experiments_complete']}/{len(EXPERIMENTS)} experiments complete; "
          + "; ".join(f"{m}: mean {fmt(s['mean'])}, median {fmt(s['median'])}"
                      for m, s in out["summary_on_complete_experiments"].items()))


if __name__ == "__main__":
    main()
