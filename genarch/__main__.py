"""``python -m genarch [overrides] [-m]``: one run, or a search stage with ``+stage=N -m``."""

import re
import sys

import hydra
from omegaconf import DictConfig

# Plain Hydra parses `+stage=3` as the integer 3 and refuses it as a config group option
# ("Config group override must be a string"). Stage names are file names, so genarch quotes a
# stage value before Hydra parses it: `+stage=3` -> `+stage='3'`, also `stage=4a`, `++stage=...`.
_STAGE_ARG = re.compile(r"^(?P<prefix>\+{0,2}|~)(?P<key>stage)=(?P<value>[^'\"\s,()\[\]{}]+)$")


def quote_stage_args(argv: list[str]) -> list[str]:
    quoted = []
    for arg in argv:
        match = _STAGE_ARG.match(arg)
        quoted.append(f"{match['prefix']}{match['key']}='{match['value']}'" if match else arg)
    return quoted


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from genarch.app import run
    from genarch.data.errors import DataError
    from genarch.model import ConfigError

    try:
        return run(cfg)
    except (DataError, ConfigError) as exc:
        # bad input in a single run: the message names the file/line or the keys; no traceback.
        # In a sweep the error propagates so the trial is recorded as failed.
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        print(f"genarch: {exc}", file=sys.stderr)
        sys.exit(2)


def cli() -> None:
    sys.argv = [sys.argv[0], *quote_stage_args(sys.argv[1:])]
    main()


if __name__ == "__main__":
    cli()
