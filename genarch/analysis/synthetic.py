"""Known-answer sweeps: ledgers whose score is a known function of a few hyperparameters.

Used by the tests and by ``python -m genarch.analyze --demo DIR`` to show what the analysis
produces when the right answer is known. Every ledger is written with
:func:`genarch.ledger.write_record` exactly as a real sweep writes it, next to the stage file
that "was run" (``stage.yaml``) and a ``multirun.yaml`` pointing at it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from genarch.ledger import EndRecord, StartRecord, write_record
from genarch.space import format_value

STAGE_TEXT = """\
# @package _global_
# Stage 2: {title}
defaults:
  - override /hydra/sweeper: genarch
hydra:
  sweeper:
    budget: {budget}
    num_workers: 2
    optimizer: NGOpt
    params:
{params}
"""

BASE_PARAMS = {
    "model/rnn": "choice(none, lstm, gru)",
    "optimizer.lr_scale": "tag(log, interval(0.03, 10))",
    "model.stem.filters": "choice(8, 16, 32, 64)",
    "model.head.dropout": "interval(0.0, 0.6)",
    "model.head.layers": "range(0, 4)",
    "trainer.batch_size": "25,50,125,250",
    "model.rnn.bidirectional": "choice(true, false)",
    "optimizer": "choice(adam, sgd)",
}

FORK_PARAMS = {
    "model/rnn": "choice(none, lstm, gru)",
    "model/reduction": "choice(maxpool, attention, mean)",
    "optimizer.lr_scale": "tag(log, interval(0.03, 10))",
    "model.stem.filters": "choice(8, 16, 32, 64)",
    "model.head.dropout": "interval(0.0, 0.6)",
    "model.rnn.bidirectional": "choice(true, false)",
}


def sample(domains: dict[str, str], rng: np.random.Generator) -> dict[str, Any]:
    from genarch.space import parse_params

    return {key: dom.sample(rng) for key, dom in parse_params(domains).items()}


def single_optimum(params: dict[str, Any]) -> float:
    """val_auroc: LSTM best, GRU half-way, learning rate best at 0.5 (log scale); all else noise-free irrelevant."""
    rnn = {"lstm": 0.10, "gru": 0.04, "none": 0.0}[params["model/rnn"]]
    lr = -0.06 * (math.log10(params["optimizer.lr_scale"]) - math.log10(0.5)) ** 2
    return 0.70 + rnn + lr


def two_branches(params: dict[str, Any]) -> float:
    """val_auroc: (LSTM + max pool) and (no RNN + attention) are equally good; every other mix is poor."""
    cell = (params["model/rnn"], params["model/reduction"])
    good = cell in (("lstm", "maxpool"), ("none", "attention"))
    lr = -0.01 * (math.log10(params["optimizer.lr_scale"]) - math.log10(0.5)) ** 2
    return 0.70 + (0.10 if good else 0.0) + lr


def write_sweep(
    sweep_dir: "str | Path",
    *,
    kind: str = "single",
    n: int = 80,
    seed: int = 0,
    noise: float = 0.005,
    direction: str = "maximize",
    n_failed: int = 0,
    score: Optional[Callable[[dict[str, Any]], float]] = None,
) -> Path:
    """Write ``ledger.jsonl``, ``stage.yaml`` and ``multirun.yaml`` into ``sweep_dir``; return it."""
    import yaml

    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    domains = FORK_PARAMS if kind == "fork" else BASE_PARAMS
    fn = score or (two_branches if kind == "fork" else single_optimum)
    rng = np.random.default_rng(seed)
    name = "val_auroc" if direction == "maximize" else "val_loss"
    for job in range(n + n_failed):
        params = sample(domains, rng)
        failed = job >= n
        value = None if failed else fn(params) + float(rng.normal(0.0, noise))
        if value is not None and direction == "minimize":
            value = 1.0 - value
        overrides = [f"{key}={format_value(v)}" for key, v in params.items()]
        write_record(sweep_dir, StartRecord(job, params, overrides))
        write_record(sweep_dir, EndRecord(job, "failed" if failed else "ok", params, objective_name=name,
                                          direction=direction, value=value, overrides=overrides,
                                          error="RuntimeError: CUDA out of memory" if failed else None))
    title = "two branches" if kind == "fork" else "architecture + learning rate"
    body = "\n".join(f"      {k}: {v}" for k, v in domains.items())
    stage = sweep_dir / "stage.yaml"
    stage.write_text(STAGE_TEXT.format(title=title, budget=n, params=body), encoding="utf-8")
    (sweep_dir / "multirun.yaml").write_text(
        yaml.safe_dump({"stage": str(stage), "hydra": {"sweep": {"dir": str(sweep_dir)},
                                                        "sweeper": {"budget": n, "params": dict(domains)}}}),
        encoding="utf-8",
    )
    return sweep_dir
