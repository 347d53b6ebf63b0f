"""Resuming a sweep: ``<sweep_dir>/sweep_state.json`` stores what determines the candidate sequence.

A sweep is resumed by running the same command with the same ``hydra.sweep.dir``. The sweeper then
replays the ask/tell sequence from the stored seed: every candidate whose job has an ``end`` record
in the ledger is told its recorded result instead of being launched (its directory is untouched),
and the first job without one (in flight when the sweep was killed) is launched again, as is a job
whose ``end`` record says it was interrupted (SIGTERM or Ctrl-C reached it in training). Replaying is
only sound with the same space, optimizer, seed, batch size, fixed overrides and the settings that
decide what is told (direction, failure_penalty, validate), so any difference is refused with a
message that names it. The budget may change (to extend a sweep); the optimizer is
still built with the budget it started with, so its internal choices replay identically."""

import json
import logging
import math
import random
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from genarch.io import atomic_write_json
from genarch.ledger import LEDGER_FILE, Trial, load_trials
from genarch.sweeper.params import INTEGER_CELL, render

log = logging.getLogger(__name__)
STATE_FILE = "sweep_state.json"
STATE_VERSION = 1
# keys whose change makes the stored trials meaningless for this sweep
_COMPARED = ("optimizer", "seed", "num_workers", "fixed", "warm_start", "points", "direction", "failure_penalty",
             "validate", "fidelity")
# compared only when the stored state has them (states written before they were stored)
_OPTIONAL = ("direction", "failure_penalty", "validate", "fidelity")


def make_state(settings: Any, specs: Mapping[str, Mapping[str, Any]], fixed: list[str], seed: int,
               stage: Optional[str], optimizer_budget: int) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "optimizer": settings.optimizer,
        "seed": int(seed),
        "num_workers": int(settings.num_workers),
        "optimizer_budget": int(optimizer_budget),
        "params": {name: dict(spec) for name, spec in specs.items()},
        "param_order": list(specs),  # the JSON file sorts keys; the parametrization's order matters
        "fixed": list(fixed),
        "stage": stage,
        "warm_start": [str(Path(p).resolve()) for p in getattr(settings, "warm_start", None) or []],
        "points": [dict(p) for p in getattr(settings, "points", None) or []],  # asked first: they decide the asks
        # what the optimizer is told: the sign of every loss, the loss of a failure, whether illegal models
        # are rejected without training
        "direction": str(getattr(settings, "direction", "auto")),
        "failure_penalty": None if getattr(settings, "failure_penalty", None) is None
        else float(settings.failure_penalty),
        "validate": bool(getattr(settings, "validate", True)),
        # the multi-fidelity schedule (hydra.sweeper.fidelity): the rungs decide the job numbers
        "fidelity": _fidelity(getattr(settings, "fidelity", None)),
    }


def _fidelity(value: Any) -> Optional[dict[str, Any]]:
    from genarch.sweeper.fidelity import parse

    fidelity = parse(value)
    return None if fidelity is None else fidelity.to_json()


def integer_cell(old: Optional[Mapping[str, Any]]) -> float:
    """How far the sweep's integer intervals reach past their end integers (its state's
    ``integer_cell``): :data:`~genarch.sweeper.params.INTEGER_CELL` for a new sweep; a resumed sweep
    keeps the one it started with (0 for a state written before integer intervals reached past their
    ends), so that its replay asks the same candidates."""
    if old is None:
        return INTEGER_CELL
    return float(old.get("integer_cell", 0.0))


def optimizer_workers(old: Optional[Mapping[str, Any]], settings: Any) -> int:
    """How many asked candidates the optimizer is built to have pending at once (its state's
    ``optimizer_workers``): ``num_workers``; with rungs, at least a bracket, which is asked whole before any
    of it is told (a sequential optimizer, NGOpt's choice for one worker, would wait forever on the second
    ask). A resumed sweep keeps the one it started with (``num_workers`` for a state written before)."""
    from genarch.sweeper.fidelity import brackets, parse

    if old is not None:
        return int(old.get("optimizer_workers", old["num_workers"]))
    workers, fidelity = int(settings.num_workers), parse(getattr(settings, "fidelity", None))
    if fidelity is None:
        return workers
    largest = max(n for _, n in brackets(len(fidelity.rungs()), fidelity.eta, fidelity.brackets))
    return max(workers, min(largest, int(settings.budget)))


def load_state(sweep_dir: Path) -> Optional[dict[str, Any]]:
    path = Path(sweep_dir) / STATE_FILE
    if not path.exists():
        if (Path(sweep_dir) / LEDGER_FILE).exists() and any(True for _ in load_trials(sweep_dir)):
            raise RuntimeError(f"{sweep_dir} has a sweep ledger but no {STATE_FILE}: it was not written by the genarch "
                               "sweeper (or predates it) and cannot be resumed; choose another hydra.sweep.dir")
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def save_state(sweep_dir: Path, state: Mapping[str, Any]) -> None:
    atomic_write_json(Path(sweep_dir) / STATE_FILE, dict(state))


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences that forbid resuming ``old`` with ``new`` (empty: compatible)."""
    diffs = []
    for key in _COMPARED:
        if key == "seed" and new.get("seed_given") is False:
            continue  # seed: null on both runs -> the stored seed is reused
        if key in ("warm_start", "points") and (old.get(key) or []) == (new.get(key) or []):
            continue  # a state written before the key existed has none: none were told, none were queued
        if key in _OPTIONAL and key not in old:
            continue
        if old.get(key) != new.get(key):
            diffs.append(f"{key}: was {old.get(key)!r}, now {new.get(key)!r}")
    old_params, new_params = old.get("params", {}), new.get("params", {})
    for name in old_params:
        if name not in new_params:
            diffs.append(f"parameter {name} removed (was {render(old_params[name])})")
        elif _norm(old_params[name]) != _norm(new_params[name]):
            diffs.append(f"parameter {name}: was {render(old_params[name])}, now {render(new_params[name])}")
    for name in new_params:
        if name not in old_params:
            diffs.append(f"parameter {name} added ({render(new_params[name])})")
    old_order, new_order = old.get("param_order", list(old_params)), new.get("param_order", list(new_params))
    if old_order == new_order or set(old_order) != set(new_order):
        return diffs
    return diffs + [f"parameter order changed: was {old_order}, now {new_order} (give the command-line sweeps in "
                    "the original order)"]


def _norm(spec: Mapping[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def same_job(recorded: list[str], asked: list[str]) -> bool:
    """Whether a replayed job asked what the ledger recorded: the same overrides, a number equal to 1e-9 relative.
    Nevergrad's transforms (log scales) may differ in the last bit between machines and numpy builds, so a
    sweep resumed elsewhere asks 0.6731363659518962 where it recorded ...63; anything else is a divergence."""
    if len(recorded) != len(asked):
        return False
    for old, new in zip(recorded, asked):
        if old == new:
            continue
        (old_key, _, old_value), (new_key, _, new_value) = old.partition("="), new.partition("=")
        if not any(c in old_value + new_value for c in ".eE"):
            return False  # two different integers are two points, however large
        try:
            a, b = float(old_value), float(new_value)
        except ValueError:
            return False
        if old_key != new_key or not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return False
    return True


def ended_trials(sweep_dir: Path) -> tuple[dict[int, Trial], list[int]]:
    """One read of the ledger: the finished jobs (an ``end`` record, ok or failed) by job number, and the
    jobs that SIGTERM or Ctrl-C cut off. Those recorded an ``end`` too but did not finish: they run again."""
    finished: dict[int, Trial] = {}
    cut_off: list[int] = []
    for t in load_trials(sweep_dir):
        if t.interrupted:
            cut_off.append(t.job)
        elif t.finished:
            finished[t.job] = t
    return finished, cut_off


def open_sweep(sweep_dir: Path, settings: Any, specs: Mapping[str, Any], fixed: list[str], stage: Optional[str],
               config: Any, run_only: Sequence[str] = ()
               ) -> tuple[dict[str, Any], dict[int, Trial], list[int], bool]:
    """The state this sweep runs with, the finished trials to replay, the cut-off jobs to run again, and
    whether it resumes an earlier sweep in ``sweep_dir``. A resume of a different search is refused with
    the differences (the task's ``run_only`` config keys aside); a directory whose sweep ended no trial is
    started afresh."""
    from omegaconf import OmegaConf

    from genarch.sweeper.task_config import task_differences

    old = load_state(sweep_dir)
    space = {n: s.spec for n, s in specs.items()}

    def new_state(old: Optional[dict[str, Any]]) -> dict[str, Any]:
        seed = settings.seed if settings.seed is not None else (
            old["seed"] if old else random.SystemRandom().randrange(2**31))
        state = make_state(settings, space, fixed, seed, stage, old["optimizer_budget"] if old else settings.budget)
        state["integer_cell"] = integer_cell(old)
        state["optimizer_workers"] = optimizer_workers(old, settings)
        return state

    state = new_state(old)
    finished: dict[int, Trial] = {}
    cut_off: list[int] = []
    if old is not None:
        diffs = differences(old, state)
        ran = Path(sweep_dir) / "multirun.yaml"  # the task config the sweep's trials ran with
        if ran.exists():  # an edit of the stage file's body (trainer, dataset...) would mix two tasks
            diffs += [f"task config {d}" for d in task_differences(OmegaConf.load(ran), config, run_only)]
        finished, cut_off = ended_trials(sweep_dir)
        if diffs and not finished:
            # the sweep here ended no trial (it stopped at its first launch: a misspelled key): nothing to
            # keep, so the corrected command starts afresh instead of being refused
            log.warning("%s: the sweep started here ended no trial; its search differs from this command's "
                        "(%s); starting afresh", sweep_dir, "; ".join(diffs))
            old = None
            state = new_state(None)
        elif diffs:
            raise ValueError(f"cannot resume the sweep in {sweep_dir}: its search differs from this command's:\n  - "
                             + "\n  - ".join(diffs)
                             + "\nrun the original command again, or choose a new hydra.sweep.dir")
    if old is not None:
        log.info("resuming %s: %d finished jobs are replayed, not re-run%s", sweep_dir, len(finished),
                 f"; interrupted jobs {cut_off} run again" if cut_off else "")
    return state, finished, cut_off, old is not None
