"""The trial's own ``end`` record in the sweep ledger, written by the trial process itself.

:func:`genarch.app.run` calls :func:`record_trial_end` after writing ``result.json`` (ok or failed),
so a trial that finished is in the ledger even if the sweeper process is killed a moment later
(joblib / submitit workers outlive a killed parent). Outside a genarch sweep it does nothing, and it
never raises: the ledger must not turn a finished run into a failed one. The record carries the trial's
own overrides and the swept params read from them."""

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from genarch.ledger import EndRecord, n_train_of, write_record

log = logging.getLogger(__name__)
SWEEPER_TARGET_PREFIX = "hydra_plugins.genarch_sweeper."


def sweep_context() -> Optional[tuple[Path, int, Path]]:
    """``(sweep_dir, job number, output_dir)`` when this process runs a trial of a genarch sweep."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN or not str(hc.sweeper.get("_target_", "")).startswith(SWEEPER_TARGET_PREFIX):
        return None
    output_dir = Path(hc.runtime.output_dir).resolve()
    # The sweep dir is output_dir less its subdir: correct whatever the worker's cwd (submitit, Ray).
    subdir = Path(str(hc.sweep.subdir))
    depth = len(subdir.parts)
    if subdir.is_absolute() or ".." in subdir.parts or depth > len(output_dir.parents):
        log.warning("hydra.sweep.subdir=%s does not lie inside the sweep dir: the sweeper records this trial", subdir)
        return None
    sweep_dir = output_dir.parents[depth - 1] if depth else output_dir
    if Path(os.path.normpath(sweep_dir / subdir)) != output_dir:  # never write to a guessed folder
        log.warning("cannot tell the sweep dir of %s from hydra.sweep.subdir=%s: the sweeper records this trial",
                    output_dir, subdir)
        return None
    return sweep_dir, int(hc.job.num), output_dir


def trial_overrides() -> Optional[list[str]]:
    """The overrides this trial was launched with (Hydra's ``overrides.task``), or None outside a Hydra run."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return [str(o) for o in HydraConfig.get().overrides.task]


def own_params(sweep_dir: Path, overrides: Sequence[str]) -> dict[str, Any]:
    """The swept parameters of this trial, read from its own overrides (never looked up by job number: a
    record of another sweep under the same number would lend it the wrong ones). Which keys are swept is
    stored in the sweep's ``sweep_state.json``; without it, every override but the stage's."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from genarch.space import domain_from_override
    from genarch.sweeper.resume import load_state

    try:
        swept: Optional[set[str]] = set((load_state(sweep_dir) or {}).get("param_order") or []) or None
    except (OSError, ValueError, RuntimeError):
        swept = None
    parser = OverridesParser.create()
    params: dict[str, Any] = {}
    for text in overrides:
        override = parser.parse_override(text)
        if override.is_delete():
            continue
        name, _, domain = domain_from_override(override)
        if (name in swept) if swept is not None else name != "stage":
            params[name] = domain.values[0]
    return params


def record_trial_end(result: Mapping[str, Any], out_dir: "str | os.PathLike[str]") -> None:
    """Write the ``end`` record of this trial from its result dict (the content of result.json)."""
    try:
        context = sweep_context()
        if context is None:
            return
        sweep_dir, job, output_dir = context
        overrides = trial_overrides()
        objective = dict(result.get("objective") or {})
        write_record(sweep_dir, EndRecord(
            job=job, status="ok" if result.get("status") == "ok" else "failed",
            params=own_params(sweep_dir, overrides or []),
            objective_name=objective.get("name"), direction=objective.get("direction"),
            value=objective.get("value") if result.get("status") == "ok" else None,
            metrics=result.get("metrics") or {}, n_params=result.get("n_params"), epochs=result.get("epochs"),
            wall_time_s=result.get("wall_time_s"), error=result.get("error"),
            dir=os.path.relpath(Path(out_dir).resolve(), sweep_dir), writer="trial", overrides=overrides,
            interrupted=bool((result.get("extra") or {}).get("interrupted")),
            n_train=n_train_of(result)))
    except Exception as exc:  # noqa: BLE001 - the sweeper writes the record from the job's return instead
        log.warning("could not append this trial to the sweep ledger: %s", exc)
