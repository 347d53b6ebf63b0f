"""genarch's Hydra sweeper: nevergrad ask/tell over the parameters of a stage file and the command line.

    python -m genarch +stage=3 -m

Hydra instantiates a sweeper only from the ``hydra_plugins`` namespace, so the public class is
``hydra_plugins.genarch_sweeper.genarch_sweeper.NevergradSweeper`` (re-exported here); the parts:

    params.py       override / YAML entry -> spec -> nevergrad parameter
    _impl.py        the ask / launch / tell loop, cache, failures, results files
    resume.py       sweep_state.json: the stored space + seed, and the diff refused on resume
    ledger_hook.py  the trial's own ``end`` record in <sweep_dir>/ledger.jsonl (called by genarch.app.run)
"""


def __getattr__(name: str):
    if name == "NevergradSweeper":
        from hydra_plugins.genarch_sweeper.genarch_sweeper import NevergradSweeper

        return NevergradSweeper
    raise AttributeError(name)
