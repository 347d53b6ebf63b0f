"""The stage file a sweep runs: its name, where Hydra read it from, and the copy kept in the sweep dir."""

from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

from genarch.io import atomic_write_text

STAGE_FILE = "stage.yaml"


def stage_name(config: Any) -> Optional[str]:
    """The stage chosen for this sweep (``+stage=3``), or None."""
    choices = config.hydra.runtime.get("choices") or {}
    stage = choices.get("stage") if "stage" in choices else None
    return None if stage is None else str(stage)


def source_text(scheme: str, path: str, relative: str) -> Optional[str]:
    try:
        if scheme == "file":
            return (Path(path) / relative).read_text(encoding="utf-8")
        if scheme == "pkg":
            from importlib import resources

            return resources.files(path.replace("/", ".")).joinpath(relative).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError, TypeError):
        return None
    return None


def stage_source(config: Any, stage: str) -> tuple[str, Optional[str]]:
    """Where the stage file was read from (the first of Hydra's search path that has it) and its text
    (None when no source can be read here)."""
    for source in config.hydra.runtime.get("config_sources") or []:  # the search path, in order
        scheme, root = str(source.schema), str(source.path)
        text = source_text(scheme, root, f"stage/{stage}.yaml")
        if text is not None:
            where = str(Path(root) / "stage" / f"{stage}.yaml") if scheme == "file" \
                else f"{scheme}://{root}/stage/{stage}.yaml"
            return where, text
    return f"stage/{stage}.yaml", None


def save_stage_file(config: Any, sweep_dir: Path, stage: Optional[str]) -> None:
    """A copy of the stage file that was run (with its comments), for the analysis to diff against."""
    if stage is None:
        return
    text = stage_source(config, stage)[1]
    if text is None:
        text = f"# stage {stage} (source file not readable; composed hydra.sweeper shown)\n" + OmegaConf.to_yaml(
            OmegaConf.create({"hydra": {"sweeper": OmegaConf.to_container(config.hydra.sweeper)}}))
    atomic_write_text(Path(sweep_dir) / STAGE_FILE, text)
