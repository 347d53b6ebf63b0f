"""Comparing two sweeps' task configs (a resumed sweep with its earlier self, a warm start with its source)."""

from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf


def override_key(text: str) -> str:
    return text.split("=", 1)[0].lstrip("+~")


def override_values(overrides: Sequence[str]) -> dict[str, str]:
    """``key=value`` overrides as {key: value text} (a deletion, with no ``=``, left out)."""
    return {override_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}


def without_stage(overrides: Sequence[str]) -> set[str]:
    """A trial's overrides as a set, the stage's own (``+stage=...``: its name differs per stage) left out."""
    return {o for o in overrides if override_key(o) != "stage"}


def task_differences(earlier: DictConfig, now: DictConfig, run_only: Sequence[str] = ()) -> list[str]:
    """Keys where two sweeps' task configs differ. Left out: ``hydra``, the stage's name, the task's
    ``run_only`` keys (how a trial runs, not what it computes: TaskRules.run_only_keys), and every key a
    command-line override or a ``hydra.sweeper.params`` entry of either sweep sets: those reach every
    trial as overrides, and a trial's overrides are compared one by one instead (the composed config
    still holds the base value, which no trial of that sweep ran with). A key one config lacks and the other
    holds as null or false is not a difference: a setting added since, off, as the sweep without it ran."""
    skip: set[tuple[str, ...]] = {("stage",)} | {tuple(key.split(".")) for key in run_only}
    for cfg in (earlier, now):
        keys = [override_key(str(text)) for text in OmegaConf.select(cfg, "hydra.overrides.task", default=None) or []]
        keys += [str(k).lstrip("+") for k in (OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {})]
        for key in keys:
            skip.add(tuple(key.split("@", 1)[0].replace("/", ".").split(".")))

    def plain(cfg: DictConfig) -> dict[str, Any]:
        data = OmegaConf.to_container(cfg, resolve=False)
        data.pop("hydra", None)
        return data

    out: list[str] = []

    def walk(a: Any, b: Any, path: tuple[str, ...]) -> None:
        if path in skip:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key, "<absent>"), b.get(key, "<absent>"), path + (str(key),))
        elif a != b and not _added_switch_off(a, b):
            out.append(f"{'.'.join(path)}: was {a!r}, now {b!r}")

    walk(plain(earlier), plain(now), ())
    return out


def _added_switch_off(a: Any, b: Any) -> bool:
    """One side lacks the key, the other holds null or false (a switch added to the config since, left off)."""
    return (a == "<absent>" and (b is None or b is False)) or (b == "<absent>" and (a is None or a is False))
