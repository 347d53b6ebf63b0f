"""The genarch sweeper: nevergrad ask -> launch a batch through Hydra's launcher -> tell, until the budget.

Structure after Hydra's own nevergrad sweeper; additions: a cache of evaluated candidates, rejection
of illegal models before launch, a failure penalty and rate limit, the sweep ledger, resuming by
deterministic replay (see :mod:`genarch.sweeper.resume`), and warm starts from earlier stages' sweeps."""

import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import nevergrad as ng
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from genarch.io import atomic_write_text
from genarch.ledger import append_record, iter_records
from genarch.sweeper import lock, resume, stage_check
from genarch.sweeper.config import SweeperSettings
from genarch.sweeper._compat import patch_nevergrad
from genarch.sweeper.progress import SweepProgress
from genarch.sweeper.params import ParamSpec, _plain, spec_contains, spec_from_override, spec_from_yaml, to_nevergrad

patch_nevergrad()
log = logging.getLogger(__name__)
RESULTS_FILE = "optimization_results.yaml"
STAGE_FILE = "stage.yaml"


class SweepStopped(RuntimeError):
    """The sweep stopped early (failure rate); everything finished so far is kept in the sweep dir."""


@dataclass
class Outcome:
    status: str                    # ok | failed | rejected
    value: Optional[float] = None  # the objective (ok only)
    direction: Optional[str] = None
    name: Optional[str] = None
    error: Optional[str] = None
    job: Optional[int] = None
    loss: Optional[float] = None   # what the optimizer was told (set at tell time)


@dataclass
class Candidate:
    cand: Any
    params: dict[str, Any]
    overrides: list[str]
    key: tuple[str, ...]
    outcome: Optional[Outcome] = None
    job: Optional[int] = None
    source: str = "new"            # new | cached | batch-duplicate
    extra: dict[str, Any] = field(default_factory=dict)


class NevergradSweeperImpl:
    def __init__(self, settings: SweeperSettings) -> None:
        self.settings = settings
        self.launched = False  # whether a trial was handed to the launcher
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None
        self.hydra_context: Optional[HydraContext] = None
        self.worst_loss: Optional[float] = None
        self.job_guard: Optional[lock.JobLocked] = None  # the task function under its job lock (lock.py)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.job_guard = lock.JobLocked(task_function)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=self.job_guard, config=config)

    # ---- search space -------------------------------------------------------------------------------
    def search_space(self, arguments: list[str]) -> tuple[dict[str, ParamSpec], list[str]]:
        """Stage params, then the command line: a command-line override of a key replaces the stage's."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader if self.hydra_context else None)
        specs: dict[str, ParamSpec] = {}
        for key, value in self.settings.params.items():
            spec = spec_from_yaml(str(key), value, parser)
            specs[spec.name] = spec
        fixed: list[str] = []
        for override in parser.parse_overrides(arguments):
            if override.is_hydra_override():
                raise ValueError(f"{override.input_line}: hydra.* keys cannot be swept or set per trial")
            if override.is_delete() and not override.is_sweep_override():
                specs.pop(override.key_or_group, None)  # ~key: removed from every trial, as Hydra's own sweepers do
                fixed.append(override.input_line)
                continue
            spec = spec_from_override(override)
            specs.pop(spec.name, None)
            if spec.swept:
                specs[spec.name] = spec
            else:
                fixed.append(override.input_line)  # the user's own text, passed to every trial
        fixed += [s.override(s.spec["value"]) for s in specs.values() if not s.swept]
        return {n: s for n, s in specs.items() if s.swept}, fixed

    # ---- the sweep ----------------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.launcher is not None
        st = self.settings
        specs, fixed = self.search_space(list(arguments))
        if not specs:
            raise ValueError("nothing to search: give hydra.sweeper.params (a stage file) or sweep overrides "
                             "such as model.stem.filters=choice(8,16,32)")
        _check_subdir(self.config)
        stage = self._stage_name()
        if self.hydra_context is not None:  # the stage file checked like the command line (stage_check.py)
            stage_check.check_stage(self.config, {n: s.spec for n, s in specs.items()}, fixed,
                                    self.hydra_context.config_loader, self._stage_source(stage)[1] if stage else None,
                                    validator=_model_validator() if st.validate and "model" in self.config else None)
        self.sweep_dir = Path(str(self.config.hydra.sweep.dir))
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        # one owner per sweep dir; then wait for any trial still running for a killed sweep (lock.py)
        self.sweep_lock = lock.own_sweep_dir(self.sweep_dir, self.job_guard)
        old = resume.load_state(self.sweep_dir)

        def new_state(old: Optional[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
            seed = st.seed if st.seed is not None else (old["seed"] if old else random.SystemRandom().randrange(2**31))
            state = resume.make_state(st, {n: s.spec for n, s in specs.items()}, fixed, seed, stage,
                                      old["optimizer_budget"] if old else st.budget)
            state["integer_cell"] = resume.integer_cell(old)
            return seed, state

        seed, state = new_state(old)
        self.finished = {}
        if old is not None:
            diffs = resume.differences(old, state)
            ran = self.sweep_dir / "multirun.yaml"  # the task config the sweep's trials ran with
            if ran.exists():  # an edit of the stage file's body (trainer, dataset...) would mix two tasks
                diffs += [f"task config {d}" for d in _task_differences(OmegaConf.load(ran), self.config)]
            self.finished, cut_off = resume.ended_trials(self.sweep_dir)
            if diffs and not self.finished:
                # the sweep here ended no trial (it stopped at its first launch: a misspelled key): nothing to
                # keep, so the corrected command starts afresh instead of being refused
                log.warning("%s: the sweep started here ended no trial; its search differs from this command's "
                            "(%s); starting afresh", self.sweep_dir, "; ".join(diffs))
                old = None
                seed, state = new_state(None)
            elif diffs:
                raise ValueError(f"cannot resume the sweep in {self.sweep_dir}: its search differs from this command's:\n  - "
                                 + "\n  - ".join(diffs)
                                 + "\nrun the original command again, or choose a new hydra.sweep.dir")
        if old is not None:
            log.info("resuming %s: %d finished jobs are replayed, not re-run%s", self.sweep_dir, len(self.finished),
                     f"; interrupted jobs {cut_off} run again" if cut_off else "")
        warm_dirs = self._warm_start_dirs()  # refuse a bad warm start before this sweep writes anything
        resume.save_state(self.sweep_dir, state)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self._save_stage_file(stage)
        self.progress = SweepProgress.begin(self.config, self.sweep_dir, st.budget)  # per-trial detail: sweep.log

        cell = state["integer_cell"]
        parametrization = ng.p.Dict(**{name: to_nevergrad(s.spec, cell) for name, s in specs.items()})
        parametrization.random_state.seed(seed)
        optimizer = ng.optimizers.registry[st.optimizer](parametrization, budget=state["optimizer_budget"],
                                                         num_workers=st.num_workers)
        log.info("genarch sweeper: %s, budget %d, %d per batch, seed %d, stage %s, %d parameters, sweep dir %s",
                 st.optimizer, st.budget, st.num_workers, seed, stage, len(specs), self.sweep_dir)
        self.specs, self.fixed, self.stage, self.seed = specs, fixed, stage, seed
        self.cache: dict[tuple[str, ...], Outcome] = {}
        self.history: list[Candidate] = []
        self.worst_loss: Optional[float] = None
        self.validate = bool(st.validate and "model" in self.config)
        self.warm_notes = self._warm_start(optimizer, parametrization, warm_dirs)
        returns: list[Sequence[JobReturn]] = []
        job_idx = trained = failed = repeated = rejected = 0
        last_rejected: Optional[Candidate] = None
        stopped: Optional[str] = None
        held: list[Candidate] = []  # failures waiting for the first success (see _hold_back)
        while trained < st.budget:
            if repeated >= st.max_repeated_asks:
                stopped = (f"stopped after {trained} trials: the last {repeated} candidates the optimizer proposed "
                           "were all evaluated before (the space is exhausted or the optimizer converged)")
                log.warning(stopped)
                break
            if rejected >= st.max_repeated_asks:
                stopped = (f"stopped after {trained} trials: the last {rejected} new candidates were all illegal "
                           f"models (hydra.sweeper.max_repeated_asks={st.max_repeated_asks}); the last one: "
                           f"{last_rejected.outcome.error} ({' '.join(last_rejected.overrides)}); narrow the space "
                           "or change the fixed overrides")
                log.warning(stopped)
                break
            batch = [self._candidate(optimizer.ask()) for _ in range(min(st.num_workers, st.budget - trained))]
            new = self._dedupe(batch)
            repeated = 0 if new else repeated + len(batch)
            to_run = [c for c in new if not self._reject(c)]
            rejected = 0 if to_run else rejected + len(new)
            last_rejected = new[-1] if new and not to_run else last_rejected
            for c in to_run + [c for c in new if c not in to_run]:
                c.job, job_idx = job_idx, job_idx + 1
            returns += self._run(to_run)
            for c in new:
                if c.outcome.status == "rejected":
                    self._record_rejected(c)
            for c in batch:
                if c.outcome is None:  # duplicate of a candidate of the same batch
                    c.outcome = self.cache[c.key]
                if self._hold_back(c.outcome):
                    held.append(c)
                else:
                    optimizer.tell(c.cand, self._loss(c.outcome))
                self.history.append(c)
            if held and self.worst_loss is not None:  # the first success has set the scale
                for c in held:
                    optimizer.tell(c.cand, self._loss(c.outcome))
                held = []
            trained += len(to_run)
            failed += sum(c.outcome.status == "failed" for c in to_run)
            self._log_batch(batch)
            self.progress.batch_done(batch, replayed=self.finished)
            if trained and failed / trained > st.max_failure_rate:
                stopped = (f"stopped: {failed} of {trained} trials failed, over hydra.sweeper.max_failure_rate="
                           f"{st.max_failure_rate}; finished trials are kept in {self.sweep_dir} (ledger.jsonl); "
                           "to go on, run the same command with a higher hydra.sweeper.max_failure_rate (it resumes); "
                           f"to read what finished: python -m genarch.analyze {self.sweep_dir}")
                self._write_results(optimizer, stopped)
                raise SweepStopped(stopped)
        self._write_results(optimizer, stopped)
        return returns

    # ---- warm start from earlier sweeps -------------------------------------------------------------
    def _warm_start(self, optimizer: Any, parametrization: Any, warm_dirs: list[Path]) -> dict[str, dict[str, int]]:
        """Tell the optimizer the finished trials of ``hydra.sweeper.warm_start`` that are points of this
        sweep's space: every swept value inside its domain and the same overrides otherwise (the stage's
        name aside), in a sweep of the same task config. They enter the cache, so an ask that repeats one
        is not trained again, and they count neither towards the budget nor in this sweep's ledger."""
        notes: dict[str, dict[str, int]] = {}
        told: list[tuple[Candidate, Outcome]] = []
        for sweep_dir in warm_dirs:
            finished, _ = resume.ended_trials(sweep_dir)
            inside = 0
            for _, trial in sorted(finished.items()):
                if trial.record.get("rejected"):
                    continue
                c = self._warm_candidate(parametrization, trial)
                if c is None:
                    continue
                outcome = Outcome("ok" if trial.ok else "failed", trial.value if trial.ok else None, trial.direction,
                                  trial.objective_name, trial.error, None)
                if c.key not in self.cache:
                    self.cache[c.key] = outcome
                    told.append((c, outcome))
                inside += 1
            notes[str(sweep_dir)] = {"finished": len(finished), "inside": inside}
            log.info("warm start: %d of the %d finished trials of %s lie in this sweep's space", inside, len(finished), sweep_dir)
        # successes first: a failure's penalty is set from the worst loss told so far
        for c, outcome in sorted(told, key=lambda pair: pair[1].status != "ok"):
            if not self._hold_back(outcome):  # earlier failures with no success at all say nothing of the scale
                optimizer.tell(c.cand, self._loss(outcome))
        return notes

    def _warm_start_dirs(self) -> list[Path]:
        """``hydra.sweeper.warm_start`` checked before anything is written: each entry a genarch sweep
        directory other than this one, of the same task config (else its results describe another task)."""
        dirs = []
        for i, entry in enumerate(self.settings.warm_start):
            where = f"hydra.sweeper.warm_start[{i}]={entry}"
            sweep_dir = Path(entry).resolve()
            if sweep_dir == self.sweep_dir.resolve():
                raise ValueError(f"{where}: that is this sweep's own directory; give earlier sweeps")
            if not (sweep_dir / "ledger.jsonl").exists() or not (sweep_dir / "multirun.yaml").exists():
                raise ValueError(f"{where}: no ledger.jsonl and multirun.yaml there (is it a genarch sweep directory?)")
            differs = _task_differences(OmegaConf.load(sweep_dir / "multirun.yaml"), self.config)
            if differs:
                raise ValueError(f"{where}: that sweep ran another task config, so its results do not describe this "
                                 "one:\n  - " + "\n  - ".join(differs[:8]) + ("\n  - ..." if len(differs) > 8 else ""))
            dirs.append(sweep_dir)
        return dirs

    def _warm_candidate(self, parametrization: Any, trial: Any) -> Optional[Candidate]:
        """An earlier trial as a candidate of this sweep, or None if it is not a point of this space."""
        recorded = trial.record.get("overrides") or []
        known = {**self._fixed_values(recorded), **trial.params}  # a key may have been fixed there, swept here
        if any(name not in known or not spec_contains(spec.spec, known[name]) for name, spec in self.specs.items()):
            return None
        params = {name: known[name] for name in self.specs}
        swept = [self.specs[name].override(value) for name, value in params.items()]
        if _without_stage(self.fixed + swept) != _without_stage(recorded):
            return None  # another fixed value, or a key this sweep does not set
        try:
            cand = parametrization.spawn_child(new_value=params)
        except (ValueError, TypeError, KeyError):
            return None
        return Candidate(cand, params, self.fixed + swept, tuple(sorted(swept)), source="warm-start")

    def _fixed_values(self, overrides: Sequence[str]) -> dict[str, Any]:
        """The values of an earlier trial's plain (not swept) overrides, by parameter name."""
        parser = self._plain_parser = getattr(self, "_plain_parser", None) or OverridesParser.create()
        out: dict[str, Any] = {}
        for text in overrides:
            try:
                spec = spec_from_override(parser.parse_override(text))
            except Exception:  # noqa: BLE001 - an override this sweep cannot read is simply not a known value
                continue
            if not spec.swept:
                out[spec.name] = spec.spec["value"]
        return out

    def _candidate(self, cand: Any) -> Candidate:
        params = {name: _plain(cand.value[name]) for name in self.specs}
        swept = [self.specs[name].override(value) for name, value in params.items()]
        return Candidate(cand, params, self.fixed + swept, tuple(sorted(swept)))

    def _dedupe(self, batch: list[Candidate]) -> list[Candidate]:
        """Candidates to evaluate; the others get a cached outcome (or share one of this batch)."""
        new, seen = [], set()
        for c in batch:
            if c.key in self.cache:
                c.outcome, c.source = self.cache[c.key], "cached"
                if c.outcome.status == "rejected":  # said once, when it was rejected
                    log.debug("candidate already rejected as an illegal model: %s", c.params)
                else:
                    log.info("candidate already evaluated as job %s, not trained again: %s",
                             c.outcome.job if c.outcome.job is not None else "of a warm-start sweep", c.params)
            elif c.key in seen:
                c.source = "batch-duplicate"
            else:
                seen.add(c.key)
                new.append(c)
        return new

    def _reject(self, c: Candidate) -> bool:
        """Compose the candidate's config and reject an illegal model without launching it."""
        if not self.validate:
            return False
        from genarch.model.validate import ConfigError, validate_model

        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(c.overrides))
        length = cfg.get("dataset", {}).get("length") if isinstance(cfg.get("dataset"), DictConfig) else None
        try:
            validate_model(OmegaConf.to_container(cfg.model, resolve=True), seq_len=length if isinstance(length, int) else None)
        except ConfigError as exc:
            c.outcome = Outcome("rejected", error=f"ConfigError: {exc}")
            self.cache[c.key] = c.outcome
            return True
        return False

    # ---- running jobs -------------------------------------------------------------------------------
    def _run(self, to_run: list[Candidate]) -> list[JobReturn]:
        pending = []
        for c in to_run:
            done = self.finished.get(c.job)
            if done is None:
                pending.append(c)
                continue
            recorded = done.record.get("overrides")
            if recorded is not None and list(recorded) != c.overrides:
                raise RuntimeError(f"resume replay diverged at job {c.job}: the ledger has {recorded}, the replay asked "
                                   f"{c.overrides}; the sweep cannot be resumed deterministically")
            c.outcome = Outcome("ok" if done.ok else "failed", done.value if done.ok else None, done.direction,
                                done.objective_name, done.error, c.job)
            self.cache[c.key] = c.outcome
        for c in pending:
            append_record(self.sweep_dir, {"job": c.job, "event": "start", "status": "running", "params": c.params,
                                           "overrides": c.overrides, "stage": self.stage})
        returns: list[JobReturn] = []
        # the launcher numbers a batch consecutively: launch each run of consecutive job numbers at once
        segments: list[list[Candidate]] = []
        for c in pending:
            if segments and segments[-1][-1].job + 1 == c.job:
                segments[-1].append(c)
            else:
                segments.append([c])
        for segment in segments:
            self.launched = True  # from here an error is the run's, not the stage's (see SweepInputError)
            rets = self.launcher.launch([c.overrides for c in segment], initial_job_idx=segment[0].job)
            returns += rets
            ends: dict[int, dict[str, Any]] = {}  # each job's end record written after its latest start
            for r in iter_records(self.sweep_dir):
                if r.get("event") == "start":
                    ends.pop(r["job"], None)
                elif r.get("event") == "end":
                    ends[r["job"]] = r
            for c, ret in zip(segment, rets):
                c.outcome = self._outcome(c, ret, ends.get(c.job))
                self.cache[c.key] = c.outcome
        return returns

    def _outcome(self, c: Candidate, ret: JobReturn, end: Optional[dict[str, Any]]) -> Outcome:
        objective = (end or {}).get("objective") or {}
        direction, name = objective.get("direction"), objective.get("name")
        if ret.status == JobStatus.COMPLETED:
            value, error = ret.return_value, None
            try:
                value = float(value)
                if not math.isfinite(value):
                    error = f"FloatingPointError: the objective is {value}"
            except (TypeError, ValueError):
                error = f"TypeError: the task returned {type(value).__name__} {value!r}, not a number"
        else:
            exc = ret._return_value
            value, error = None, f"{type(exc).__name__}: {exc}"
        status = "ok" if error is None else "failed"
        if end is None or end.get("status") != status:  # the task wrote no end record (not genarch.app.run)
            out = _output_dir(ret)
            result = _own_result(out, status, value)  # genarch.app.run's result.json, where its hook could not write
            if result:
                objective = result.get("objective") or {}
                direction, name = direction or objective.get("direction"), name or objective.get("name")
            append_record(self.sweep_dir, {
                "job": c.job, "event": "end", "status": status, "params": c.params,
                "objective": {"name": name or self._config_objective()[0], "direction": direction or (self._direction(None) if status == "ok" else self._known_direction()),
                              "value": value if status == "ok" else None},
                **{key: result.get(key) for key in ("n_params", "epochs", "wall_time_s")},
                "metrics": result.get("metrics") or {}, "error": error,
                "dir": _relative(out, self.sweep_dir) if out else None, "writer": "sweeper"})
        return Outcome(status, value if status == "ok" else None, direction, name or self._config_objective()[0],
                       error, c.job)

    def _record_rejected(self, c: Candidate) -> None:
        if c.job in self.finished:
            return
        append_record(self.sweep_dir, {
            "job": c.job, "event": "end", "status": "failed", "rejected": True, "params": c.params,
            "overrides": c.overrides, "stage": self.stage,
            "objective": {"name": self._config_objective()[0], "direction": self._known_direction(), "value": None},
            "metrics": {}, "n_params": None, "epochs": 0, "wall_time_s": 0.0, "error": c.outcome.error, "dir": None,
            "writer": "sweeper"})

    # ---- losses ------------------------------------------------------------------------------------
    def _config_objective(self) -> tuple[str, Optional[str]]:
        objective = self.config.get("objective") if self.config is not None else None
        if isinstance(objective, DictConfig):
            direction = objective.get("direction")
            return str(objective.get("name", "objective")), direction if direction in ("maximize", "minimize") else None
        return "objective", None

    def _known_direction(self) -> Optional[str]:
        """The direction as the settings or the config state it; None where only a trial can tell
        (``objective.direction: auto``), so that a record without a result does not guess one."""
        if self.settings.direction != "auto":
            return self.settings.direction
        return self._config_objective()[1]

    def _direction(self, reported: Optional[str]) -> str:
        """The direction of a success: the settings', else the trial's own, else what the config's objective
        resolves to (genarch's ``auto`` objective is maximised unless it names a loss), else minimise."""
        if self.settings.direction != "auto":
            return self.settings.direction
        return reported or self._prospective_direction() or "minimize"

    def _hold_back(self, outcome: Outcome) -> bool:
        """A failure (or rejected candidate) before any success is told only once a success has set the
        scale of the losses, unless the penalty is fixed or the objective is maximised. Maximised, the
        penalty before any success is loss 1.0, worse than every value >= -1 (AUROC, accuracy, r); a
        minimised objective (a loss, an MSE) may lie anywhere above 0, where 1.0 could look like the best."""
        if outcome.status == "ok" or self.settings.failure_penalty is not None or self.worst_loss is not None:
            return False
        return self._prospective_direction() != "maximize"

    def _prospective_direction(self) -> Optional[str]:
        """The direction before any trial reported one: the settings, the config's objective, or what
        genarch's ``auto`` objective resolves to (a ``*loss``/``*mse`` metric is minimised, the default
        AUROC / Pearson r maximised); None for a task that says nothing."""
        known = self._known_direction()
        if known is not None:
            return known
        objective = self.config.get("objective") if self.config is not None else None
        if not isinstance(objective, DictConfig) or objective.get("direction") not in (None, "auto"):
            return None
        from genarch.training.metrics import MINIMIZED  # the rule resolve_objective applies to an auto direction

        name = str(objective.get("name") or "auto")
        return "minimize" if name.endswith(MINIMIZED) else "maximize"

    def _loss(self, outcome: Outcome) -> float:
        if outcome.loss is not None:
            return outcome.loss
        if outcome.status == "ok":
            outcome.direction = self._direction(outcome.direction)
            outcome.loss = -outcome.value if outcome.direction == "maximize" else outcome.value
            self.worst_loss = outcome.loss if self.worst_loss is None else max(self.worst_loss, outcome.loss)
        elif self.settings.failure_penalty is not None:
            outcome.loss = float(self.settings.failure_penalty)
        else:
            worst = 0.0 if self.worst_loss is None else self.worst_loss
            outcome.loss = worst + max(1.0, abs(worst))
        return outcome.loss

    # ---- reporting ---------------------------------------------------------------------------------
    def _log_batch(self, batch: list[Candidate]) -> None:
        for c in batch:
            o = c.outcome
            # the whole error on one line: a rejection's reasons follow its first line ("illegal model config:")
            error = " ".join(line.strip() for line in (o.error or "").splitlines() if line.strip())
            what = f"{o.value:.4f}" if o.status == "ok" else f"{o.status}: {error[:300]}"
            source = "replayed" if c.source == "new" and c.job in self.finished else c.source
            log.info("job %s (%s) %s  %s", c.job if c.job is not None else o.job, source, what, c.params)

    def _best(self) -> Optional[Candidate]:
        evaluated = [c for c in self.history if c.source == "new" and c.outcome.status == "ok"]
        return min(evaluated, key=lambda c: c.outcome.loss) if evaluated else None

    def _write_results(self, optimizer: Any, stopped: Optional[str]) -> None:
        best = self._best()
        new = [c for c in self.history if c.source == "new"]
        try:
            recommendation = {k: _plain(v) for k, v in optimizer.provide_recommendation().value.items()}
        except Exception:  # noqa: BLE001 - no tell yet
            recommendation = None
        results = {
            "name": "genarch",
            "stage": self.stage,
            "optimizer": self.settings.optimizer,
            "seed": self.seed,
            "objective": {"name": best.outcome.name if best else self._config_objective()[0],
                          "direction": best.outcome.direction if best else self._direction(None)},
            "best_evaluated_params": best.params if best else None,
            "best_evaluated_result": best.outcome.value if best else None,
            "best_job": best.job if best else None,
            "recommendation": recommendation,
            "n_trials": sum(c.outcome.status != "rejected" for c in new),
            "n_ok": sum(c.outcome.status == "ok" for c in new),
            "n_failed": sum(c.outcome.status == "failed" for c in new),
            "n_rejected": sum(c.outcome.status == "rejected" for c in new),
            "n_cached": sum(c.source != "new" for c in self.history),
            "warm_start": getattr(self, "warm_notes", None) or None,
            "stopped": stopped,
        }
        atomic_write_text(self.sweep_dir / RESULTS_FILE, OmegaConf.to_yaml(OmegaConf.create(results)))
        if best:
            log.info("best: job %s %s = %.4f  %s", best.job, results["objective"]["name"], best.outcome.value, best.params)
        if getattr(self, "progress", None) is not None:
            self.progress.close(stopped)

    def _stage_name(self) -> Optional[str]:
        choices = self.config.hydra.runtime.get("choices") or {}
        stage = choices.get("stage") if "stage" in choices else None
        return None if stage is None else str(stage)

    def _stage_source(self, stage: str) -> tuple[str, Optional[str]]:
        """Where the stage file was read from (the first of Hydra's search path that has it) and its text
        (None when no source can be read here)."""
        for source in self.config.hydra.runtime.get("config_sources") or []:  # the search path, in order
            scheme, root = str(source.schema), str(source.path)
            text = _source_text(scheme, root, f"stage/{stage}.yaml")
            if text is not None:
                where = str(Path(root) / "stage" / f"{stage}.yaml") if scheme == "file" else f"{scheme}://{root}/stage/{stage}.yaml"
                return where, text
        return f"stage/{stage}.yaml", None

    def stage_file(self) -> Optional[str]:
        """Where the stage file of this sweep was read from, or None without a stage."""
        stage = self._stage_name() if self.config is not None else None
        return None if stage is None else self._stage_source(stage)[0]

    def _save_stage_file(self, stage: Optional[str]) -> None:
        """A copy of the stage file that was run (with its comments), for the analysis to diff against."""
        if stage is None:
            return
        text = self._stage_source(stage)[1]
        if text is None:
            text = f"# stage {stage} (source file not readable; composed hydra.sweeper shown)\n" + OmegaConf.to_yaml(
                OmegaConf.create({"hydra": {"sweeper": OmegaConf.to_container(self.config.hydra.sweeper)}}))
        atomic_write_text(self.sweep_dir / STAGE_FILE, text)


def _model_validator():
    """The task's model validator, passed to the stage check (see issue 35: the task side's rules come in)."""
    from genarch.model.validate import validate_model

    return validate_model


def _override_key(text: str) -> str:
    return text.split("=", 1)[0].lstrip("+~")


def _without_stage(overrides: Sequence[str]) -> set[str]:
    """A trial's overrides as a set, the stage's own (``+stage=...``: its name differs per stage) left out."""
    return {o for o in overrides if _override_key(o) != "stage"}


def _task_differences(earlier: DictConfig, now: DictConfig) -> list[str]:
    """Keys where two sweeps' task configs differ. Left out: ``hydra``, the stage's name, and every key a
    command-line override or a ``hydra.sweeper.params`` entry of either sweep sets: those reach every
    trial as overrides, and a trial's overrides are compared one by one instead (the composed config
    still holds the base value, which no trial of that sweep ran with)."""
    skip: set[tuple[str, ...]] = {("stage",)}
    for cfg in (earlier, now):
        keys = [_override_key(str(text)) for text in OmegaConf.select(cfg, "hydra.overrides.task", default=None) or []]
        keys += [str(k).lstrip("+") for k in (OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {})]
        for key in keys:
            skip.add(tuple(key.split("@", 1)[0].replace("/", ".").split(".")))

    def plain(cfg: DictConfig) -> dict[str, Any]:
        data = OmegaConf.to_container(cfg, resolve=False)
        data.pop("hydra", None)
        return data

    out: list[str] = []

    def walk(a: Any, b: Any, path: tuple[str, ...]) -> None:
        if path in skip:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<absent>"), b.get(key, "<absent>"), path + (str(key),))
        elif a != b:
            out.append(f"{'.'.join(path)}: was {a!r}, now {b!r}")

    walk(plain(earlier), plain(now), ())
    return out


def _source_text(scheme: str, path: str, relative: str) -> Optional[str]:
    try:
        if scheme == "file":
            return (Path(path) / relative).read_text(encoding="utf-8")
        if scheme == "pkg":
            from importlib import resources

            return resources.files(path.replace("/", ".")).joinpath(relative).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError, TypeError):
        return None
    return None


def _check_subdir(config: DictConfig) -> None:
    """``hydra.sweep.subdir`` must name a folder inside ``hydra.sweep.dir``: the trials find their sweep's
    ledger from it, and a subdir that leaves the sweep dir would put their records into another one."""
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if subdir is None:
        return
    path = Path(str(subdir))
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"hydra.sweep.subdir={subdir}: give a relative folder inside hydra.sweep.dir (no '..', not an "
                         "absolute path); to put the runs elsewhere, set hydra.sweep.dir instead")


def _own_result(out: Optional[Path], status: str, value: Any) -> dict[str, Any]:
    """The trial's result.json in its output dir when it is this run's (same status, same objective value);
    else an empty dict (a task other than genarch.app.run, or a stale file)."""
    if out is None:
        return {}
    from genarch.result import read_result

    try:
        result = read_result(out)
    except (OSError, ValueError):
        return {}
    if not isinstance(result, dict) or result.get("status") != status:
        return {}
    if status == "ok" and (result.get("objective") or {}).get("value") != value:
        return {}
    return result


def _output_dir(ret: JobReturn) -> Optional[Path]:
    hc = getattr(ret, "hydra_cfg", None)
    if hc is None:
        return None
    node = hc.get("hydra", hc) if isinstance(hc, DictConfig) else hc
    try:
        return Path(str(node.runtime.output_dir))
    except Exception:  # noqa: BLE001
        return None


def _relative(path: Path, base: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(base).resolve())
