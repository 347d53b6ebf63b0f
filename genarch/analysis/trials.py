"""Trials table: a finished sweep (ledger) or a CSV export -> one tidy DataFrame + parameter kinds.

This is the only module that knows where trials come from; everything downstream sees a
:class:`TrialTable`: one row per *usable* trial (finished, finite metric), one column per varying
hyperparameter, plus ``value`` (the metric as recorded) and ``score`` (higher is better, i.e. the
metric negated for ``minimize``).

Parameter kinds:

* ``categorical``: any parameter with a str / bool / None value (config-group choices such as
  ``model/rnn``, flags such as ``model.rnn.bidirectional``). Values are kept as *labels*
  (``"lstm"``, ``"true"``) in the frame; :attr:`TrialTable.originals` maps labels back to the
  values the ledger held, so a suggested stage writes ``choice(true)`` and not ``choice('True')``.
* ``numeric``: every parameter whose values are all int / float (``model.stem.filters``, even when
  declared as ``choice(8, 16, 32, 64)``: the choices are ordered, so tree splits are thresholds and a
  next stage narrows them to a contiguous sub-list).

Degenerate inputs raise :class:`AnalysisInputError` with a message meant for the researcher.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from genarch.analysis.conditions import is_active

MIN_TRIALS = 5
VALUE = "value"
SCORE = "score"
JOB = "job"

# columns of common trial exports that are bookkeeping, not hyperparameters
META_COLUMNS = {
    "number", "trial_id", "id", "job", "name", "run", "run_id", "state", "status", "datetime_start",
    "datetime_complete", "duration", "created", "runtime", "sweep", "tags", "notes", "user", "host",
    "hostname", "wall_time_s", "n_params", "epochs", "error", "dir", "time",
}


class AnalysisInputError(ValueError):
    """The trials cannot be analysed (too few, all failed, no varying hyperparameter...)."""


@dataclass
class TrialTable:
    frame: pd.DataFrame
    params: list[str]
    kinds: dict[str, str]
    metric: str
    direction: str
    source: str
    n_total: int
    n_failed: int
    originals: dict[str, dict[str, Any]] = field(default_factory=dict)
    constant: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # parameter -> per-row flag: did the value act in that trial (see genarch.analysis.conditions)?
    # Parameters not listed acted in every trial.
    active: dict[str, np.ndarray] = field(default_factory=dict)
    # a multi-fidelity sweep's rung table (genarch.analysis.rungs.RungRow per rung); empty otherwise
    rungs: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise AnalysisInputError(f"direction must be 'maximize' or 'minimize', got {self.direction!r}")

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def score(self) -> np.ndarray:
        return self.frame[SCORE].to_numpy(dtype=float)

    @property
    def values(self) -> np.ndarray:
        return self.frame[VALUE].to_numpy(dtype=float)

    def categories(self, param: str) -> list[str]:
        """Labels of a categorical parameter, in first-seen order of the declared values if known."""
        return list(self.originals.get(param, {}).keys())

    def original(self, param: str, label: Any) -> Any:
        if self.kinds[param] == "categorical":
            return self.originals[param].get(label, label)
        return label

    def is_active(self, param: str) -> np.ndarray:
        """Per row: whether ``param``'s value acted in that trial (its block was on)."""
        return self.active.get(param, np.ones(self.n, dtype=bool))

    def subset(self, mask: "np.ndarray | pd.Series", source: Optional[str] = None) -> "TrialTable":
        mask = np.asarray(mask, dtype=bool)
        frame = self.frame[mask].reset_index(drop=True)
        return TrialTable(
            frame=frame, params=list(self.params), kinds=dict(self.kinds), metric=self.metric,
            direction=self.direction, source=source or self.source, n_total=len(frame), n_failed=0,
            originals=self.originals, constant=dict(self.constant), notes=[],
            active={param: flags[mask] for param, flags in self.active.items()},
        )


def label(value: Any) -> str:
    """How a categorical value is shown and keyed: Hydra/YAML spelling for bool and None."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, np.integer, np.floating))


_ABSENT = object()  # a trial that does not record a parameter at all (``None`` is the choice ``null``)


def _is_missing(value: Any) -> bool:
    return value is _ABSENT or (isinstance(value, float) and math.isnan(value))


def build_table(
    rows: Sequence[Mapping[str, Any]],
    values: Sequence[Optional[float]],
    ok: Sequence[bool],
    *,
    metric: str,
    direction: str,
    source: str,
    jobs: Optional[Sequence[Any]] = None,
    errors: Sequence[Optional[str]] = (),
    declared_order: Optional[Mapping[str, Sequence[Any]]] = None,
) -> TrialTable:
    """Turn per-trial parameter dicts + metric values into a :class:`TrialTable` (or raise)."""
    n_total = len(rows)
    if n_total == 0:
        raise AnalysisInputError(f"{source}: no trials recorded; nothing to analyse")
    n_failed = sum(1 for flag in ok if not flag)
    if n_failed == n_total:
        first = next((e for e in errors if e), None)
        hint = f" (first error: {first})" if first else ""
        raise AnalysisInputError(f"{source}: all {n_total} trials failed; nothing to analyse{hint}")
    notes: list[str] = []
    keep = []
    n_nonfinite = 0
    for i, (flag, value) in enumerate(zip(ok, values)):
        if not flag:
            continue
        if value is None or not math.isfinite(float(value)):
            n_nonfinite += 1
            continue
        keep.append(i)
    if n_failed:
        notes.append(f"{n_failed} of {n_total} trials failed and are left out")
    if n_nonfinite:
        notes.append(f"{n_nonfinite} finished trials have a missing/NaN/infinite '{metric}' and are left out")
    if len(keep) < MIN_TRIALS:
        raise AnalysisInputError(
            f"{source}: only {len(keep)} usable trial(s) with a finite '{metric}' "
            f"(of {n_total}; {n_failed} failed, {n_nonfinite} non-finite); need at least {MIN_TRIALS}"
        )
    names: list[str] = []
    for i in keep:
        for key in rows[i]:
            if key not in names:
                names.append(key)
    columns: dict[str, list[Any]] = {}
    kinds: dict[str, str] = {}
    originals: dict[str, dict[str, Any]] = {}
    constant: dict[str, Any] = {}
    params: list[str] = []
    for name in names:
        raw = [rows[i].get(name, _ABSENT) for i in keep]
        present = [v for v in raw if not _is_missing(v)]
        if not present:
            notes.append(f"'{name}' has no value in any usable trial and is ignored")
            continue
        numeric = all(_is_number(v) for v in present)
        distinct = {label(v) if not numeric else float(v) for v in present}
        if len(distinct) == 1 and len(present) == len(raw):
            constant[name] = present[0]
            notes.append(f"'{name}' is constant ({label(present[0])}) in all usable trials and is not analysed")
            continue
        if numeric:
            column = [float(v) if not _is_missing(v) else np.nan for v in raw]
            if len(present) < len(raw):
                fill = float(np.nanmedian(column))
                notes.append(f"'{name}' is missing in {len(raw) - len(present)} trial(s); "
                             f"filled with its median {fill:g}")
                column = [fill if math.isnan(v) else v for v in column]
            kinds[name] = "numeric"
        else:
            column = [label(v) if not _is_missing(v) else "<unset>" for v in raw]
            if len(present) < len(raw):
                notes.append(f"'{name}' is missing in {len(raw) - len(present)} trial(s); shown as <unset>")
            order = [label(v) for v in (declared_order or {}).get(name, [])]
            seen: dict[str, Any] = {}
            for lab in order:
                if lab in column:
                    seen[lab] = None
            for v in raw:
                lab = label(v) if not _is_missing(v) else "<unset>"
                seen.setdefault(lab, None)
            mapping = {}
            for v in list((declared_order or {}).get(name, [])) + raw:
                lab = label(v) if not _is_missing(v) else "<unset>"
                if lab in seen and lab not in mapping:
                    mapping[lab] = None if _is_missing(v) else v
            originals[name] = {lab: mapping.get(lab, lab) for lab in seen}
            kinds[name] = "categorical"
        columns[name] = column
        params.append(name)
    if not params:
        raise AnalysisInputError(
            f"{source}: no hyperparameter varies across the {len(keep)} usable trials; nothing to explain"
        )
    frame = pd.DataFrame(columns)
    frame[VALUE] = [float(values[i]) for i in keep]
    frame[SCORE] = frame[VALUE] if direction == "maximize" else -frame[VALUE]
    frame[JOB] = [jobs[i] if jobs is not None else i for i in keep]
    if frame[VALUE].nunique() == 1:
        raise AnalysisInputError(f"{source}: all {len(keep)} usable trials have the same '{metric}'; "
                                 "nothing to explain")
    active = {}
    for name in params:
        flags = np.array([is_active(name, rows[i]) for i in keep], dtype=bool)
        if not flags.all():
            active[name] = flags
    if active:
        notes.append("a next stage judges these only on the trials where their block was on (in how many of "
                     f"{len(keep)}): " + ", ".join(f"{name} ({int(flags.sum())})" for name, flags in active.items()))
    return TrialTable(
        frame=frame, params=params, kinds=kinds, metric=metric, direction=direction, source=source,
        n_total=n_total, n_failed=n_failed, originals=originals, constant=constant, notes=notes, active=active,
    )


def _objective_of(trials: Sequence[Any]) -> tuple[Optional[str], Optional[str]]:
    """(name, direction) that the trials report, a finished trial's first (a failed or rejected record only
    names the config's objective)."""
    reported = [t for t in trials if t.status == "ok"] + [t for t in trials if t.status != "ok"]
    return (next((t.objective_name for t in reported if t.objective_name), None),
            next((t.direction for t in reported if t.direction), None))


def _pooled(pool: Sequence["str | Path"], domains: Optional[Mapping[str, Any]], notes: list[str],
            objective: tuple[Optional[str], Optional[str]] = (None, None)) -> list[tuple[str, Any]]:
    """Finished trials of earlier sweeps that lie inside this stage's space (every swept key declared
    here, every value inside its declared domain): samples of the current space too, so they add evidence.
    A pooled sweep must report the same objective (name and direction) as this one."""
    from genarch.ledger import LEDGER_FILE, load_trials
    from genarch.sweeper.rung_trials import last_rungs

    if pool and not domains:
        raise AnalysisInputError("pooling earlier sweeps needs the stage that was run (its space decides which "
                                 "earlier trials count); pass --stage")
    out = []
    for path in map(Path, pool):
        if not (path / LEDGER_FILE).exists():
            raise AnalysisInputError(f"{path}: no {LEDGER_FILE} to pool (is this a genarch sweep directory?)")
        finished = [t for t in load_trials(path) if t.ended and not t.rejected]
        # a multi-fidelity sweep: each candidate once, at the last rung it reached (genarch.sweeper.rung_trials)
        finished = list(last_rungs(path, {t.job: t for t in finished}).values())
        theirs = _objective_of([t for t in finished if t.status == "ok"])
        clash = [f"{what} {b!r} there, {a!r} here" for what, a, b in zip(("objective", "direction"), objective, theirs)
                 if a and b and a != b]  # only what finished trials measured: a failed record may say "auto"
        if clash:  # a loss ranked as an AUROC would turn the analysis upside down
            raise AnalysisInputError(f"{path}: cannot pool a sweep with another objective ({'; '.join(clash)})")
        inside = [t for t in finished
                  if set(t.params) <= set(domains) and all(domains[k].contains(v) for k, v in t.params.items())]
        out += [(f"{path.name}/{t.job}", t) for t in inside]  # job labels say which sweep a pooled trial came from
        notes.append(f"pooled {len(inside)} of the {len(finished)} finished trials of {path} "
                     f"({len(finished) - len(inside)} lie outside this stage's space)")
    return out


def from_ledger(
    sweep_dir: "str | Path",
    *,
    direction: Optional[str] = None,
    declared_order: Optional[Mapping[str, Sequence[Any]]] = None,
    pool: Sequence["str | Path"] = (),
    domains: Optional[Mapping[str, Any]] = None,
    rungs: str = "rank",
) -> TrialTable:
    """Load ``<sweep_dir>/ledger.jsonl`` (via :func:`genarch.ledger.load_trials`), plus the trials of the
    earlier sweeps in ``pool`` that lie inside ``domains`` (the stage's declared space). A multi-fidelity
    sweep's trials are made comparable as ``rungs`` says (:mod:`genarch.analysis.rungs`)."""
    from genarch.ledger import LEDGER_FILE, load_trials

    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / LEDGER_FILE).exists():
        raise AnalysisInputError(f"{sweep_dir}: no {LEDGER_FILE} (is this a genarch sweep directory?)")
    recorded = load_trials(sweep_dir)
    trials = [t for t in recorded if t.ended]
    running = len(recorded) - len(trials)
    if not trials:
        raise AnalysisInputError(f"{sweep_dir}: no finished trials in the ledger ({running} still running)")
    own = _objective_of([t for t in trials if t.status == "ok"])
    rows, rung_note, trials, ranked = _comparable(sweep_dir, trials, direction or own[1] or "maximize",
                                                  "top" if pool else rungs)
    pool_notes: list[str] = []
    jobs: list[Any] = [t.job for t in trials]
    for job, trial in _pooled(pool, domains, pool_notes, own):
        jobs.append(job)
        trials.append(trial)
    metric, found = _objective_of(trials)
    metric = metric or "objective"
    # a constant of the stage (``key: null``) is applied to every trial but not recorded as a swept value
    constants = {k: d.values[0] for k, d in (domains or {}).items() if getattr(d, "kind", None) == "fixed" and d.values}
    table = build_table(
        [{**constants, **t.params} for t in trials],
        [t.value for t in trials],
        [t.status == "ok" for t in trials],
        metric=metric,
        direction="maximize" if ranked else (direction or found or "maximize"),  # ranks: higher is better
        source=str(sweep_dir),
        jobs=jobs,
        errors=[t.error for t in trials],
        declared_order=declared_order,
    )
    table.rungs = rows
    table.notes.extend(([rung_note] if rung_note else []) + pool_notes)
    if running:
        table.notes.append(f"{running} trial(s) never finished (start without end) and are left out")
    if not found and not direction:
        table.notes.append("the ledger records no objective direction; assumed 'maximize'")
    return table


def _comparable(sweep_dir: Path, trials: list[Any], direction: str,
                rungs: str = "rank") -> tuple[list[Any], str, list[Any], bool]:
    """A multi-fidelity sweep's rung table, the note saying how its trials are compared, those trials and
    whether their values are rank scores (:mod:`genarch.analysis.rungs`: ``rank``, each candidate once with
    its rank score; ``top``, one rung's trials, used for pooled sweeps, whose scores are not ranks, and for
    Hyperband, whose later brackets enter rungs without a contest); a single-fidelity sweep's as they are."""
    from genarch.analysis.rungs import RUNG_MODES, analysed_rung, rank_note, rank_scores, rung_table
    from genarch.ledger import rung_records
    from genarch.sweeper.rung_trials import sweep_fidelity

    if rungs not in RUNG_MODES:
        raise AnalysisInputError(f"--rungs {rungs!r}: one of {list(RUNG_MODES)}")
    rows = rung_table(sweep_dir, direction)
    fidelity = sweep_fidelity(sweep_dir) if rows else None
    hyperband = fidelity is not None and fidelity.brackets > 1
    if rows and rungs == "rank" and not hyperband:
        records = rung_records(sweep_dir)
        scores = rank_scores(rows, records, direction)
        firsts = {int(r.get("trial", job)) for job, r in records.items()}
        reached = {int(records[job].get("trial", job)) for job in scores}
        kept = []
        for t in trials:
            if t.job in scores:
                kept.append(dataclasses.replace(t, value=scores[t.job], direction="maximize",
                                                objective_name=f"{t.objective_name or 'objective'} rank"))
            elif t.rejected or (t.job in firsts and t.job not in reached) or \
                    (t.status != "ok" and t.job not in records and t.record.get("rung") is None):
                kept.append(t)  # a failed candidate: rejected, or failed at its first rung (none scored)
            # else: a later rung of a scored candidate, or a job whose rung record was never written
        return rows, rank_note(rows, len(scores)), kept, True
    chosen, note = analysed_rung(rows, MIN_TRIALS)
    if chosen is None:
        return rows, "", trials, False
    if hyperband and rungs == "rank":
        note += f" (--rungs rank is not used with Hyperband's {fidelity.brackets} brackets: later brackets " \
                "enter higher rungs without a contest at the lower ones)"
    in_rungs = {job for row in rows for job in row.jobs}
    keep = set(chosen.jobs)  # and, with rung 0, the candidates rejected before they entered it
    return rows, note, [t for t in trials if t.job in keep or (chosen.rung == 0 and t.job not in in_rungs)], False


NULL_WORDS = ("null", "Null", "NULL", "None", "none", "~")


def csv_cell(value: Any) -> Any:
    """A CSV cell as the value a sweep would have recorded: ``null``/``None`` -> None, ``true``/``false``
    -> bool, numbers -> int/float, ``nan``/``NaN`` -> missing; anything else stays text. pandas already
    converts whole-number and whole-boolean columns; this handles the mixed columns it leaves as text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in NULL_WORDS:
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return value


def from_csv(
    path: "str | Path",
    *,
    metric: str,
    direction: str = "maximize",
    params: Optional[Iterable[str]] = None,
    ignore: Iterable[str] = (),
    declared_order: Optional[Mapping[str, Sequence[Any]]] = None,
) -> TrialTable:
    """Load a CSV export (Optuna ``trials_dataframe()``, W&B, ...): hyperparameter columns + a metric column.

    Parameter columns are ``params`` if given; otherwise Optuna's ``params_*`` columns if present
    (prefix stripped), else every column that is not the metric, not in ``ignore`` and not a
    common bookkeeping column (number, state, datetime_*, ...). A ``state``/``status`` column, if
    present, marks rows other than COMPLETE/ok/finished as failed.
    """
    path = Path(path)
    if not path.exists():
        raise AnalysisInputError(f"{path}: no such CSV file")
    # only an empty cell is missing: "null"/"None" are the choice null, as the ledger records it
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if metric not in frame.columns:
        raise AnalysisInputError(f"{path}: no metric column '{metric}' (columns: {', '.join(map(str, frame.columns))})")
    ignore = set(ignore)
    if params is not None:
        names = list(params)
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise AnalysisInputError(f"{path}: parameter column(s) not found: {', '.join(missing)}")
        rename = {n: n for n in names}
    elif any(str(c).startswith("params_") for c in frame.columns):
        rename = {c: str(c)[len("params_"):] for c in frame.columns if str(c).startswith("params_") and c not in ignore}
    else:
        rename = {
            c: str(c) for c in frame.columns
            if c != metric and c not in ignore and str(c).lower() not in META_COLUMNS
            and not str(c).lower().startswith(("datetime", "user_attrs", "system_attrs", "_"))
        }
    ok = [True] * len(frame)
    for state_col in ("state", "State", "status", "Status"):
        if state_col in frame.columns:
            done = ("complete", "completed", "ok", "finished", "success")
            ok = [str(s).strip().lower() in done for s in frame[state_col]]
            break
    rows = []
    for _, record in frame.iterrows():
        row = {}
        for column, name in rename.items():
            value = record[column]
            if isinstance(value, np.generic):
                value = value.item()
            row[name] = csv_cell(value)
        rows.append(row)
    values: list[Optional[float]] = []
    for value in frame[metric]:
        try:
            values.append(float(value))
        except (TypeError, ValueError):
            values.append(None)
    return build_table(
        rows, values, ok, metric=metric, direction=direction, source=str(path),
        jobs=list(range(len(frame))), declared_order=declared_order,
    )
