"""A genarch sweep as an Optuna study, so ``optuna-dashboard``, ``optuna.visualization`` and Optuna's
importance evaluators open it::

    python -m genarch.analyze multirun/stage1 --export-optuna sqlite:///stage1.db
    python -m genarch.analyze multirun/stage1 --export-optuna journal:stage1.log   # or any *.log path
    optuna-dashboard sqlite:///stage1.db

One Optuna trial per ledger job, in job order: a finished trial with a finite objective is
``COMPLETE`` with its value; a failed, rejected (illegal model) or non-finite one is ``FAIL``; a job
with no end record (an interrupted sweep's running job) is left out. Each parameter gets the
distribution its stage declares: ``choice(...)`` -> ``CategoricalDistribution``, ``range(a, b)`` ->
``IntDistribution`` (its step), ``interval(a, b)`` -> ``FloatDistribution`` (``log`` for
``tag(log, ...)``), an integer interval -> ``IntDistribution`` over the integers it sweeps. A
parameter the stage does not declare (a command-line sweep without a stage file) gets one inferred
from the values the trials took. User attributes: ``job``, ``sweep_dir``, the trial's ``dir``,
``status``, ``error``, ``n_params``, ``epochs``, ``wall_time_s`` and the flat metrics
(``val_auroc``...). Start and end times come from the ledger.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from genarch.ledger import Trial, load_trials
from genarch.space import integer_bounds, same_value

JOURNAL_PREFIX = "journal:"


class ExportError(ValueError):
    """The sweep cannot be exported as asked (the message names the file or the key)."""


def storage_from_text(text: str) -> Any:
    """An Optuna storage: a database URL (``sqlite:///x.db``, ``postgresql://...``) as Optuna takes it,
    or a journal file (``journal:path`` or a path ending in ``.log``/``.jsonl``)."""
    import optuna

    if text.startswith(JOURNAL_PREFIX) or (("://" not in text) and text.endswith((".log", ".jsonl"))):
        path = Path(text[len(JOURNAL_PREFIX):] if text.startswith(JOURNAL_PREFIX) else text)
        if not path.name:
            raise ExportError(f"--export-optuna {text}: give the journal file's path after '{JOURNAL_PREFIX}'")
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(str(path)))
    if "://" not in text:
        raise ExportError(f"--export-optuna {text}: give a database URL (sqlite:///path.db) or a journal file "
                          f"({JOURNAL_PREFIX}path.log, or a path ending in .log)")
    if text.startswith("sqlite:///"):
        Path(text[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return optuna.storages.RDBStorage(text)


def _same(a: Any, b: Any) -> bool:
    return same_value(a, b)


def distribution_for(domain: Any) -> Any:
    """The Optuna distribution of a stage's declared domain (:class:`genarch.space.Domain`)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if domain.kind == "interval":
        if domain.integer:
            low, high = integer_bounds(domain.low, domain.high)
            return IntDistribution(low, high, log=domain.log)
        return FloatDistribution(domain.low, domain.high, log=domain.log)
    integers = all(isinstance(v, int) and not isinstance(v, bool) for v in domain.values)
    if domain.kind == "range" and domain.values and integers:
        return IntDistribution(min(domain.values), max(domain.values), step=abs(int(domain.step or 1)))
    return CategoricalDistribution(_choices(domain.values))


def _choices(values: Sequence[Any]) -> tuple:
    """Optuna's categorical choices are None, bool, int, float or str; anything else goes in as text."""
    return tuple(v if v is None or isinstance(v, (bool, int, float, str)) else str(v) for v in values)


def inferred_distribution(key: str, values: Sequence[Any]) -> Any:
    """A distribution for a parameter no stage declares: the range (numbers) or the set of values the trials took."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    present = [v for v in values]
    numbers = [v for v in present if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if present and len(numbers) == len(present) and len(set(numbers)) > 1:
        if all(isinstance(v, int) for v in numbers):
            return IntDistribution(min(numbers), max(numbers))
        return FloatDistribution(float(min(numbers)), float(max(numbers)))
    distinct = []
    for v in present:
        if not any(_same(v, d) and type(v) is type(d) for d in distinct):
            distinct.append(v)
    return CategoricalDistribution(_choices(distinct))


def _param_value(key: str, value: Any, dist: Any, job: int) -> Any:
    """The trial's value in the form the distribution holds (the matching choice; clamped into a float
    range it lies in within the ledger's rounding slack)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if _same(value, choice):
                return choice
        raise ExportError(f"job {job}: {key}={value!r} is not one of the stage's choices {list(dist.choices)}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExportError(f"job {job}: {key}={value!r} is not a number, but the stage declares {dist}")
    if isinstance(dist, IntDistribution):
        if float(value) != round(float(value)):
            raise ExportError(f"job {job}: {key}={value!r} is not an integer, but the stage declares {dist}")
        return int(min(max(int(round(float(value))), dist.low), dist.high))
    assert isinstance(dist, FloatDistribution)
    return float(min(max(float(value), dist.low), dist.high))


def _flat_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """``{"val": {"auroc": 0.8}}`` -> ``{"val_auroc": 0.8}`` (finite numbers only; per-output ones too)."""
    out = {}
    for split, values in (metrics or {}).items():
        if isinstance(values, Mapping):
            for name, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                    out[f"{split}_{name}".replace("/", "_")] = float(value)
    return out


def _times(trial: Trial) -> tuple[Optional[dt.datetime], Optional[dt.datetime]]:
    end = trial.record.get("time")
    if not isinstance(end, (int, float)):
        return None, None
    wall = trial.record.get("wall_time_s")
    start = end - wall if isinstance(wall, (int, float)) and wall >= 0 else end
    return dt.datetime.fromtimestamp(start), dt.datetime.fromtimestamp(end)


def frozen_trials(sweep_dir: "str | Path", stage: Any = None) -> tuple[list[Any], str, str]:
    """The sweep's finished jobs as Optuna ``FrozenTrial`` objects, the direction and the metric name."""
    from optuna.trial import FrozenTrial, TrialState

    sweep_dir = Path(sweep_dir)
    trials = [t for t in load_trials(sweep_dir) if t.status not in ("running", None)]
    if not trials:
        raise ExportError(f"{sweep_dir / 'ledger.jsonl'}: no finished trial to export")
    ok = [t for t in trials if t.ok]
    direction = next((t.direction for t in ok if t.direction in ("maximize", "minimize")), None) or next(
        (t.direction for t in trials if t.direction in ("maximize", "minimize")), "minimize")
    metric = next((t.objective_name for t in ok if t.objective_name), None) or next(
        (t.objective_name for t in trials if t.objective_name), "objective")
    declared = {k: d for k, d in (stage.domains.items() if stage else ()) if d.kind != "fixed"}
    keys = list(declared) + sorted({k for t in trials for k in t.params} - set(declared))
    distributions = {k: distribution_for(declared[k]) if k in declared
                     else inferred_distribution(k, [t.params[k] for t in trials if k in t.params]) for k in keys}
    out = []
    for number, t in enumerate(trials):
        params, dists = {}, {}
        for key, value in t.params.items():
            if key in distributions:
                params[key] = _param_value(key, value, distributions[key], t.job)
                dists[key] = distributions[key]
        start, end = _times(t)
        attrs = {"job": t.job, "sweep_dir": str(sweep_dir.resolve()), "dir": t.dir, "status": t.status,
                 **{k: t.record.get(k) for k in ("n_params", "epochs", "wall_time_s") if t.record.get(k) is not None},
                 **_flat_metrics(t.metrics)}
        if t.record.get("rejected"):
            attrs["rejected"] = True
        if t.error:
            attrs["error"] = str(t.error)[:2000]
        state = TrialState.COMPLETE if t.ok else TrialState.FAIL
        out.append(FrozenTrial(number=number, state=state, value=float(t.value) if t.ok else None,
                               datetime_start=start, datetime_complete=end, params=params, distributions=dists,
                               user_attrs=attrs, system_attrs={}, intermediate_values={}, trial_id=number))
    return out, direction, metric


def export_study(sweep_dir: "str | Path", storage: str, study_name: Optional[str] = None,
                 stage_path: "str | Path | None" = None) -> Any:
    """Write the sweep into a new study of ``storage`` and return it; an existing study of that name is
    an error (nothing is overwritten)."""
    import optuna

    from genarch.analysis.pipeline import resolve_stage

    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / "ledger.jsonl").is_file():
        raise ExportError(f"{sweep_dir}: no ledger.jsonl here (is it a genarch sweep directory?)")
    stage, _ = resolve_stage(sweep_dir, stage_path)
    trials, direction, metric = frozen_trials(sweep_dir, stage)
    name = study_name or default_study_name(sweep_dir)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(storage=storage_from_text(storage), study_name=name, direction=direction)
    except optuna.exceptions.DuplicatedStudyError:
        raise ExportError(f"--export-optuna {storage}: a study named '{name}' is already there; give another "
                          "--study-name or remove it (optuna delete-study)") from None
    with warnings.catch_warnings():  # "experimental" since optuna 3.2, and what the dashboard labels the axis with
        warnings.simplefilter("ignore")
        study.set_metric_names([metric])
    study.set_user_attr("sweep_dir", str(sweep_dir.resolve()))
    study.set_user_attr("metric", metric)
    if stage is not None and stage.name:
        study.set_user_attr("stage", str(stage.name))
    study.add_trials(trials)
    return study


def default_study_name(sweep_dir: Path) -> str:
    """``genarch:<parent>/<name>`` of the sweep dir (``multirun/2024-05-01/12-00-00`` ->
    ``genarch:2024-05-01/12-00-00``)."""
    resolved = Path(sweep_dir).resolve()
    return f"genarch:{resolved.parent.name}/{resolved.name}" if resolved.parent.name else f"genarch:{resolved.name}"
