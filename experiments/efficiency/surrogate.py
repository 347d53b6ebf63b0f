"""A surrogate of the search-efficiency task, fit on real trials (the issue allows one "fit on at
least 300 real trials and documented as such").

    python -m experiments.efficiency.surrogate collect          # >= 320 real random-search trials (resumable)
    python -m experiments.efficiency.surrogate fit              # fit + 5-fold cross-validation report

``collect`` runs nevergrad's RandomSearch over the whole stage-1 space of
``experiments/efficiency/conf/stage/eff_tfbs.yaml`` (real training on ARID3A K562: 2,000 training
sequences, 4 epochs, one thread) into ``experiments/runs/efficiency/collect/``. ``fit`` reads every
finished trial's ``result.json`` and fits a random forest from the trial's resolved hyperparameters
(``hparams``, the same flat dotted keys every genarch run writes) to its validation AUROC; a failed
trial (diverged, NaN loss) counts as 0.5, the AUROC of a model that learned nothing. Hyperparameters
of an inactive block (RNN units without an RNN, head units without a head layer, ...) are set to a
sentinel so the forest does not read noise into them. The model and its feature list go to
``experiments/runs/efficiency/surrogate.joblib``; the cross-validated fit quality (R^2, Spearman
rho, mean absolute error, all out of fold) to ``experiments/results/efficiency_surrogate.json``.

The surrogate is deterministic: a configuration always gets the same score, like a real trial with
its fixed training seed. ``experiments/efficiency/surrogate_app.py`` serves it to the sweeps.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from experiments.tables import RESULTS, ROOT, RUNS, write_json

COLLECT = RUNS / "efficiency" / "collect"
MODEL_FILE = RUNS / "efficiency" / "surrogate.joblib"
STAGE = "eff_tfbs"
SEARCHPATH = "hydra.searchpath=[file://experiments/efficiency/conf]"
FAILED_VALUE = 0.5  # a failed (diverged) trial scores what a model that learned nothing scores
INACTIVE = -1.0

# the stage-1 search space as resolved hyperparameters (result.json "hparams" keys)
CATEGORICAL = ["model.activation", "model.stem.first_activation", "model.residual.kind", "model.reduction.kind",
               "model.rnn.kind", "model.pooling.kind", "optimizer.name"]
NUMERIC = ["model.stem.filter_size", "model.stem.batchnorm", "model.stem.filters", "model.stem.convs_before",
           "model.residual.before", "model.residual.after", "model.reduction.stride", "model.stem.convs_after",
           "model.rnn.layers", "model.rnn.units", "model.rnn.bidirectional", "model.rnn.grad_clip",
           "model.head.layers", "model.head.units", "model.head.batchnorm", "model.head.dropout",
           "optimizer.l2", "optimizer.lr_scale", "trainer.batch_size"]
LOG = {"optimizer.lr_scale", "model.head.units"}
INACTIVE_WHEN = {  # feature -> (switch key, value that turns it off)
    "model.residual.before": ("model.residual.kind", "none"),
    "model.residual.after": ("model.residual.kind", "none"),
    "model.reduction.stride": ("model.reduction.kind", "none"),
    "model.rnn.layers": ("model.rnn.kind", "none"),
    "model.rnn.units": ("model.rnn.kind", "none"),
    "model.rnn.bidirectional": ("model.rnn.kind", "none"),
    "model.rnn.grad_clip": ("model.rnn.kind", "none"),
}
HEAD_KEYS = ("model.head.units", "model.head.batchnorm", "model.head.dropout")


def _num(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if value is None:
        return INACTIVE
    return float(value)


def encode(hparams: Mapping[str, Any]) -> dict[str, Any]:
    """One trial's resolved hyperparameters -> the surrogate's raw features (categoricals as strings)."""
    missing = [k for k in CATEGORICAL + NUMERIC if k not in hparams]
    if missing:
        raise KeyError(f"the surrogate needs these hyperparameters, the run has none: {missing}")
    row: dict[str, Any] = {k: str(hparams[k]) for k in CATEGORICAL}
    for k in NUMERIC:
        v = _num(hparams[k])
        row[k] = math.log10(v) if k in LOG and v > 0 else v
    for k, (switch, off) in INACTIVE_WHEN.items():
        if str(hparams[switch]) == off:
            row[k] = INACTIVE
    if int(hparams["model.head.layers"]) == 0:
        for k in HEAD_KEYS:
            row[k] = INACTIVE
    return row


def design(rows: list[dict[str, Any]], categories: Mapping[str, list[str]] | None = None):
    """Rows -> (matrix, column names, categories); unseen categories get all-zero one-hot columns."""
    if categories is None:
        categories = {k: sorted({r[k] for r in rows}) for k in CATEGORICAL}
    names = list(NUMERIC) + [f"{k}={v}" for k in CATEGORICAL for v in categories[k]]
    X = np.zeros((len(rows), len(names)))
    for i, r in enumerate(rows):
        X[i, :len(NUMERIC)] = [r[k] for k in NUMERIC]
        j = len(NUMERIC)
        for k in CATEGORICAL:
            for v in categories[k]:
                X[i, j] = float(r[k] == v)
                j += 1
    return X, names, dict(categories)


def load_real_trials(sweep_dir: Path = COLLECT) -> tuple[list[dict[str, Any]], np.ndarray, int]:
    """(encoded rows, scores, number failed) of every finished trial under ``sweep_dir``."""
    rows, ys, failed = [], [], 0
    for path in sorted(sweep_dir.glob("*/result.json"),
                       key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0):
        res = json.loads(path.read_text())
        if not res.get("hparams") or "model.rnn.kind" not in res["hparams"]:
            continue  # failed before the config resolved: nothing to learn from
        ok = res["status"] == "ok" and res["objective"]["value"] is not None
        failed += not ok
        rows.append(encode(res["hparams"]))
        ys.append(float(res["objective"]["value"]) if ok else FAILED_VALUE)
    return rows, np.array(ys), failed


def new_forest(seed: int = 0):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=500, min_samples_leaf=2, max_features=0.5, random_state=seed, n_jobs=1)


def fit(args) -> dict:
    import joblib
    from scipy import stats
    from sklearn.model_selection import KFold

    rows, y, failed = load_real_trials()
    if len(rows) < args.min_trials:
        raise SystemExit(f"{COLLECT}: {len(rows)} finished trials, the surrogate needs at least {args.min_trials} "
                         f"(run `python -m experiments.efficiency.surrogate collect`)")
    X, names, categories = design(rows)
    oof = np.zeros_like(y)
    for train_idx, test_idx in KFold(5, shuffle=True, random_state=0).split(X):
        oof[test_idx] = new_forest().fit(X[train_idx], y[train_idx]).predict(X[test_idx])
    top = y >= np.quantile(y, 0.8)
    quality = {
        "trials": len(rows), "failed_trials_scored_0.5": failed,
        "score_range": [float(y.min()), float(y.max())], "score_mean": float(y.mean()),
        "cv5_r2": float(1 - ((y - oof) ** 2).sum() / ((y - y.mean()) ** 2).sum()),
        "cv5_spearman": float(stats.spearmanr(y, oof).statistic),
        "cv5_mae": float(np.abs(y - oof).mean()),
        "cv5_spearman_top20pct": float(stats.spearmanr(y[top], oof[top]).statistic) if top.sum() > 2 else None,
        "model": "sklearn RandomForestRegressor(500 trees, min_samples_leaf=2, max_features=0.5)",
        "task": "ARID3A_K562 (DeepBind ENCODE), 2,000 training sequences, 4 epochs, val AUROC "
                "(experiments/efficiency/conf/stage/eff_tfbs.yaml)",
        "collected_by": "nevergrad RandomSearch over the whole stage space, seed 0",
    }
    forest = new_forest().fit(X, y)
    joblib.dump({"forest": forest, "names": names, "categories": categories, "quality": quality}, MODEL_FILE)
    write_json(RESULTS / "efficiency_surrogate.json", quality)
    print(json.dumps(quality, indent=1))
    return quality


class Surrogate:
    """The fitted forest, scoring resolved hyperparameters."""

    def __init__(self, path: Path = MODEL_FILE) -> None:
        import joblib

        if not path.exists():
            raise FileNotFoundError(f"{path}: no surrogate yet; run `python -m experiments.efficiency.surrogate fit`")
        saved = joblib.load(path)
        self.forest, self.categories, self.quality = saved["forest"], saved["categories"], saved["quality"]

    def score(self, hparams: Mapping[str, Any]) -> float:
        X, _, _ = design([encode(hparams)], self.categories)
        return float(self.forest.predict(X)[0])


def collect(args) -> None:
    cmd = [sys.executable, "-m", "genarch", SEARCHPATH, f"+stage={STAGE}", f"hydra.sweep.dir={COLLECT}",
           f"hydra.sweeper.budget={args.trials}", "hydra.sweeper.optimizer=RandomSearch", "hydra.sweeper.seed=0",
           "hydra.sweeper.max_failure_rate=0.9", "++summary=false", "-m"]
    COLLECT.parent.mkdir(parents=True, exist_ok=True)
    with open(COLLECT.parent / "collect.log", "a") as log:
        subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="run the real random-search trials the surrogate is fit on")
    c.add_argument("--trials", type=int, default=320)
    f = sub.add_parser("fit", help="fit the surrogate and report its cross-validated quality")
    f.add_argument("--min-trials", type=int, default=300)
    args = ap.parse_args()
    collect(args) if args.cmd == "collect" else fit(args)


if __name__ == "__main__":
    main()
