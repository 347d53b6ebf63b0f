"""genarch's Hydra sweeper: nevergrad ask/tell over the parameters of a stage file and the command line.

    python -m genarch +stage=3 -m

Hydra instantiates a sweeper only from the ``hydra_plugins`` namespace, so the public class is
``hydra_plugins.genarch_sweeper.genarch_sweeper.NevergradSweeper`` (re-exported here); the parts:

    config.py       the settings: one dataclass, stored in Hydra's ConfigStore (the only place defaults live)
    _impl.py        the ask / launch / tell loop
    run.py          the state of one sweep (candidates, outcomes, the cache of evaluated points)
    search_space.py stage params + command line -> swept params and fixed overrides
    params.py       a genarch.space domain -> JSON spec -> nevergrad parameter
    resume.py       sweep_state.json: the stored space + seed, the diff refused on resume, replay
    warm_start.py   earlier sweeps' finished trials told to the optimizer first
    fidelity.py     hydra.sweeper.fidelity: rungs, Hyperband brackets, promotions (successive halving)
    rung_loop.py    the multi-fidelity loop: brackets of rungs, each rung one batch of jobs
    rung_trials.py  a multi-fidelity sweep's candidates once, at their last rung (warm start, carry-over)
    losses.py       the objective's direction, a success's loss, a failure's penalty
    job_records.py  a launched job's outcome; the ledger records the sweeper writes itself
    stage_file.py   the stage file's name, source and the copy kept in the sweep dir
    task_config.py  comparing two sweeps' task configs
    results.py      the per-job log line and optimization_results.yaml
    task.py         TaskRules: the task's side (model check, auto direction, result file), passed in by
                    hydra.sweeper.task_rules (genarch's: genarch.task_rules.GenarchTaskRules)
    ledger_hook.py  the trial's own ``end`` record in <sweep_dir>/ledger.jsonl (called by genarch.app.run)
"""


def __getattr__(name: str):
    if name == "NevergradSweeper":
        from hydra_plugins.genarch_sweeper.genarch_sweeper import NevergradSweeper

        return NevergradSweeper
    raise AttributeError(name)
