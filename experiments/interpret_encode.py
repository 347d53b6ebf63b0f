"""How many attention-derived motifs match the ChIP'd TF on the DeepBind ENCODE experiments
(Genetic Architect, Sec. 4.1: 30 of 57 experiments, 42 of 57 counting the top 3 recurring k-mers).

For every experiment with a training file whose TF has a JASPAR CORE entry, train AttentionNet with a
short budget (subsampled training set, few epochs, one thread), interpret it with
``genarch.interpret`` on the held-out B file, and count experiments whose motif's best TOMTOM match
(q < 0.05) is the ChIP'd TF (or its family):

* ``pfm``: the paper's PFM (k bp around the attention peak of the top-100 test positives);
* ``pfm_or_kmers``: the PFM or any of the top-3 recurring k-mers (the paper's second count);
* ``aligned``: genarch's strand/shift-aligned PFM of the same windows.

    python experiments/interpret_encode.py                       # all trainable experiments
    python experiments/interpret_encode.py --experiments SP1 USF1 --max-train 4000 --epochs 6

Writes experiments/results/interpret_encode.json and .md (updated after every experiment); run
directories go to experiments/runs/interpret_encode/<experiment>/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genarch.interpret.numba_cache import ensure_numba_cache_dir  # noqa: E402

ensure_numba_cache_dir()

from genarch.interpret.jaspar import DEFAULT_RELEASE  # noqa: E402

PAPER = {"experiments": 57, "pfm": 30, "pfm_or_kmers": 42}
Q = 0.05


def trainable_experiments(data_root: Path) -> list[str]:
    from genarch.data.sources import deepbind_experiments

    return sorted(e for e, f in deepbind_experiments(data_root / "tfbs" / "deepbind_encode").items() if f["train"])


def run_one(experiment: str, args, core) -> dict:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from genarch.app import quiet_libraries
    from genarch.data import load_dataset
    from genarch.interpret.pipeline import InterpretConfig, interpret_run
    from genarch.interpret.tfnames import motifs_of_tf, tf_from_experiment
    from genarch.training.runner import train

    tf = tf_from_experiment(experiment)
    own = motifs_of_tf(tf, core)
    row = {"experiment": experiment, "tf": tf, "jaspar_ids": [m.matrix_id for m in own]}
    if not own:
        row["status"] = "no JASPAR entry"
        return row
    quiet_libraries()
    run_dir = Path(args.runs) / experiment
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    overrides = [f"dataset=deepbind_encode", f"dataset.experiment='{experiment}'", f"dataset.max_train={args.max_train}",
                 f"dataset.data_root={args.data_root}", f"trainer.max_epochs={args.epochs}",
                 f"trainer.patience={args.patience}", "trainer.progress=false", f"trainer.threads={args.threads}",
                 f"seed={args.seed}"]
    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    t0 = time.perf_counter()
    bundle = load_dataset(cfg.dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train(cfg, run_dir, bundle=bundle)
    result.write(run_dir)
    t1 = time.perf_counter()
    report = interpret_run(run_dir, InterpretConfig(top_n=args.top_n, k=args.k, release=args.release,
                                                    tax_group=args.tax_group, tf=tf, plots=not args.no_plots,
                                                    n_jobs=args.threads), bundle=bundle, targets=core)
    out = report.outputs[0]
    best = {m.query.split(":")[-1]: m for m in out.matches if m.rank == 1}

    def ok(m, levels=("tf",)):
        return bool(m is not None and m.q_value < Q and m.level in levels)

    kmers = [best.get(f"kmer{i}") for i in (1, 2, 3)]
    # looser: the ChIP'd TF among the top-3 matches (q < 0.05) of the PFM / of the PFM or a k-mer
    top3 = {}
    for m in out.matches:
        top3.setdefault(m.query.split(":")[-1], []).append(m)
    in_top3 = lambda key: any(ok(m) for m in top3.get(key, []))  # noqa: E731
    row.update({
        "status": "ok", "test_auroc": result.metrics.get("test", {}).get("auroc"), "epochs": result.epochs,
        "n_train": result.extra.get("n_train"), "train_s": round(t1 - t0, 1),
        "interpret_s": round(time.perf_counter() - t1, 1),
        "best": {k: {"target": f"{m.target_id} {m.target_name}", "q": m.q_value, "level": m.level,
                     "consensus": next(x for x in out.motif_set.motifs() if x.name == m.query).meta.get(
                         "kmer", next(x for x in out.motif_set.motifs() if x.name == m.query).consensus)}
                 for k, m in best.items()},
        "pfm": ok(best.get("pfm")),
        "pfm_or_kmers": ok(best.get("pfm")) or any(ok(m) for m in kmers),
        "aligned": ok(best.get("pfm_aligned")),
        "any": ok(best.get("pfm")) or ok(best.get("pfm_aligned")) or any(ok(m) for m in kmers),
        "pfm_family": ok(best.get("pfm"), ("tf", "family")),
        "pfm_or_kmers_family": ok(best.get("pfm"), ("tf", "family")) or any(ok(m, ("tf", "family")) for m in kmers),
        "aligned_family": ok(best.get("pfm_aligned"), ("tf", "family")),
        "pfm_top3": in_top3("pfm"),
        "pfm_or_kmers_top3": in_top3("pfm") or any(in_top3(f"kmer{i}") for i in (1, 2, 3)),
        "aligned_top3": in_top3("pfm_aligned"),
        "interpret_dir": str(run_dir / "interpret"),
    })
    return row


def summarise(rows: list[dict], args) -> dict:
    done = [r for r in rows if r.get("status") == "ok"]
    counts = {k: sum(bool(r[k]) for r in done) for k in
              ("pfm", "pfm_or_kmers", "aligned", "any", "pfm_family", "pfm_or_kmers_family", "aligned_family",
               "pfm_top3", "pfm_or_kmers_top3", "aligned_top3")}
    return {"settings": {k: v for k, v in vars(args).items() if k not in ("experiments",)}, "q_threshold": Q,
            "n_experiments_with_jaspar": len(done), "n_skipped": len(rows) - len(done), "counts": counts,
            "paper": PAPER, "rows": rows}


def write(summary: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    n = summary["n_experiments_with_jaspar"]
    c = summary["counts"]
    s = summary["settings"]
    lines = [
        "# Attention-derived motifs vs the ChIP'd TF (DeepBind ENCODE)", "",
        f"AttentionNet per experiment: max_train={s['max_train']}, max_epochs={s['epochs']}, seed={s['seed']}; "
        f"motifs from the top {s['top_n']} test positives, k={s['k']}; TOMTOM vs JASPAR {s['release']} CORE "
        f"{s['tax_group']}; a match counts when the best match has q < {summary['q_threshold']} and is the ChIP'd TF.",
        "",
        "Columns: best match is the TF; best match is the TF or its JASPAR family; the TF is among the top-3 "
        "matches (each q < 0.05).", "",
        "| count | best = TF | best = TF or family | TF in top 3 | paper |", "|---|---|---|---|---|",
        f"| PFM (paper's read-out) | {c['pfm']} / {n} | {c['pfm_family']} / {n} | {c['pfm_top3']} / {n} | 30 / 57 |",
        f"| PFM or top-3 k-mers | {c['pfm_or_kmers']} / {n} | {c['pfm_or_kmers_family']} / {n} | {c['pfm_or_kmers_top3']} / {n} | 42 / 57 |",
        f"| aligned PFM (genarch) | {c['aligned']} / {n} | {c['aligned_family']} / {n} | {c['aligned_top3']} / {n} | - |",
        f"| any of the above | {c['any']} / {n} | | |", "",
        "| experiment | TF | test AUROC | PFM best match (q) | aligned best match (q) | k-mer 1 best match (q) | TF match |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary["rows"]:
        if r.get("status") != "ok":
            lines.append(f"| {r['experiment']} | {r['tf']} | - | {r.get('status')} | | | |")
            continue
        b = r["best"]
        cell = lambda key: f"{b[key]['target']} ({b[key]['q']:.2g}, {b[key]['level']})" if key in b else "-"  # noqa: E731
        flags = ", ".join(k for k in ("pfm", "aligned", "pfm_or_kmers") if r[k]) or "none"
        lines.append(f"| {r['experiment']} | {r['tf']} | {r['test_auroc']:.3f} | {cell('pfm')} | {cell('pfm_aligned')} "
                     f"| {cell('kmer1')} | {flags} |")
    lines += ["", "The paper's 57 experiments are not all available here (13 have training files); counts are not "
              "directly comparable, and each model trains on a subsample for a few epochs."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiments", nargs="*", default=None, help="names or unique prefixes (default: all trainable)")
    p.add_argument("--data-root", default=os.environ.get("GENARCH_DATA", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--max-train", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top-n", type=int, default=100)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--release", default=DEFAULT_RELEASE)
    p.add_argument("--tax-group", default="vertebrates")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--runs", default=str(ROOT / "experiments" / "runs" / "interpret_encode"))
    p.add_argument("--out", default=str(ROOT / "experiments" / "results" / "interpret_encode"))
    args = p.parse_args(argv)

    from genarch.data.sources import resolve_experiment
    from genarch.interpret.jaspar import load_core

    available = trainable_experiments(Path(args.data_root))
    names = [resolve_experiment(e, available) for e in args.experiments] if args.experiments else available
    core = list(load_core(args.release, args.tax_group))
    rows = []
    for name in names:
        start = time.perf_counter()
        try:
            row = run_one(name, args, core)
        except Exception as err:  # noqa: BLE001 - one failing experiment is recorded, the rest still run
            row = {"experiment": name, "tf": name.split("_")[0], "status": f"failed: {type(err).__name__}: {err}"}
        rows.append(row)
        write(summarise(rows, args), Path(args.out))
        flags = {k: row.get(k) for k in ("pfm", "pfm_or_kmers", "aligned")}
        print(f"{name}: {row.get('status')} {flags} auroc={row.get('test_auroc')} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    summary = summarise(rows, args)
    print(json.dumps({"n": summary["n_experiments_with_jaspar"], **summary["counts"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
