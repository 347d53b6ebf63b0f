"""``python -m genarch [overrides] [-m]``: one run, or a search stage with ``+stage=N -m``."""

import os
import re
import sys
from pathlib import Path

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

        function = {"genarch_parallel_jobs": "parallel_jobs", "genarch_ray_gpus": "ray_gpus_per_trial"}[name]
        return getattr(devices, function)(*args)
    return resolve


for _name in ("genarch_parallel_jobs", "genarch_ray_gpus"):
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _lazy_device_resolver(_name))


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from genarch.app import run
    from genarch.training.subnormals import flush_subnormals

    flush_subnormals()  # before torch starts its worker threads: they take the mode of the thread that starts them
    try:
        return run(cfg)
    except Exception as exc:  # noqa: BLE001 - a single run ends with a message; the traceback is in its log
        # In a sweep the error propagates so the trial is recorded as failed.
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        print(f"genarch: {run_failure_message(exc)}", file=sys.stderr)
        sys.exit(2)


def bad_input(exc: BaseException) -> "BaseException | None":
    """The DataError or ConfigError behind ``exc`` (Hydra wraps one raised while it instantiates the dataset in
    an InstantiationException whose text repeats it with its own frame), or None."""
    from genarch.data.errors import DataError
    from genarch.model import ConfigError

    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (DataError, ConfigError)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def run_failure_message(exc: BaseException) -> str:
    """What happened, what was kept and what to do, for a single run that failed."""

    from genarch.task import log_file

    recorded = getattr(exc, "genarch_result", None)
    logged = log_file()
    cause = bad_input(exc)
    if cause is not None:  # bad input: its message names the file, line or key
        text = str(cause)
    else:
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        text = f"the run failed: {type(exc).__name__}{': ' + first if first else ''}"
    kept = []
    if recorded is not None:
        recorded = Path(recorded)
        kept.append(f"recorded in {recorded}" + (" (the successful result.json beside it is kept)"
                                                 if recorded.name == "result.failed.json" else ""))
    if logged is not None and cause is None:
        kept.append(f"the traceback is in {logged}")
    if cause is not None:
        todo = ""
    elif isinstance(exc, FloatingPointError):  # genarch's NonFiniteLoss: training diverged
        todo = "; the training diverged: lower optimizer.lr_scale (or trainer.batch_size up) and run again"
    else:
        todo = "; fix the cause and run again (HYDRA_FULL_ERROR=1 prints the traceback here)"
    first, _, rest = text.partition("\n")  # a list below the message (the available experiments) stays below
    return first + (f" ({'; '.join(kept)})" if kept else "") + todo + (f"\n{rest}" if rest else "")


_SEARCHPATH_ARG = re.compile(r"^\+{0,2}hydra\.searchpath=\[?(?P<paths>[^\]]*)\]?$")


def stage_yaml_error(argv: list[str]) -> "str | None":
    """A stage file named on the command line that is not valid YAML, as ``file:line:column: problem``.
    Hydra reports it only below a traceback of its own frames; this finds the same file (genarch's
    configs first, then ``hydra.searchpath`` folders, Hydra's order) and names it alone."""
    import yaml

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
    if os.environ.get("HYDRA_FULL_ERROR") == "1":  # the user asked for Hydra's own full tracebacks
        main()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing; genarch reports below
    try:
        main()
    except Exception as exc:  # noqa: BLE001 - every stop is a message
        sys.exit(report_stop(exc))
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)


def report_stop(exc: BaseException) -> int:
    """Print why the command stopped; return the exit status. An input error Hydra reports compactly (an
    unknown key, a bad override, a sweep refused before its first trial) is printed as Hydra prints it
    (status 1); anything else as ``genarch: ...`` (status 2), its traceback written to the sweep's or the
    run's folder (``error.log``)."""
    from hydra.errors import CompactHydraException
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(exc, CompactHydraException):
        print(str(exc), file=sys.stderr)
        if isinstance(exc.__cause__, OmegaConfBaseException):
            print(str(exc.__cause__), file=sys.stderr)
        return 1
    where = _folder_of(exc)
    logged = None
    if where is not None:
        import traceback

        try:
            logged = where / "error.log"
            with open(logged, "a", encoding="utf-8") as handle:
                handle.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + "\n")
        except OSError:
            logged = None
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if type(exc).__name__ == "SweepStopped":  # its message says what is kept and what to do
        text = " ".join(lines)
    else:
        text = (f"stopped by an error: {type(exc).__name__}{': ' + lines[0] if lines else ''}"
                + (f"; what finished is kept in {where}" if where is not None else "")
                + "; HYDRA_FULL_ERROR=1 prints the traceback here")
    print(f"genarch: {text}" + (f" (traceback in {logged})" if logged else ""), file=sys.stderr)
    return 2


def _folder_of(exc: BaseException) -> "Path | None":
    """The sweep directory (or run directory) the failing code worked in, from its frames."""

    tb, found = exc.__traceback__, None
    while tb is not None:
        local = tb.tb_frame.f_locals
        for sweep_dir in (local.get("sweep_dir"), getattr(local.get("self"), "sweep_dir", None)):
            if isinstance(sweep_dir, Path) and sweep_dir.is_dir():
                found = sweep_dir
        tb = tb.tb_next
    return found


if __name__ == "__main__":
    cli()
