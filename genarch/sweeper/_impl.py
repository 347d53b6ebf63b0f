"""The genarch sweeper: nevergrad ask -> launch a batch through Hydra's launcher -> tell, until the budget.

Structure after Hydra's own nevergrad sweeper: this module holds the loop; the parts are
:mod:`~genarch.sweeper.search_space` (stage params + command line), :mod:`~genarch.sweeper.resume`
(sweep_state.json, replay), :mod:`~genarch.sweeper.warm_start`, :mod:`~genarch.sweeper.losses` (direction,
failure penalty), :mod:`~genarch.sweeper.job_records` (a job's outcome and the ledger records the sweeper
writes), :mod:`~genarch.sweeper.stage_file`, :mod:`~genarch.sweeper.results`; the task's rules (model check,
auto direction, result file) come in through ``hydra.sweeper.task_rules`` (:mod:`~genarch.sweeper.task`)."""

import logging
from pathlib import Path
from typing import Any, Optional, Sequence

import nevergrad as ng
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from genarch.ledger import load_trials
from genarch.sweeper import job_records, lock, results, stage_check
from genarch.sweeper._compat import patch_nevergrad
from genarch.sweeper.config import SweeperSettings
from genarch.sweeper.fidelity import fidelity_of, planned_jobs
from genarch.sweeper.losses import Losses
from genarch.sweeper.params import ParamSpec, to_nevergrad
from genarch.sweeper.points import check_points, suggest_points
from genarch.sweeper.progress import SweepProgress
from genarch.sweeper.resume import open_sweep, same_job, save_state
from genarch.sweeper.rounds import Rounds
from genarch.sweeper.run import Candidate, Outcome, SweepRun
from genarch.sweeper.rung_loop import run_brackets
from genarch.sweeper.search_space import search_space
from genarch.sweeper.stage_file import save_stage_file, stage_name, stage_source
from genarch.sweeper.task import load_task_rules
from genarch.sweeper.warm_start import warm_start, warm_start_dirs

patch_nevergrad()
log = logging.getLogger(__name__)


class SweepStopped(RuntimeError):
    """The sweep stopped early (failure rate); everything finished so far is kept in the sweep dir."""


class NevergradSweeperImpl:
    def __init__(self, settings: SweeperSettings) -> None:
        self.settings = settings
        self.rules = load_task_rules(settings.task_rules)
        self.launched = False  # whether a trial was handed to the launcher
        self.config: Optional[DictConfig] = None
        self.launcher: Any = None
        self.hydra_context: Optional[HydraContext] = None
        self.run: Optional[SweepRun] = None  # the state of the sweep in progress
        self.job_guard: Optional[lock.JobLocked] = None  # the task function under its job lock (lock.py)

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.job_guard = lock.JobLocked(task_function)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=self.job_guard, config=config)

    def search_space(self, arguments: list[str]) -> tuple[dict[str, ParamSpec], list[str]]:
        loader = self.hydra_context.config_loader if self.hydra_context else None
        return search_space(self.settings.params, arguments, loader)

    def stage_file(self) -> Optional[str]:
        """Where the stage file of this sweep was read from, or None without a stage."""
        stage = stage_name(self.config) if self.config is not None else None
        return None if stage is None else stage_source(self.config, stage)[0]

    # ---- the sweep ----------------------------------------------------------------------------------
    def sweep(self, arguments: list[str]) -> list[Sequence[JobReturn]]:
        assert self.config is not None and self.launcher is not None
        st = self.settings
        specs, fixed = self.search_space(list(arguments))
        if not specs:
            raise ValueError("nothing to search: give hydra.sweeper.params (a stage file) or sweep overrides "
                             "such as model.stem.filters=choice(8,16,32)")
        _check_subdir(self.config)
        fidelity = fidelity_of(st, specs, fixed)  # refused before anything is written
        points = check_points(st.points, specs, fixed)
        stage = stage_name(self.config)
        if self.hydra_context is not None:  # the stage file checked like the command line (stage_check.py)
            validates = st.validate and self.rules.validates(self.config)
            # a swept +key adds a key, so the config has nothing to check it against (as for a fixed +key)
            stage_check.check_stage(self.config, {n: s.spec for n, s in specs.items() if not s.prefix}, fixed,
                                    self.hydra_context.config_loader,
                                    stage_source(self.config, stage)[1] if stage else None,
                                    validator=stage_check.validator_of(self.rules) if validates else None)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        # one owner per sweep dir; then wait for any trial still running for a killed sweep (lock.py)
        self.sweep_lock = lock.own_sweep_dir(sweep_dir, self.job_guard)
        run_only = self.rules.run_only_keys()
        state, finished, _, _ = open_sweep(sweep_dir, st, specs, fixed, stage, self.config, run_only)
        # refused before anything is written
        warm_dirs = warm_start_dirs(st.warm_start, sweep_dir, self.config, run_only)
        save_state(sweep_dir, state)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        save_stage_file(self.config, sweep_dir, stage)
        jobs = st.budget if fidelity is None else planned_jobs(fidelity, st.budget)  # rungs: one job per rung
        progress = SweepProgress.begin(self.config, sweep_dir, jobs)  # per-trial detail: sweep.log

        seed = state["seed"]
        parametrization = ng.p.Dict(**{name: to_nevergrad(s.spec, state["integer_cell"]) for name, s in specs.items()})
        parametrization.random_state.seed(seed)
        optimizer = ng.optimizers.registry[st.optimizer](parametrization, budget=state["optimizer_budget"],
                                                         num_workers=state["optimizer_workers"])
        log.info("genarch sweeper: %s, budget %d, %d per batch, seed %d, stage %s, %d parameters, sweep dir %s",
                 st.optimizer, st.budget, st.num_workers, seed, stage, len(specs), sweep_dir)
        losses = Losses(st, self.config.get("objective"), self.rules)
        run = self.run = SweepRun(sweep_dir, specs, fixed, stage, seed, finished, losses,
                                  bool(st.validate and self.rules.validates(self.config)), progress)
        run.warm_notes = warm_start(run, optimizer, parametrization, warm_dirs, self.rules.absent_values())
        suggest_points(optimizer, points)
        rounds = Rounds(st, queued=list(points))
        if fidelity is not None:  # successive-halving rungs (genarch.sweeper.rung_loop)
            returns, stopped = run_brackets(self, optimizer, fidelity, rounds)
        else:
            returns, stopped = self._run_rounds(optimizer, rounds)
        results.write_results(run, st, optimizer, stopped)
        if rounds.over_failure_rate:  # the command fails; what finished is kept
            raise SweepStopped(stopped)
        return returns

    def _run_rounds(self, optimizer: Any, rounds: Rounds) -> tuple[list[Sequence[JobReturn]], Optional[str]]:
        """Single fidelity: ask a batch of ``num_workers``, run it, tell, until the budget or a stop rule."""
        run, st = self.run, self.settings
        returns: list[Sequence[JobReturn]] = []
        while rounds.budget_left > 0:
            stopped = rounds.stop_before_ask()
            if stopped:
                log.warning(stopped)
                return returns, stopped
            batch = rounds.ask(self, optimizer, min(st.num_workers, rounds.budget_left))
            returns += self._run(batch.to_run)
            for c in batch.rejected:
                job_records.write_rejected(run, c)
            rounds.tell(run, optimizer, batch)
            rounds.count(len(batch.to_run), sum(c.outcome.status == "failed" for c in batch.to_run))
            results.log_batch(run, batch.asked)
            run.progress.batch_done(batch.asked, replayed=run.finished)
            stopped = rounds.failure_stop(run.sweep_dir)
            if stopped:
                return returns, stopped
        return returns, None

    def _dedupe(self, batch: list[Candidate]) -> list[Candidate]:
        """Candidates to evaluate; the others get a cached outcome (or share one of this batch)."""
        new, seen = [], set()
        for c in batch:
            if c.key in self.run.cache:
                c.outcome, c.source = self.run.cache[c.key], "cached"
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
        """Compose the candidate's config and reject an illegal model (the task's rules) without launching it."""
        if not self.run.validate:
            return False
        cfg = self.hydra_context.config_loader.load_sweep_config(self.config, list(c.overrides))
        error = self.rules.reject(cfg)
        if error is None:
            return False
        c.outcome = Outcome("rejected", error=error)
        self.run.cache[c.key] = c.outcome
        return True

    # ---- running jobs -------------------------------------------------------------------------------
    def _run(self, to_run: list[Candidate]) -> list[JobReturn]:
        run = self.run
        pending = []
        for c in to_run:
            done = run.finished.get(c.job)
            if done is None:
                pending.append(c)
                continue
            if done.overrides is not None:
                if not same_job(done.overrides, c.overrides):
                    raise RuntimeError(f"resume replay diverged at job {c.job}: the ledger has {done.overrides}, "
                                       f"the replay asked {c.overrides}; the sweep cannot be resumed deterministically")
                c.overrides = list(done.overrides)  # what the job ran with, to the last bit
            c.outcome = run.cache[c.key] = Outcome.of_trial(done, c.job)
        for c in pending:
            job_records.write_start(run, c)
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
            rets = self.launcher.launch(launch_overrides(segment, self.settings.num_workers),
                                        initial_job_idx=segment[0].job)
            returns += rets
            trials = {t.job: t for t in load_trials(run.sweep_dir)}  # each job folded from its latest start
            for c, ret in zip(segment, rets):
                t = trials.get(c.job)
                # the trial's own end record, if it wrote one for these overrides (not another sweep's job)
                end = t if t is not None and t.ended and t.overrides in (None, c.overrides) else None
                c.outcome = run.cache[c.key] = job_records.outcome(run, self.rules, c, ret, end)
        return returns


def launch_overrides(segment: list[Candidate], num_workers: int) -> list[list[str]]:
    """The override lists handed to the launcher. A launch of another number of jobs than ``num_workers`` (a
    multi-fidelity sweep's first rung holds a whole bracket, its top rungs a few jobs; a last or partly replayed
    batch) says so to its jobs in ``hydra.sweeper.num_workers``, so that ``trainer.threads=auto`` splits the cores
    among the trials that really run at once (genarch.training.threads): neither idle cores under a lone trial
    nor a whole bracket started at once by submitit's local executor on ``num_workers`` trials' threads. A
    ``hydra.*`` override is not a task override: the ledger, the replay and the trial's own records never see
    it."""
    extra = [f"hydra.sweeper.num_workers={len(segment)}"] if len(segment) != num_workers else []
    return [list(c.overrides) + extra for c in segment]


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
