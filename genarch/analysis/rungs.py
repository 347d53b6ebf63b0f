"""Multi-fidelity sweeps in the analysis: which rung's trials are compared, and the rung table.

Scores of different rungs are not comparable (a model trained 2 epochs against one trained 18). Two ways to
give the tree, the importances and the next-stage suggestion comparable trials (``--rungs``):

* ``rank`` (the default): every candidate once, at the last rung it finished, scored by its rung and its
  rank within that rung, ``(rung + share of that rung's finished jobs it beat) / number of rungs`` in
  [0, 1), higher is better whatever the objective's direction. A promoted candidate beat the ones it left
  behind, so it outranks every candidate that stopped below it, which is what successive halving decided;
  the top 20% are the candidates that went furthest. No candidate is dropped.
* ``top``: one rung, the highest with at least ``min_trials`` finished trials (the top rung holds few by
  design), with its scores as they are. The rung table says, per rung, how many candidates
entered and were promoted, the best score and the compute spent (epochs x sequences, seconds); it is read
from the ledger's ``rung`` records (:class:`genarch.ledger.RungRecord`)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from genarch.ledger import rung_records


@dataclass
class RungRow:
    rung: int
    fidelity: dict[str, Any]
    entered: int = 0
    ok: int = 0
    promoted: int = 0
    best: Optional[float] = None
    epoch_sequences: int = 0
    seconds: float = 0.0
    jobs: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rung": self.rung, "fidelity": self.fidelity, "entered": self.entered, "ok": self.ok,
                "promoted": self.promoted, "best": self.best, "epoch_sequences": self.epoch_sequences,
                "seconds": round(self.seconds, 3)}

    def fidelity_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.fidelity.items())


def rung_table(sweep_dir: "str | Path", direction: str = "maximize") -> list[RungRow]:
    """One row per rung of a multi-fidelity sweep (empty for a single-fidelity sweep)."""
    rows: dict[int, RungRow] = {}
    for job, r in sorted(rung_records(sweep_dir).items()):
        row = rows.setdefault(int(r["rung"]), RungRow(int(r["rung"]), dict(r.get("fidelity") or {})))
        row.entered += 1
        row.jobs.append(job)
        row.promoted += bool(r.get("promoted"))
        value = (r.get("objective") or {}).get("value")
        if r.get("status") == "ok" and value is not None:
            row.ok += 1
            better = row.best is None or (value > row.best if direction == "maximize" else value < row.best)
            row.best = value if better else row.best
        cost = r.get("cost") or {}
        row.epoch_sequences += int(cost.get("epoch_sequences") or 0)
        row.seconds += float(cost.get("seconds") or 0.0)
    return [rows[k] for k in sorted(rows)]


def analysed_rung(rows: list[RungRow], min_trials: int) -> tuple[Optional[RungRow], str]:
    """The rung whose trials the analysis compares and a note saying which and why (None: not multi-fidelity)."""
    if not rows:
        return None, ""
    enough = [row for row in rows if row.ok >= min_trials]
    chosen = enough[-1] if enough else rows[0]
    why = (f"the highest rung with at least {min_trials} finished trials" if enough else
           f"no rung has {min_trials} finished trials; the lowest rung, which has the most")
    return chosen, (f"multi-fidelity sweep: the analysis compares the {chosen.ok} trials of rung {chosen.rung} "
                    f"({chosen.fidelity_text()}), {why}; scores of different rungs are not comparable")


RUNG_MODES = ("rank", "top")


def rank_scores(rows: list[RungRow], records: dict[int, dict[str, Any]], direction: str) -> dict[int, float]:
    """``rank``: each candidate's last finished rung job -> ``(rung + share of that rung's finished jobs it
    beat, ties counted half) / number of rungs``. A candidate that failed at its first rung keeps no score."""
    values = {job: (r.get("objective") or {}).get("value") for job, r in records.items()
              if r.get("status") == "ok" and (r.get("objective") or {}).get("value") is not None}
    last: dict[int, tuple[int, int]] = {}  # candidate (its first job) -> (rung, job) of its last finished rung
    for job in values:
        key, rung = int(records[job].get("trial", job)), int(records[job]["rung"])
        if key not in last or rung > last[key][0]:
            last[key] = (rung, job)
    sign = 1.0 if direction == "maximize" else -1.0
    n_rungs = max((row.rung for row in rows), default=0) + 1
    peers_of = {row.rung: [sign * values[j] for j in row.jobs if j in values] for row in rows}
    out = {}
    for rung, job in last.values():
        peers, mine = peers_of[rung], sign * values[job]
        beaten = sum(p < mine for p in peers) + 0.5 * (sum(p == mine for p in peers) - 1)
        out[job] = (rung + beaten / len(peers)) / n_rungs
    return out


def rank_note(rows: list[RungRow], n: int) -> str:
    return (f"multi-fidelity sweep: the analysis ranks {n} candidates across rungs {rows[0].rung}-{rows[-1].rung} "
            "(score = (last rung reached + share of that rung's finished jobs beaten) / rungs, higher is better; "
            "a candidate that failed after a promotion keeps the rank of the rung it finished; "
            "--rungs top reads one rung's own scores instead)")


def table_lines(rows: list[RungRow]) -> list[str]:
    """The rung table as plain text lines (summary.txt, the console)."""
    out = [f"{'rung':>4}  {'fidelity':<22} {'entered':>7} {'promoted':>8} {'best':>9} {'epochs x seqs':>13} "
           f"{'seconds':>8}"]
    for row in rows:
        best = "-" if row.best is None else f"{row.best:.4g}"
        out.append(f"{row.rung:>4}  {row.fidelity_text():<22} {row.entered:>7} {row.promoted:>8} {best:>9} "
                   f"{row.epoch_sequences:>13} {row.seconds:>8.1f}")
    return out
