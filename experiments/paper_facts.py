"""The paper's published figures, read from ../shared/paper/genetic_architect_facts.yaml (never typed here).

The file sits beside the data root: ``$GENARCH_DATA/../paper`` when GENARCH_DATA is set, else
``<repo>/../shared/paper``."""

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def facts_path() -> Path:
    data = os.environ.get("GENARCH_DATA")
    shared = Path(data).resolve().parent if data else ROOT.parent / "shared"
    return shared / "paper" / "genetic_architect_facts.yaml"


@lru_cache(maxsize=None)
def facts() -> dict[str, Any]:
    path = facts_path()
    if not path.exists():
        raise SystemExit(f"{path}: the paper's facts file is missing (set GENARCH_DATA to ../shared/data beside it)")
    return yaml.safe_load(path.read_text())


def tfbs() -> dict[str, Any]:
    """Table 1: ``n_datasets``, ``mean_auc`` / ``median_auc`` per model, ``win_share[(a, b)]`` = share of data
    sets on which ``a`` beats ``b``; model names as the facts file spells them (deepbind, deepmotif, attentionnet)."""
    table = facts()["tfbs_results"]
    shares = {}
    for key, value in table["win_share"].items():
        a, b = key.split("_over_")
        shares[(a, b)] = float(value)
    return {"n_datasets": int(table["n_datasets"]), "mean_auc": dict(table["mean_auc"]),
            "median_auc": dict(table["median_auc"]), "win_share": shares}


def motifs() -> dict[str, Any]:
    """Section 4.1's motif counts (``correct``, ``any_tf``, ``correct_with_top3_recurring_sequences``,
    ``checkable``), the method text, and the q-value threshold the method states."""
    table = dict(facts()["tfbs_results"]["motifs_from_attention"])
    found = re.search(r"q\s*<\s*([0-9.]+)", table["method"])
    if not found:
        raise SystemExit(f"{facts_path()}: tfbs_results.motifs_from_attention.method states no 'q < x' threshold")
    table["q_threshold"] = float(found.group(1))
    return table


def ilsep() -> dict[str, float]:
    """Section 4.3: mean Pearson r over the 11 ILSEP lineages per model."""
    return {k: float(v) for k, v in facts()["ilsep_results"]["mean_pearson_r_11_lineages"].items()}
