"""Warm start: tell the optimizer the finished trials of earlier sweeps (``hydra.sweeper.warm_start``) that
are points of this sweep's space, before its first ask (a key whose block was off in that trial, per
:mod:`genarch.analysis.conditions`, does not keep it out). They enter the cache, so an ask that repeats one is
not trained again, and they count neither towards the budget nor in this sweep's ledger."""

import logging
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from genarch.analysis.conditions import is_active
from genarch.ledger import LEDGER_FILE, Trial, finished_trials
from genarch.space import format_value
from genarch.sweeper.params import any_point, spec_contains, spec_from_override
from genarch.sweeper.run import Candidate, Outcome, SweepRun
from genarch.sweeper.rung_trials import last_rungs
from genarch.sweeper.task_config import override_key, override_values, task_differences, without_stage

log = logging.getLogger(__name__)
_ABSENT = object()


def warm_start_dirs(entries: Sequence[str], sweep_dir: Path, config: Any, run_only: Sequence[str] = ()) -> list[Path]:
    """``hydra.sweeper.warm_start`` checked before anything is written: each entry a genarch sweep
    directory other than this one, of the same task config (else its results describe another task)."""
    dirs = []
    for i, entry in enumerate(entries):
        where = f"hydra.sweeper.warm_start[{i}]={entry}"
        earlier = Path(entry).resolve()
        if earlier == sweep_dir.resolve():
            raise ValueError(f"{where}: that is this sweep's own directory; give earlier sweeps")
        if not (earlier / LEDGER_FILE).exists() or not (earlier / "multirun.yaml").exists():
            raise ValueError(f"{where}: no ledger.jsonl and multirun.yaml there (is it a genarch sweep directory?)")
        differs = task_differences(OmegaConf.load(earlier / "multirun.yaml"), config, run_only)
        if differs:
            raise ValueError(f"{where}: that sweep ran another task config, so its results do not describe this "
                             "one:\n  - " + "\n  - ".join(differs[:8]) + ("\n  - ..." if len(differs) > 8 else ""))
        dirs.append(earlier)
    return dirs


def warm_start(run: SweepRun, optimizer: Any, parametrization: Any, dirs: list[Path],
               absent: Mapping[str, Any] = MappingProxyType({})) -> dict[str, dict[str, int]]:
    """Tell ``optimizer`` the earlier trials inside this space (same overrides otherwise, the stage's name
    aside); return per directory how many finished and how many lay inside. ``absent``: keys an earlier
    config may lack, with the value their absence means (the task's ``TaskRules.absent_values``)."""
    notes: dict[str, dict[str, int]] = {}
    told: list[tuple[Candidate, Outcome]] = []
    parser = OverridesParser.create()
    for sweep_dir in dirs:
        earlier_config = OmegaConf.load(sweep_dir / "multirun.yaml")
        finished = {t.job: t for t in finished_trials(sweep_dir)}
        finished = last_rungs(sweep_dir, finished)  # a multi-fidelity sweep: each candidate at its last rung
        inside = 0
        for _, trial in sorted(finished.items()):
            if trial.rejected:
                continue
            c = _warm_candidate(run, parametrization, trial, parser, earlier_config, absent)
            if c is None:
                continue
            outcome = Outcome.of_trial(trial, None)
            if c.key not in run.cache:
                run.cache[c.key] = outcome
                told.append((c, outcome))
            inside += 1
        notes[str(sweep_dir)] = {"finished": len(finished), "inside": inside}
        log.info("warm start: %d of the %d finished trials of %s lie in this sweep's space", inside, len(finished),
                 sweep_dir)
    # successes first: a failure's penalty is set from the worst loss told so far
    for c, outcome in sorted(told, key=lambda pair: pair[1].status != "ok"):
        if not run.losses.hold_back(outcome):  # earlier failures with no success at all say nothing of the scale
            optimizer.tell(c.cand, run.losses.loss(outcome))
    return notes


def _warm_candidate(run: SweepRun, parametrization: Any, trial: Trial, parser: Any, earlier_config: Any = None,
                    absent: Mapping[str, Any] = MappingProxyType({})) -> Optional[Candidate]:
    """An earlier trial as a candidate of this sweep, or None if it is not a point of this space."""
    recorded = trial.overrides or []
    known = {**_fixed_values(recorded, parser), **trial.params}  # a key may have been fixed there, swept here
    # a key that sweep did not set ran with its config's value (a key swept or fixed here since)
    fixed_here = override_values(run.fixed)
    set_there = {override_key(o) for o in recorded} | set(known)  # every key its overrides name, read or not
    unset_keys = [k for k in (*run.specs, *fixed_here) if k not in set_there]
    unset = _config_values(earlier_config, known, unset_keys)
    unset.update({k: absent[k] for k in unset_keys if k in absent and k not in unset})  # a key that config lacked
    if any(format_value(unset[key]) != text for key, text in fixed_here.items() if key in unset):
        return None  # fixed here to another value than that sweep's config ran with
    known = {**unset, **known}
    params: dict[str, Any] = {}
    dead: set[str] = set(unset)  # not in the trial's overrides: compared by value, not as override text below
    for name, spec in run.specs.items():
        if name not in known and is_active(name, known):
            return None
        if name in known and spec_contains(spec.spec, known[name]):
            params[name] = known[name]
        elif not is_active(name, known):
            # its block was off there (the stride of model/reduction=none): the value changed nothing, so the
            # trial is the same network as this space's point with any value of the key
            params[name] = any_point(spec.spec)
            dead.add(name)
        else:
            return None
    c = run.candidate(None, source="warm-start", params=params)
    if _without(c.overrides, dead) != _without(recorded, dead):
        return None  # another fixed value, or a key this sweep does not set
    try:
        c.cand = parametrization.spawn_child(new_value=params)
    except (ValueError, TypeError, KeyError):
        return None
    return c


def _config_values(config: Any, known: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The values an earlier sweep's config (its multirun.yaml) gave the ``keys``, which its trial did not set: a
    config group's choice, or a value inside a group the trial (``known``: its values) kept at the config's
    choice (another choice composes other defaults, which the config does not hold)."""
    if config is None:
        return {}
    choices = OmegaConf.select(config, "hydra.runtime.choices", default=None) or {}
    out: dict[str, Any] = {}
    for key in keys:
        if key == "stage":
            continue
        if key in choices:
            out[key] = choices[key]
            continue
        parts = key.split(".")
        groups = ["/".join(parts[:i]) for i in range(1, len(parts))]  # model, model/pooling, ...
        if any(g in choices and known.get(g, choices[g]) != choices[g] for g in groups):
            continue
        value = OmegaConf.select(config, key, default=_ABSENT, throw_on_missing=False)
        if value is not _ABSENT and not isinstance(value, (DictConfig, ListConfig)):
            out[key] = value
    return out


def _without(overrides: Sequence[str], keys: set[str]) -> set[str]:
    """Overrides as a set, the stage's name and the given (dead) keys left out."""
    return {o for o in without_stage(overrides) if override_key(o) not in keys}


def _fixed_values(overrides: Sequence[str], parser: Any) -> dict[str, Any]:
    """The values of an earlier trial's plain (not swept) overrides, by parameter name."""
    out: dict[str, Any] = {}
    for text in overrides:
        try:
            spec = spec_from_override(parser.parse_override(text))
        except Exception:  # noqa: BLE001 - an override this sweep cannot read is simply not a known value
            continue
        if not spec.swept:
            out[spec.name] = spec.spec["value"]
    return out
