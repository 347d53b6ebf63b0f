"""TFBS head-to-head in the paper's Table 1 format on the 13 DeepBind ENCODE experiments with train + test files.

    python -m experiments.tfbs.head_to_head                          # protocol full, 5 models, seeds 0 1 2
    python -m experiments.tfbs.head_to_head --chunk 1/20             # one slice of the grid (resumable)
    python -m experiments.tfbs.head_to_head --limit 4 --device gpu   # at most 4 new runs, on a GPU
    python -m experiments.tfbs.head_to_head --protocol small         # the small-data table
    python -m experiments.tfbs.head_to_head --aggregate-only         # tables + plot from what exists
    python -m experiments.tfbs.head_to_head --experiments CTCFL_K562 --seeds 0 --debug-max-train 400   # smoke

Protocols (the same for every model; each has its own run folders and tables):

* ``full`` (the headline, the paper's setting): every training sequence of the experiment's AC file (the
  ChIP peaks plus one dinucleotide shuffle of each; the 10% validation carve-out keeps each peak with its
  shuffle), early stopping on validation AUROC with patience 5 and at most 100 epochs (the tables count the
  runs that stopped early and those that hit the cap), the best epoch's weights, the B file as test.
  Outputs: experiments/results/tfbs_head_to_head_full.{json,md,png}.
* ``small`` (small-data, ``mt4000_default_ep10``): the same with the training set subsampled to 4,000
  sequences, at most 10 epochs, patience 3. Outputs: experiments/results/tfbs_head_to_head.{json,md,png}.

Models (rows): ``tfbs_found`` = ``+experiment=tfbs_found`` (the searched architecture with the training
it was selected with), ``attentionnet`` = ``+experiment=attentionnet_paper`` (Table 3), ``deepbind`` /
``deepmotif`` = ``+experiment=deepbind_paper`` / ``deepmotif_paper`` (their published recipes where one
is stated), and the control ``tfbs_found_default_training`` = ``model=tfbs_found`` with genarch's default
training. On request (``--models ... attentionnet_both_strands``), not by default: Table 3 reading both
strands (``+experiment=attentionnet_paper +model.strands=both``), the control a found model that reads both
strands needs (docs/models.md, "Both strands"). Any other name runs as ``model=<name>``. The paper's figures
(108 experiments) are read from ../shared/paper/genetic_architect_facts.yaml. Run folders:
experiments/runs/tfbs_h2h/<protocol>/<model>/<experiment>/seed<k>/ (git-ignored); a run with an ok result.json is
never repeated.
"""

import shutil
from pathlib import Path
from typing import Optional

from experiments import paper_facts
from experiments.grid import (RECOVERED, SMALL_DATA, full_protocol, grid_main, grid_parser, mean_seconds,
                              parse_grid_args, protocol_name, read_any, read_current, recovered_note, run_overrides,
                              run_seconds, seed_dirs, stopping, stopping_cell, stopping_summary, table_path, train_cell)
from experiments.tables import RUNS, device_summary, fmt, md_table, mean_over_seeds, run_device, \
    stale_note, summary_stats, win_share_markdown, win_shares, write_json

EXPERIMENTS = [
    "ARID3A_HepG2", "ARID3A_K562", "CTCFL_K562", "ELK1_GM12878", "FOXA1_HepG2", "FOXM1_GM12878",
    "GABPA_GM12878", "GATA3_SH-SY5Y", "MYC_H1-hESC", "REST_GM12878", "SP1_GM12878", "USF1_HepG2",
    "ZBTB7A_HepG2",
]
SEARCH_SUBSET = ["ARID3A_K562", "GATA3_SH-SY5Y", "MYC_H1-hESC"]  # used to select the found model
# row name -> the genarch overrides that select the model and its training recipe
CONTENDERS = {
    "tfbs_found": ["+experiment=tfbs_found"],
    "attentionnet": ["+experiment=attentionnet_paper"],
    "deepbind": ["+experiment=deepbind_paper"],
    "deepmotif": ["+experiment=deepmotif_paper"],
    "tfbs_found_default_training": ["model=tfbs_found"],
}
MODELS = list(CONTENDERS)  # the default rows
ON_REQUEST = {"attentionnet_both_strands": ["+experiment=attentionnet_paper", "+model.strands=both"]}  # --models
PROTOCOLS = {"full": full_protocol("all training sequences"), "small": SMALL_DATA}
RESULT_NAMES = {"full": "tfbs_head_to_head_full", "mt4000_default_ep10": "tfbs_head_to_head"}


def contender(model: str) -> list[str]:
    return CONTENDERS.get(model) or ON_REQUEST.get(model) or [f"model={model}"]


def run_dir(args, model: str, experiment: str, seed: int) -> Path:
    return RUNS / "tfbs_h2h" / protocol_name(args) / model / experiment / f"seed{seed}"


def cell_overrides(args, model: str, experiment: str, seed: int) -> list[str]:
    out = run_dir(args, model, experiment, seed)
    return [*contender(model), "dataset=deepbind_encode", f"dataset.experiment={experiment}", f"seed={seed}",
            *run_overrides(args, out)]


def run_one(args, model: str, experiment: str, seed: int) -> bool:
    out, overrides = run_dir(args, model, experiment, seed), cell_overrides(args, model, experiment, seed)
    if read_current(out, overrides):
        return False
    shutil.rmtree(out / "interpret", ignore_errors=True)  # interpret_found's motifs of an older run here
    train_cell(out, overrides, f"{model:28s} {experiment:14s} seed {seed}",
               lambda res: f"test AUROC {fmt(res['metrics']['test']['auroc'])}, {res['epochs']} epochs")
    return True


def collect(args) -> dict:
    base = RUNS / "tfbs_h2h" / protocol_name(args)
    data: dict = {"test": {}, "val": {}, "seeds": {}, "times": {}, "stops": {}, "stale": {}, "devices": {},
                  "recovered": {}}
    for model in args.models:
        for experiment in EXPERIMENTS:
            for seed_dir in seed_dirs(base / model / experiment):
                res = read_current(seed_dir, cell_overrides(args, model, experiment, int(seed_dir.name[4:])))
                if not res:
                    data["stale"][model] = data["stale"].get(model, 0) + bool(read_any(seed_dir))
                    continue
                data["devices"].setdefault(model, set()).add(run_device(res))
                data["recovered"][model] = data["recovered"].get(model, 0) + (RECOVERED in res)
                data["test"].setdefault(model, {}).setdefault(experiment, []).append(res["metrics"]["test"]["auroc"])
                val = res["metrics"].get("val", {}).get("auroc")  # a recovered record kept no validation score
                data["val"].setdefault(model, {}).setdefault(experiment, []).append(val)
                data["seeds"].setdefault(model, {}).setdefault(experiment, []).append(int(res["seed"]))
                data["times"].setdefault(model, []).append(run_seconds(res))
                data["stops"].setdefault(model, []).append(stopping(res))
    return data


def paper_table1() -> dict:
    """Table 1 from the facts file, keyed by our row names."""
    paper = paper_facts.tfbs()
    return {"n_experiments": paper["n_datasets"], "mean_auc": paper["mean_auc"], "median_auc": paper["median_auc"],
            "win_share": {f"{a}_over_{b}": v for (a, b), v in paper["win_share"].items()}}


def table_json(args) -> Path:
    return table_path(args, RESULT_NAMES, "tfbs_head_to_head")


def aggregate(args) -> dict:
    data = collect(args)
    table = mean_over_seeds(data["test"])
    # the Table-1 comparison uses only experiments every model has, so shares and means compare like with like
    models = [m for m in args.models if m in table]
    complete = [e for e in EXPERIMENTS if all(e in table[m] for m in models)] if models else []
    common = {m: {e: table[m][e] for e in complete} for m in models}
    held_out = [e for e in complete if e not in SEARCH_SUBSET]  # experiments the search never saw
    common_ho = {m: {e: table[m][e] for e in held_out} for m in models}
    p = args.protocol
    out = {
        "protocol": {"name": protocol_name(args), "title": p.title, "max_train": p.max_train,
                     "max_epochs": p.max_epochs, "patience": p.patience, "threads": args.threads,
                     "device": device_summary(data["devices"]), "device_flag": args.device,
                     "debug_max_train": args.debug_max_train,
                     "test": "B file (500 ChIP peaks + 500 dinucleotide shuffles)",
                     "selection": "val AUROC (10% carved from the AC training data, each peak with its shuffle)",
                     "search_subset": SEARCH_SUBSET},
        "models": models,
        "contenders": {m: contender(m) for m in models},
        "devices": {m: sorted(d) for m, d in data["devices"].items()},
        "runs_left_out_made_with_another_config": {m: n for m, n in data["stale"].items() if n},
        "runs_kept_as_recovered_records": {m: n for m, n in data["recovered"].items() if n},
        "experiments_complete": complete,
        "n_experiments_complete": len(complete),
        "seeds": data["seeds"],
        "per_experiment_test_auroc_mean_over_seeds": table,
        "per_experiment_test_auroc_per_seed": data["test"],
        "summary_on_complete_experiments": summary_stats(common),
        "summary_all_runs": summary_stats(table),
        "win_shares_on_complete_experiments": win_shares(common),
        "experiments_complete_outside_search_subset": held_out,
        "summary_outside_search_subset": summary_stats(common_ho),
        "win_shares_outside_search_subset": win_shares(common_ho),
        "early_stopping": stopping_summary(data["stops"]),
        "mean_wall_time_s": mean_seconds(data["times"]),
        "runs_with_wall_time": {m: [t is not None for t in ts].count(True) for m, ts in data["times"].items()},
        "paper": paper_table1(),
    }
    path = table_json(args)
    write_json(path, out)
    path.with_suffix(".md").write_text(markdown(args, out, path.stem))
    plot(out, path.with_suffix(".png"))
    return out


def table1_rows(out: dict) -> tuple[list[list[str]], list[list[str]]]:
    """Table 1 beside the paper's: mean and median AUC per model, and the paper's pairwise win shares."""
    paper, models, stats = out["paper"], out["models"], out["summary_on_complete_experiments"]
    shares = out["win_shares_on_complete_experiments"]
    summary = [["mean AUC"] + [fmt(stats[m]["mean"]) for m in models],
               ["mean AUC, paper"] + [fmt(paper["mean_auc"].get(m)) for m in models],
               ["median AUC"] + [fmt(stats[m]["median"]) for m in models],
               ["median AUC, paper"] + [fmt(paper["median_auc"].get(m)) for m in models]]
    pairs = []
    for key, value in paper["win_share"].items():
        a, b = key.split("_over_")
        ours: Optional[float] = shares.get(a, {}).get(b)
        pairs.append([f"{a} beats {b}", fmt(ours, pct=True), fmt(value, pct=True)])
    return summary, pairs


def markdown(args, out: dict, name: str) -> str:
    models, table = out["models"], out["per_experiment_test_auroc_mean_over_seeds"]
    seeds, paper = out["seeds"], out["paper"]
    p = args.protocol
    flags = f"--protocol {'small' if p.name != 'full' else 'full'}"
    lines = [f"# TFBS head-to-head ({'small-data' if p.max_train else 'full data'}): "
             "DeepBind ENCODE, test (B file) AUROC",
             "", f"Protocol `{out['protocol']['name']}`: {p.title}"
             + (f" (**smoke: training capped at {args.debug_max_train} sequences**)" if args.debug_max_train else "")
             + "; the best epoch's weights; "
             f"{args.threads} torch thread(s), device {out['protocol']['device']}. "
             "Each cell is the mean test AUROC over "
             "the seeds that have finished (count in brackets). `tfbs_found` is the architecture the TFBS staged "
             f"search selected on {', '.join(SEARCH_SUBSET)} (validation AUROC only; test files never used for "
             "selection).", "",
             "Complete experiments (every model has >= 1 seed): "
             f"**{out['n_experiments_complete']} / {len(EXPERIMENTS)}**. "
             f"Command: `python -m experiments.tfbs.head_to_head {flags}` "
             "(`--aggregate-only` to rebuild these tables).",
             "", *stale_note(out["runs_left_out_made_with_another_config"]),
             *recovered_note(out["runs_kept_as_recovered_records"])]
    rows = []
    for e in EXPERIMENTS:
        row = [e + (" (search subset)" if e in SEARCH_SUBSET else "")]
        for m in models:
            v = table.get(m, {}).get(e)
            row.append(f"{fmt(v)} [{len(seeds.get(m, {}).get(e, []))}]" if v is not None else "-")
        rows.append(row)
    stops = out["early_stopping"]
    rows.append(["stopped early / hit the epoch cap"] + [stopping_cell(stops[m]) for m in models])
    timed = out["runs_with_wall_time"]
    rows.append(["mean run time (s)"] + [fmt(out["mean_wall_time_s"].get(m), 0)
                                         + (f" ({timed.get(m, 0)} of {stops[m]['runs']} runs timed)"
                                            if timed.get(m, 0) < stops[m]["runs"] else "") for m in models])
    lines += [md_table(["experiment"] + models, rows), "",
              f"## Table 1 format (complete experiments), beside the paper's ({paper['n_experiments']} experiments; "
              "../shared/paper/genetic_architect_facts.yaml)", "",
              *((md_table([""] + models, table1_rows(out)[0]), "",
                 md_table(["win share (data sets)", "ours", "paper"], table1_rows(out)[1]))
                if models else ("(no runs yet)",)),
              "",
              "## Win shares (share of complete experiments on which the row model's AUROC is higher; ties count half)",
              "", win_share_markdown(out["win_shares_on_complete_experiments"]) if models else "(no runs yet)", "",
              f"### Outside the search subset ({len(out['experiments_complete_outside_search_subset'])} complete "
              "experiments the search never saw)", "",
              md_table(["", *models],
                       [["mean"] + [fmt(out["summary_outside_search_subset"][m]["mean"]) for m in models],
                        ["median"] + [fmt(out["summary_outside_search_subset"][m]["median"]) for m in models]]),
              "", win_share_markdown(out["win_shares_outside_search_subset"]) if models else "", "",
              f"![per-experiment AUROC]({name}.png)", ""]
    return "\n".join(lines)


def plot(out: dict, path: Path) -> None:
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
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    args = parse_grid_args(grid_parser(__doc__, models=MODELS, items_flag="--experiments", items=EXPERIMENTS,
                                       protocols=PROTOCOLS), argv)
    out = grid_main(args, args.experiments, run_one, aggregate, table_json)
    print(f"{out['n_experiments_complete']}/{len(EXPERIMENTS)} experiments complete; "
          + "; ".join(f"{m}: mean {fmt(s['mean'])}, median {fmt(s['median'])}"
                      for m, s in out["summary_on_complete_experiments"].items()))


if __name__ == "__main__":
    main()
