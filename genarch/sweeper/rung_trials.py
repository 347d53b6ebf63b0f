"""A multi-fidelity sweep's trials as candidates: one per candidate, at the last rung it reached.

Each rung of a candidate is a job of its own in the ledger; an earlier sweep read for a warm start (and the
analysis) wants the candidate once, with the score its sweep told the optimizer: that of its last rung. The
rung's own overrides (the fidelity value, the checkpoint to resume from, the keep-checkpoint switch) are
dropped from its override list, so that it compares with the candidates of the sweep that reads it."""

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Optional

from genarch.ledger import Trial, rung_records
from genarch.sweeper.fidelity import parse
from genarch.sweeper.resume import load_state


def last_rungs(sweep_dir: Path, finished: Mapping[int, Trial]) -> dict[int, Trial]:
    """``finished`` (job -> trial) with each candidate of a multi-fidelity sweep once, at its last finished rung
    (keyed by that job), its rung overrides dropped; a single-fidelity sweep's trials as they are."""
    rungs = rung_records(sweep_dir)
    if not rungs:
        return dict(finished)
    fidelity = sweep_fidelity(sweep_dir)
    last: dict[int, tuple[int, int]] = {}  # candidate (its first job) -> (rung, job)
    for job, record in rungs.items():
        if job in finished:
            key = int(record.get("trial", job))
            if key not in last or int(record.get("rung", 0)) > last[key][0]:
                last[key] = (int(record.get("rung", 0)), job)
    keep = {job for _, job in last.values()}
    out = {}
    for job, trial in finished.items():
        if job in rungs and job not in keep:
            continue
        out[job] = _without_rung_overrides(trial, fidelity) if job in rungs else trial
    return out


def sweep_fidelity(sweep_dir: Path) -> Optional[Any]:
    """The sweep's stored fidelity schedule (:class:`genarch.sweeper.fidelity.Fidelity`), or None."""
    try:
        return parse((load_state(sweep_dir) or {}).get("fidelity"))
    except (OSError, ValueError, RuntimeError):
        return None


def _without_rung_overrides(trial: Trial, fidelity: Optional[Any]) -> Trial:
    keys = {"trainer.max_epochs", "trainer.resume_from", "trainer.save_last"} if fidelity is None else \
        {k for k in (fidelity.key, fidelity.resume_key, fidelity.save_key) if k}
    overrides = trial.overrides
    if overrides is None:
        return trial
    kept = [o for o in overrides if not (o.startswith("++") and o[2:].split("=", 1)[0] in keys)]
    return dataclasses.replace(trial, record={**trial.record, "overrides": kept})
