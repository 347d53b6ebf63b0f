"""The sweep ledger: one append-only JSON-lines file per sweep, ``<sweep_dir>/ledger.jsonl``.

Every trial appends a ``start`` record when it is launched and an ``end`` record when it finishes
(or fails). Records are single ``write`` calls of one line under an exclusive ``flock``, so
parallel trials (joblib, submitit, Ray on one filesystem) never interleave, and a sweep that is
killed leaves at worst a trial with a ``start`` and no ``end`` (an in-flight trial to re-run).

Records are typed (:class:`StartRecord`, :class:`EndRecord`) and written by one writer,
:func:`write_record`; the sweeper, the trial (``genarch.sweeper.ledger_hook``), the synthetic sweeps of the
analysis and the experiments all go through it. They are read by one reader: :func:`finished_trials` (the
trials that ended), on top of :func:`load_trials` (every job folded to one :class:`Trial`, running ones
too). The reader reads every ledger written since the format began (records with fewer fields, end
records without ``overrides``). A multi-fidelity sweep adds ``rung`` records (:class:`RungRecord`: the rung,
fidelity, score and cost of one job), read by :func:`rung_records`; :func:`load_trials` skips them.

Record fields::

    job          int, Hydra's job number within the sweep
    event        "start" | "end"
    status       "running" | "ok" | "failed"
    params       {override key: value} of the swept parameters ("model/rnn": "lstm", "optimizer.lr_scale": 0.5);
                 an end record carries its own (from the trial's own overrides), never copied from a start record
    overrides    the job's override list as launched (start records; end records since params are their own)
    stage        the stage's name (start records, rejected records)
    objective    {"name", "direction", "value"} (value null unless status is ok)
    metrics      {"val": {...}, "test": {...}}
    n_params, epochs, wall_time_s, error, dir (the job's output directory, relative to the sweep dir)
    writer       "trial" (the trial process wrote its own end record) | "sweeper" (from the job's return)
    rejected     true on the ``end`` record of a candidate refused as an illegal model before launch
    interrupted  true on the ``end`` record of a trial stopped by SIGTERM or Ctrl-C (status "failed"): the
                 trial did not fail, it was cut off, and a resumed sweep runs it again
    time         unix time of the record
"""

import fcntl
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

LEDGER_FILE = "ledger.jsonl"


@dataclass
class Trial:
    """A trial as folded from its ledger records (the last record of a job wins)."""

    job: int
    status: str
    params: dict[str, Any]
    objective_name: Optional[str] = None
    direction: Optional[str] = None
    value: Optional[float] = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    dir: Optional[str] = None
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.value is not None and math.isfinite(self.value)

    @property
    def ended(self) -> bool:
        """An ``end`` record came after the job's latest ``start``."""
        return self.record.get("event") == "end"

    @property
    def interrupted(self) -> bool:
        """Cut off from outside (SIGTERM, Ctrl-C): it did not finish, and a resumed sweep runs it again."""
        return self.ended and is_interrupted(self.record)

    @property
    def finished(self) -> bool:
        return self.ended and not self.interrupted

    @property
    def rejected(self) -> bool:
        return bool(self.record.get("rejected"))

    @property
    def overrides(self) -> Optional[list[str]]:
        recorded = self.record.get("overrides")
        return None if recorded is None else list(recorded)

    @property
    def stage(self) -> Optional[str]:
        return self.record.get("stage")


@dataclass
class StartRecord:
    """A job handed to the launcher (written by the sweeper before it launches)."""

    job: int
    params: dict[str, Any]
    overrides: list[str]
    stage: Optional[str] = None
    rung: Optional[int] = None                  # multi-fidelity sweeps: the rung this job runs
    fidelity: Optional[dict[str, Any]] = None   # {fidelity key: value} of that rung

    def to_json(self) -> dict[str, Any]:
        out = {"job": self.job, "event": "start", "status": "running", "params": dict(self.params),
               "overrides": list(self.overrides), "stage": self.stage}
        if self.rung is not None:
            out.update(rung=self.rung, fidelity=dict(self.fidelity or {}))
        return out


@dataclass
class EndRecord:
    """A job that ended: ok, failed, rejected before launch, or interrupted (and so to be run again)."""

    job: int
    status: str  # "ok" | "failed"
    params: dict[str, Any]
    objective_name: Optional[str] = None
    direction: Optional[str] = None
    value: Optional[float] = None  # kept only for status ok
    metrics: dict[str, Any] = field(default_factory=dict)
    n_params: Optional[int] = None
    epochs: Optional[int] = None
    wall_time_s: Optional[float] = None
    error: Optional[str] = None
    dir: Optional[str] = None  # the job's output dir, relative to the sweep dir
    writer: str = "trial"  # "trial" | "sweeper"
    overrides: Optional[list[str]] = None
    stage: Optional[str] = None
    rejected: bool = False
    interrupted: bool = False
    n_train: Optional[int] = None  # training sequences per epoch (result.json's extra.n_train): a rung's cost

    def __post_init__(self) -> None:
        if self.status not in ("ok", "failed"):
            raise ValueError(f"an end record's status is ok or failed, not {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        out = {"job": self.job, "event": "end", "status": self.status, "params": dict(self.params),
               "objective": {"name": self.objective_name, "direction": self.direction,
                             "value": self.value if self.status == "ok" else None},
               "metrics": dict(self.metrics or {}), "n_params": self.n_params, "epochs": self.epochs,
               "wall_time_s": self.wall_time_s, "error": self.error, "dir": self.dir, "writer": self.writer}
        if self.overrides is not None:
            out["overrides"] = list(self.overrides)
        if self.stage is not None:
            out["stage"] = self.stage
        if self.rejected:
            out["rejected"] = True
        if self.interrupted:
            out["interrupted"] = True
        if self.n_train is not None:
            out["n_train"] = int(self.n_train)
        return out


@dataclass
class RungRecord:
    """One rung of a multi-fidelity trial, written by the sweeper once the rung's job ended
    (:mod:`genarch.sweeper.rung_loop`); :func:`load_trials` skips it, :func:`rung_records` reads it."""

    job: int                       # the job that ran this rung
    trial: int                     # the job of the candidate's first rung: the same candidate across rungs
    rung: int
    fidelity: dict[str, Any]       # {key: value}
    status: str                    # "ok" | "failed"
    value: Optional[float] = None  # the objective at this rung (ok only)
    direction: Optional[str] = None
    epochs: Optional[int] = None   # epochs trained in this job (a resumed job: only the ones it added)
    sequences: Optional[int] = None  # training sequences per epoch
    seconds: Optional[float] = None
    resumed_from: Optional[int] = None  # the job whose checkpoint this one continued from (epoch fidelity)
    promoted: Optional[bool] = None     # set on a later record of the same job once the rung is decided

    def to_json(self) -> dict[str, Any]:
        cost = None if self.epochs is None or self.sequences is None else int(self.epochs) * int(self.sequences)
        return {"job": self.job, "event": "rung", "trial": self.trial, "rung": self.rung,
                "fidelity": dict(self.fidelity), "status": self.status,
                "objective": {"direction": self.direction, "value": self.value if self.status == "ok" else None},
                "cost": {"epochs": self.epochs, "sequences": self.sequences, "epoch_sequences": cost,
                         "seconds": self.seconds},
                "resumed_from": self.resumed_from, "promoted": self.promoted}


def n_train_of(result: Mapping[str, Any]) -> Optional[int]:
    """Training sequences per epoch from a result dict (result.json's ``extra.n_train``), None if absent."""
    return count_or_none((result.get("extra") or {}).get("n_train"))


def count_or_none(value: Any) -> Optional[int]:
    """``value`` as a whole count (a number, not a bool), else None."""
    return int(value) if _is_number(value) and not isinstance(value, bool) and value >= 0 else None


def rung_records(sweep_dir: "str | os.PathLike[str]") -> dict[int, dict[str, Any]]:
    """The rung records of a multi-fidelity sweep by job (the last record of a job wins: it holds
    ``promoted``); empty for a single-fidelity sweep."""
    out: dict[int, dict[str, Any]] = {}
    for record in iter_records(sweep_dir):
        if record.get("event") == "rung":
            out[int(record["job"])] = {**out.get(int(record["job"]), {}), **record}
    return out


def write_record(sweep_dir: "str | os.PathLike[str]", record: "StartRecord | EndRecord | RungRecord") -> None:
    """The one writer of ledger records."""
    append_record(sweep_dir, record.to_json())


def append_record(sweep_dir: "str | os.PathLike[str]", record: dict[str, Any]) -> None:
    """Append one record (a JSON object) to the sweep's ledger atomically (safe across processes); genarch's
    own records go through :func:`write_record`, this writes the line (and lets tests write foreign ones)."""
    path = Path(sweep_dir) / LEDGER_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**record, "time": record.get("time", time.time())}
    line = (json.dumps(record, sort_keys=True, default=_default) + "\n").encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a writer died mid-record: end its torn line, keep this record whole
            os.write(fd, line)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def iter_records(sweep_dir: "str | os.PathLike[str]") -> Iterator[dict[str, Any]]:
    """Yield the ledger's records in order.

    A line that is not a JSON record is skipped: a writer that died mid-record (power loss, a killed
    job) leaves a torn line, and :func:`append_record` ends it before the next record. A torn last
    line is skipped silently (it may be the only trace of the crash); one inside the file with a
    warning naming the file and line, so that one lost record never makes the others unreadable. A
    whole JSON object whose fields are of the wrong kind (:func:`record_problem`: a job that is not a
    number, params that are not a mapping, an objective value that is a string) is skipped with such a
    warning wherever it is."""
    path = Path(sweep_dir) / LEDGER_FILE
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for index, line in enumerate(lines):
        line = line.strip()
        if not line:
            continue
        try:
            record: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            record = exc
        problem = record_problem(record) if isinstance(record, dict) else None
        if isinstance(record, dict) and problem is None:
            yield record
        elif problem is not None:  # whole JSON with a field of the wrong kind (an edited or foreign line)
            warnings.warn(f"{path}:{index + 1}: skipped a ledger record with {problem}: {line[:80]!r}", stacklevel=2)
        elif index != last:  # a torn final line (the writer died mid-record) is skipped silently
            why = record if isinstance(record, Exception) else "not a JSON object"
            warnings.warn(f"{path}:{index + 1}: skipped a line that is not a ledger record ({why}): {line[:80]!r}",
                          stacklevel=2)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def record_problem(record: Mapping[str, Any]) -> Optional[str]:
    """What makes a parsed JSON object unusable as a ledger record (None when it is one).

    Only the fields the sweeper and the analysis read are checked; other fields pass as they are."""
    job = record.get("job")
    if "job" not in record:
        return "no job number"
    if not isinstance(job, int) or isinstance(job, bool) or job < 0:
        return f"job {job!r} (not a job number)"
    for key in ("params", "metrics", "objective"):
        if record.get(key) is not None and not isinstance(record[key], dict):
            return f"{key} {record[key]!r} (not a mapping)"
    for key in ("event", "status", "error", "dir"):
        if record.get(key) is not None and not isinstance(record[key], str):
            return f"{key} {record[key]!r} (not a string)"
    value = (record.get("objective") or {}).get("value")
    if value is not None and not _is_number(value):
        return f"objective value {value!r} (not a number)"
    return None


def load_trials(sweep_dir: "str | os.PathLike[str]") -> list[Trial]:
    """Fold the ledger into one :class:`Trial` per job, ordered by job number."""
    latest: dict[int, dict[str, Any]] = {}
    for record in iter_records(sweep_dir):
        job, event = int(record["job"]), record.get("event")
        if event == "start":  # begins the job afresh: a re-run of an interrupted job keeps nothing of its old end
            latest[job] = dict(record)
        elif event == "end" or event is None:
            latest[job] = {**latest.get(job, {}), **record}
    trials = []
    for job in sorted(latest):
        rec = latest[job]
        objective = rec.get("objective") or {}
        value = objective.get("value")
        trials.append(
            Trial(
                job=job,
                status=rec.get("status", "running"),
                params=dict(rec.get("params") or {}),
                objective_name=objective.get("name"),
                direction=objective.get("direction"),
                value=None if value is None else float(value),
                metrics=dict(rec.get("metrics") or {}),
                error=rec.get("error"),
                dir=rec.get("dir"),
                record=rec,
            )
        )
    return trials


def finished_trials(sweep_dir: "str | os.PathLike[str]") -> list[Trial]:
    """The one reader of what a sweep measured: every job whose latest record is an ``end`` record and that was
    not cut off from outside (ok, failed or rejected), by job number."""
    return [t for t in load_trials(sweep_dir) if t.finished]


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# exceptions that cut a trial off from outside (Lightning turns SIGTERM into SIGTERMException); a record
# written before ``end`` records had the ``interrupted`` flag is recognised by its error's type name
INTERRUPTIONS = ("SIGTERMException", "KeyboardInterrupt")


def is_interrupted(record: Mapping[str, Any]) -> bool:
    """Whether an ``end`` record is that of a trial stopped from outside (SIGTERM, Ctrl-C), not of a failure."""
    if record.get("interrupted"):
        return True
    error = record.get("error") or ""
    return record.get("status") == "failed" and str(error).startswith(INTERRUPTIONS)
