"""The multi-fidelity sweep loop: brackets of successive-halving rungs, each rung one batch of Hydra jobs.

A bracket asks its candidates of nevergrad at once, runs them at the bracket's first rung, promotes the best
``1/eta`` (:func:`genarch.sweeper.fidelity.promotions`, by the loss the optimizer would be told) and runs them
at ``eta`` times the fidelity, up to the top rung; then every candidate of the bracket is told the loss of the
last rung it reached. Each rung job is a job of its own (its own number, dir and ledger records: a ``start``
with its rung and fidelity, the trial's ``end``, and a :class:`~genarch.ledger.RungRecord` with its score
and cost). Where the fidelity is epochs, a promoted job continues from the checkpoint its previous rung's job
left (``resume_key``); otherwise it retrains. Job numbers follow deterministically from the replayed
ask/tell sequence, so a killed sweep run again replays every finished rung job from the ledger and relaunches
only the ones in flight (a promoted one again from its previous rung's checkpoint)."""

import dataclasses
import logging
from pathlib import Path
from typing import Any, Optional

from genarch.ledger import (RungRecord, count_or_none, iter_records, load_trials, n_train_of, rung_records,
                            write_record)
from genarch.sweeper import job_records, results
from genarch.sweeper.fidelity import Fidelity, brackets, promotions
from genarch.sweeper.rounds import Rounds
from genarch.sweeper.run import Candidate

log = logging.getLogger(__name__)


def run_brackets(impl: Any, optimizer: Any, fidelity: Fidelity, rounds: Rounds) -> tuple[list[Any], Optional[str]]:
    """Run brackets until ``budget`` candidates entered one; return the job returns and why it stopped early.
    Asking, telling and the stop rules are those of the single-fidelity loop (:class:`Rounds`); a bracket's
    candidates are numbered first and its later rungs' jobs after them."""
    run = impl.run
    levels = fidelity.rungs()
    schedule = brackets(len(levels), fidelity.eta, fidelity.brackets)
    log.info("multi-fidelity: %s rungs %s, eta %d, brackets %s (first rung, candidates)", fidelity.key, levels,
             fidelity.eta, schedule)
    returns: list[Any] = []
    bracket = 0
    while rounds.budget_left > 0:
        stopped = rounds.stop_before_ask()
        if stopped:
            log.warning(stopped)
            return returns, stopped
        first, n = schedule[bracket % len(schedule)]
        bracket += 1
        batch = rounds.ask(impl, optimizer, min(n, rounds.budget_left))
        for c in batch.rejected:
            job_records.write_rejected(run, c)
        returns += _run_rungs(impl, fidelity, levels, first, batch.to_run, rounds)
        rounds.tell(run, optimizer, batch)
        rounds.count(len(batch.to_run), sum(c.extra.get("first_status") == "failed" for c in batch.to_run))
        stopped = rounds.failure_stop(run.sweep_dir, "trials failed at their first rung")
        if stopped:
            return returns, stopped
    return returns, None


def _run_rungs(impl: Any, fidelity: Fidelity, levels: list[int], first: int, entrants: list[Candidate],
               rounds: Rounds) -> list[Any]:
    """Run the entrants from rung ``first`` up, promoting the best ``1/eta`` of each rung; the job returns."""
    run = impl.run
    returns: list[Any] = []
    previous: dict[tuple[str, ...], int] = {}  # candidate key -> the job of its previous rung
    trials: dict[int, Any] = {}  # the ledger as read after the previous rung's jobs ended
    for rung in range(first, len(levels)):
        if not entrants:
            return returns
        jobs = []
        for c in entrants:
            c.extra["top_rung"] = rung
            job = c.job
            if rung != first:
                job, rounds.next_job = rounds.next_job, rounds.next_job + 1
            recorded = run.finished.get(job)  # a replayed job: what it was started with decides its resume
            jobs.append(_rung_job(fidelity, levels, c, rung, job, previous.get(c.key), trials, run.sweep_dir,
                                  recorded.overrides if recorded is not None else None))
        returns += impl._run(jobs)
        trials = {t.job: t for t in load_trials(run.sweep_dir)}
        known = rung_records(run.sweep_dir)
        records = {job.job: _rung_record(impl, fidelity, levels, job, trials) for job in jobs}
        for job in jobs:
            if rung == first:
                entrant = _candidate_of(entrants, job)
                entrant.extra["first_status"] = job.outcome.status
                if job.job in run.finished:  # replayed: its promotions run with the values it recorded, to the bit
                    entrant.overrides = job.overrides[:len(entrant.overrides)]
            if job.job not in known:
                write_record(run.sweep_dir, records[job.job])
        results.log_batch(run, jobs)
        if run.progress is not None:
            run.progress.batch_done(jobs, replayed=run.finished)
        if rung == len(levels) - 1:
            return returns
        scores = [run.losses.loss(j.outcome) if j.outcome.status == "ok" else None for j in jobs]
        chosen = set(promotions(scores, fidelity.eta, "minimize"))  # losses: nevergrad's sign, lower is better
        for i, job in enumerate(jobs):
            if known.get(job.job, {}).get("promoted") is None:
                write_record(run.sweep_dir, dataclasses.replace(records[job.job], promoted=i in chosen))
        log.info("rung %d (%s=%d): %d of %d promoted to %s=%d", rung, fidelity.key, levels[rung], len(chosen),
                 len(jobs), fidelity.key, levels[rung + 1])
        previous = {entrants[i].key: jobs[i].job for i in chosen}
        entrants = [entrants[i] for i in sorted(chosen)]
    return returns


def _candidate_of(entrants: list[Candidate], job: Candidate) -> Candidate:
    return next(c for c in entrants if c.key == job.key)


def _rung_job(fidelity: Fidelity, levels: list[int], c: Candidate, rung: int, job: int,
              previous_job: Optional[int], trials: dict[int, Any], sweep_dir: Path,
              recorded: Optional[list[str]] = None) -> Candidate:
    """The job of candidate ``c`` at ``rung``: its overrides + the rung's fidelity (+ the checkpoint to continue
    from, for a promoted job of an epoch fidelity). ``recorded``: the overrides a replayed job ran with (it
    continued from a checkpoint exactly when they name one)."""
    overrides = list(c.overrides) + [f"++{fidelity.key}={levels[rung]}"]
    if fidelity.resumes and fidelity.save_key and rung < len(levels) - 1:
        overrides.append(f"++{fidelity.save_key}=true")  # keep the checkpoint a promotion continues from
    resumed_from = None
    if previous_job is not None and fidelity.resumes:
        done, prefix = trials.get(previous_job), f"++{fidelity.resume_key}="
        if recorded is not None:
            resume = [o for o in recorded if o.startswith(prefix)]
            overrides += resume
            resumed_from = previous_job if resume else None
        elif done is not None and done.dir:
            job_dir = Path(sweep_dir) / done.dir
            if job_dir.is_dir():  # a missing checkpoint in a job folder that exists is an error: the trainer says so
                overrides.append(f"{prefix}'{(job_dir / fidelity.checkpoint).resolve()}'")
                resumed_from = previous_job
            else:  # the job folder is gone (a sweep restored from its kept ledger): this rung trains from scratch
                log.warning("job %d: the folder %s of its previous rung (job %d) is gone; it trains from scratch",
                            job, job_dir, previous_job)
    trial = c.job if previous_job is None else c.extra.get("trial", c.job)
    c.extra.setdefault("trial", c.job)
    return Candidate(c.cand, c.params, overrides, c.key, job=job, source="new",
                     extra={"rung": rung, "fidelity": {fidelity.key: levels[rung]}, "trial": trial,
                            "resumed_from": resumed_from, "previous": previous_job})


def _rung_record(impl: Any, fidelity: Fidelity, levels: list[int], job: Candidate,
                 trials: dict[int, Any]) -> RungRecord:
    """The job's rung, fidelity, score and cost (epochs trained by this job x training sequences, seconds)."""
    t = trials.get(job.job)
    record = t.record if t is not None else {}
    epochs = record.get("epochs")
    is_epochs = fidelity.resumes or fidelity.key.endswith("epochs")
    if epochs is None and is_epochs:
        epochs = levels[job.extra["rung"]]
    if epochs is not None and job.extra.get("resumed_from") is not None:
        before = trials.get(job.extra["resumed_from"])
        done = (before.record.get("epochs") if before is not None else None)
        done = levels[job.extra["rung"] - 1] if done is None else done
        epochs = max(0, int(epochs) - int(done))
    sequences = _sequences(impl, t)
    if sequences is None and not is_epochs:
        sequences = levels[job.extra["rung"]]  # a training-size fidelity: the rung's size
    o = job.outcome
    return RungRecord(job.job, job.extra["trial"], job.extra["rung"], dict(job.extra["fidelity"]), o.status,
                      value=o.value if o.status == "ok" else None, direction=o.direction, epochs=epochs,
                      sequences=sequences, seconds=_seconds(impl.run.sweep_dir, job.job, record),
                      resumed_from=job.extra.get("resumed_from"))


def _sequences(impl: Any, trial: Any) -> Optional[int]:
    """Training sequences per epoch, from the job's result file (genarch's result.json: extra.n_train)."""
    if trial is None:
        return None
    kept = count_or_none(trial.record.get("n_train"))  # kept in the ledger: the job folder may be gone
    if kept is not None:
        return kept
    if not trial.dir:
        return None
    try:
        result = impl.rules.read_result(Path(impl.run.sweep_dir) / trial.dir)
    except (OSError, ValueError):
        return None
    return n_train_of(result or {})


def _seconds(sweep_dir: Path, job: int, end: dict[str, Any]) -> Optional[float]:
    """The job's training time as it reported it, else the time from its latest start record to its end."""
    if end.get("wall_time_s") is not None:
        return float(end["wall_time_s"])
    started = None
    for record in iter_records(sweep_dir):
        if record.get("job") == job and record.get("event") == "start":
            started = record.get("time")
    ended = end.get("time")
    return None if started is None or ended is None else round(float(ended) - float(started), 3)
