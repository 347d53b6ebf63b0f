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

from genarch.jaspar import DEFAULT_RELEASE  # noqa: E402

PAPER = {"experiments": 57, "pfm": 30, "pfm_or_kmers": 42}
Q = 0.05


def trainable_experiments(data_root: Path) -> list[str]:
    from genarch.data.sources import deepbind_experiments

    return sorted(e for e, f in deepbind_experiments(data_root / "tfbs" / "deepbind_encode").items() if f["train"])


def run_one(experiment: str, args, cores: dict) -> dict:
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from genarch.app import quiet_libraries
    from genarch.data import load_dataset
    from genarch.interpret.pipeline import InterpretConfig, interpret_run
    from genarch.interpret.tfnames import motifs_of_tf, tf_from_experiment
    from genarch.training.runner import train

    tf = tf_from_experiment(experiment)
    own = motifs_of_tf(tf, next(iter(cores.values())))  # the headline (first) release decides inclusion
    row = {"experiment": experiment, "tf": tf, "jaspar_ids": [m.matrix_id for m in own]}
    if not own:
        row["status"] = "no JASPAR entry"
        return row
    quiet_libraries()
    run_dir = Path(args.runs) / experiment
    (run_dir / ".hydra").mkdir(parents=True, exist_ok=True)
    overrides = ["dataset=deepbind_encode", f"dataset.experiment='{experiment}'", f"dataset.max_train={args.max_train}",
                 f"dataset.data_root={args.data_root}", f"trainer.max_epochs={args.epochs}",
                 f"trainer.patience={args.patience}", "trainer.progress=false", f"trainer.threads={args.threads}",
                 f"seed={args.seed}"]
    with initialize_config_module("genarch.conf", version_base="1.3"):
        cfg = compose("config", overrides=overrides)
    OmegaConf.save(cfg, run_dir / ".hydra" / "config.yaml")
    t0 = time.perf_counter()
    bundle = load_dataset(cfg.dataset)
    if args.reuse and (run_dir / "model.pt").exists() and (run_dir / "result.json").exists():
        metrics = json.loads((run_dir / "result.json").read_text())
        auroc, epochs = metrics.get("metrics", {}).get("test", {}).get("auroc"), metrics.get("epochs")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = train(cfg, run_dir, bundle=bundle)
        result.write(run_dir)
        auroc, epochs = result.metrics.get("test", {}).get("auroc"), result.epochs
    t1 = time.perf_counter()
    row.update({"status": "ok", "test_auroc": auroc, "epochs": epochs, "n_train": len(bundle.train),
                "train_s": round(t1 - t0, 1), "by_release": {}})
    for n_release, (release, core) in enumerate(cores.items()):
        out_dir = run_dir / ("interpret" if n_release == 0 else f"interpret_{release}")
        report = interpret_run(run_dir, InterpretConfig(top_n=args.top_n, k=args.k, release=release,
                                                        tax_group=args.tax_group, tf=tf, out_dir=str(out_dir),
                                                        plots=not args.no_plots and n_release == 0,
                                                        logos=n_release == 0, n_jobs=args.threads),
                               bundle=bundle, targets=core)
        row["by_release"][release] = evaluate(report, tf, core)
        row["by_release"][release]["interpret_dir"] = portable(out_dir)
    row["interpret_s"] = round(time.perf_counter() - t1, 1)
    return row


def evaluate(report, tf: str, core) -> dict:
    """Flags for one release: is the ChIP'd TF the best match (q < Q) of the PFM / a k-mer / the aligned PFM."""
    from genarch.interpret.tfnames import motifs_of_tf

    out = report.outputs[0]
    best = {m.query.split(":")[-1]: m for m in out.matches if m.rank == 1}
    motifs = {x.name.split(":")[-1]: x for x in out.motif_set.motifs()}

    def ok(m, levels=("tf",)):
        return bool(m is not None and m.q_value < Q and m.level in levels)

    kmers = [best.get(f"kmer{i}") for i in (1, 2, 3)]
    top3: dict[str, list] = {}
    for m in out.matches:  # looser: the ChIP'd TF among the top-3 matches (q < Q)
        top3.setdefault(m.query.split(":")[-1], []).append(m)
    in_top3 = lambda key: any(ok(m) for m in top3.get(key, []))  # noqa: E731
    return {
        "tf_in_release": bool(motifs_of_tf(tf, core)),
        "best": {k: {"target": f"{m.target_id} {m.target_name}", "q": m.q_value, "level": m.level,
                     "consensus": motifs[k].meta.get("kmer", motifs[k].consensus)} for k, m in best.items()},
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
    }


FLAGS = ("pfm", "pfm_or_kmers", "aligned", "any", "pfm_family", "pfm_or_kmers_family", "aligned_family",
         "pfm_top3", "pfm_or_kmers_top3", "aligned_top3")


def summarise(rows: list[dict], args) -> dict:
    done = [r for r in rows if r.get("status") == "ok"]
    releases = list(args.releases)
    counts = {rel: {k: sum(bool(r["by_release"][rel][k]) for r in done if rel in r["by_release"]) for k in FLAGS}
              for rel in releases}
    for rel in releases:  # experiments whose TF has a matrix in that release (the denominator there)
        counts[rel]["n_tf_in_release"] = sum(bool(r["by_release"][rel]["tf_in_release"]) for r in done
                                             if rel in r["by_release"])
    settings = {k: portable(v) if k in PATHS else v for k, v in vars(args).items() if k not in ("experiments",)}
    return {"settings": settings, "q_threshold": Q,
            "headline_release": releases[0], "n_experiments_with_jaspar": len(done),
            "n_skipped": len(rows) - len(done), "counts": counts, "paper": PAPER, "rows": rows}


PATHS = ("data_root", "runs", "out")  # settings that are paths: recorded relative to the repository


def portable(path: "str | Path") -> str:
    """A path as the results file records it: relative to the repository (``experiments/runs/...``, the shared
    data beside it as ``../shared/data``), not the absolute path of the machine that ran it."""
    return os.path.relpath(Path(path).resolve(), ROOT)


def write(summary: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    n = summary["n_experiments_with_jaspar"]
    s = summary["settings"]
    lines = [
        "# Attention-derived motifs vs the ChIP'd TF (DeepBind ENCODE)", "",
        f"AttentionNet per experiment: max_train={s['max_train']} (positives + their dinucleotide shuffles), "
        f"max_epochs={s['epochs']}, patience={s['patience']}, seed={s['seed']}, {s['threads']} thread(s); motifs "
        f"from the top {s['top_n']} test (B file) positives ranked by prediction, k={s['k']}; TOMTOM vs JASPAR CORE "
        f"{s['tax_group']}, BH q over all pairs. Experiments: those with a training file whose TF has a matrix in "
        f"{summary['headline_release']} ({n}).", "",
        f"Columns: the best match is the ChIP'd TF; the best match is the TF or its JASPAR family; the TF is among "
        f"the top-3 matches. Every match must have q < {summary['q_threshold']}. Command: "
        f"`python experiments/interpret_encode.py`.", "",
    ]
    for rel, c in summary["counts"].items():
        m = c["n_tf_in_release"]
        lines += [f"## {rel} ({'headline' if rel == summary['headline_release'] else 'comparison'}; "
                  f"{m} of the {n} TFs have a matrix in this release)", "",
                  "| read-out | best = TF | best = TF or family | TF in top 3 | paper |", "|---|---|---|---|---|",
                  f"| PFM (paper's read-out) | {c['pfm']} / {n} | {c['pfm_family']} / {n} | {c['pfm_top3']} / {n} | 30 / 57 |",
                  f"| PFM or top-3 k-mers | {c['pfm_or_kmers']} / {n} | {c['pfm_or_kmers_family']} / {n} | "
                  f"{c['pfm_or_kmers_top3']} / {n} | 42 / 57 |",
                  f"| aligned PFM (genarch) | {c['aligned']} / {n} | {c['aligned_family']} / {n} | {c['aligned_top3']} / {n} | - |",
                  ""]
    head = summary["headline_release"]
    lines += [f"## Per experiment ({head})", "",
              "| experiment | TF | test AUROC | PFM best match (q, level) | aligned PFM | k-mer 1 | best = TF |",
              "|---|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        if r.get("status") != "ok":
            lines.append(f"| {r['experiment']} | {r['tf']} | - | {r.get('status')} | | | |")
            continue
        ev = r["by_release"][head]
        b = ev["best"]
        cell = lambda key: (f"{b[key]['consensus']}: {b[key]['target']} ({b[key]['q']:.2g}, {b[key]['level']})"  # noqa: E731
                            if key in b else "-")
        flags = ", ".join(k for k in ("pfm", "aligned", "pfm_or_kmers") if ev[k]) or "no"
        auroc = f"{r['test_auroc']:.3f}" if r.get("test_auroc") is not None else "-"
        lines.append(f"| {r['experiment']} | {r['tf']} | {auroc} | {cell('pfm')} | {cell('pfm_aligned')} "
                     f"| {cell('kmer1')} | {flags} |")
    lines += ["", "Only 13 of the paper's 57 experiments have training files here, and each model trains on a "
              "subsample for a few epochs on 2 CPU cores, so the counts are not directly comparable with the paper's."]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiments", nargs="*", default=None, help="names or unique prefixes (default: all trainable)")
    p.add_argument("--data-root", default=os.environ.get("GENARCH_DATA", str(ROOT.parent / "shared" / "data")))
    p.add_argument("--max-train", type=int, default=16000)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top-n", type=int, default=100)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--releases", nargs="+", default=[DEFAULT_RELEASE, "JASPAR2016"],
                   help="JASPAR releases to match against; the first is the headline (default %(default)s)")
    p.add_argument("--reuse", action="store_true", help="reuse trained models in --runs instead of retraining")
    p.add_argument("--tax-group", default="vertebrates")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--runs", default=str(ROOT / "experiments" / "runs" / "interpret_encode"))
    p.add_argument("--out", default=str(ROOT / "experiments" / "results" / "interpret_encode"))
    args = p.parse_args(argv)

    from genarch.data.sources import resolve_experiment
    from genarch.jaspar import load_core

    available = trainable_experiments(Path(args.data_root))
    names = [resolve_experiment(e, available) for e in args.experiments] if args.experiments else available
    cores = {rel: list(load_core(rel, args.tax_group)) for rel in args.releases}
    rows = []
    for name in names:
        start = time.perf_counter()
        try:
            row = run_one(name, args, cores)
        except Exception as err:  # noqa: BLE001 - one failing experiment is recorded, the rest still run
            row = {"experiment": name, "tf": name.split("_")[0], "status": f"failed: {type(err).__name__}: {err}"}
        rows.append(row)
        write(summarise(rows, args), Path(args.out))
        head = row.get("by_release", {}).get(args.releases[0], {})
        flags = {k: head.get(k) for k in ("pfm", "pfm_or_kmers", "aligned")}
        print(f"{name}: {row.get('status')} {flags} auroc={row.get('test_auroc')} ({time.perf_counter() - start:.0f} s)",
              flush=True)
    summary = summarise(rows, args)
    print(json.dumps({"n": summary["n_experiments_with_jaspar"], **summary["counts"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
