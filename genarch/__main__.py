"""``python -m genarch [overrides] [-m]``: one run, or a search stage with ``+stage=N -m``."""

import re
import sys

import hydra
from omegaconf import DictConfig, OmegaConf

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


def _lazy_device_resolver(name: str):
    """``${genarch_parallel_jobs:...}`` / ``${genarch_ray_gpus:...}`` of the launcher presets, resolved by
    genarch.training.devices, which is imported (with torch) only when a preset asks."""
    def resolve(*args):
        from genarch.training import devices

        return getattr(devices, {"genarch_parallel_jobs": "parallel_jobs", "genarch_ray_gpus": "ray_gpus_per_trial"}[name])(*args)
    return resolve


for _name in ("genarch_parallel_jobs", "genarch_ray_gpus"):
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _lazy_device_resolver(_name))


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


_SEARCHPATH_ARG = re.compile(r"^\+{0,2}hydra\.searchpath=\[?(?P<paths>[^\]]*)\]?$")


def stage_yaml_error(argv: list[str]) -> "str | None":
    """A stage file named on the command line that is not valid YAML, as ``file:line:column: problem``.
    Hydra reports it only below a traceback of its own frames; this finds the same file (genarch's
    configs first, then ``hydra.searchpath`` folders, Hydra's order) and names it alone."""
    import yaml
    from pathlib import Path

    names = [m["value"] for m in map(_STAGE_ARG.match, argv) if m and m["prefix"] != "~"]
    if not names:
        return None
    roots = [Path(__file__).resolve().parent / "conf"]
    for m in filter(None, map(_SEARCHPATH_ARG.match, argv)):
        roots += [Path(p.strip().strip("'\"")[len("file://"):]) for p in m["paths"].split(",")
                  if p.strip().strip("'\"").startswith("file://")]
    path = next((c for c in (r / "stage" / f"{names[-1]}.yaml" for r in roots) if c.is_file()), None)
    if path is None:
        return None  # Hydra lists the stages it can find
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        # where the construct that broke began (an unclosed bracket), else where parsing stopped
        start, stop = getattr(exc, "context_mark", None), getattr(exc, "problem_mark", None)
        mark = start or stop
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        found = f" at line {stop.line + 1}, column {stop.column + 1}" if start is not None and stop is not None else ""
        return f"{path}{at}: not valid YAML ({context + ': ' if context else ''}{problem}{found})"
    return None


def cli() -> None:
    argv = quote_stage_args(sys.argv[1:])
    error = stage_yaml_error(sys.argv[1:])
    if error:
        print(f"genarch: {error}", file=sys.stderr)
        sys.exit(2)
    sys.argv = [sys.argv[0], *argv]
    main()


if __name__ == "__main__":
    cli()
