"""Carry-over between stages: a suggested next stage names the sweep it came from in
``hydra.sweeper.warm_start`` (with that sweep's own warm-start sweeps), so the trials already measured
inside the new space are told to the optimizer instead of trained again; its header says how many, per
sweep (a trial that differs only in a key whose block it had off, such as the stride of
``model/reduction=none``, counts as inside, as the sweeper's warm start takes it).

The sweep is written relative to the current directory when it lies under it (``multirun/stage1``, as a
researcher types it), else as an absolute path; the sweep's own warm starts come from its
``sweep_state.json`` (absolute, as the sweeper stored them) and are written the same way."""

import json
import re
from pathlib import Path
from typing import Mapping, Optional

from genarch.analysis.conditions import is_active
from genarch.ledger import LEDGER_FILE

_KEY_LINE = re.compile(r"^(\s*)([^\s#:-][^:#]*?)\s*:\s*(.*?)\s*$")



def carry_from(source: str) -> Optional[Path]:
    """The sweep dir the analysis read (None for a CSV export or any source that is not a genarch sweep)."""
    path = Path(source)
    return path if (path / LEDGER_FILE).exists() else None


def warm_start_entries(sweep_dir: Path, cwd: Optional[Path] = None) -> list[str]:
    """The sweep, then the sweeps it was warm-started from, as ``warm_start`` entries (no repeats)."""
    earlier: list[str] = []
    try:
        state = json.loads((sweep_dir / "sweep_state.json").read_text(encoding="utf-8"))
        earlier = [str(p) for p in state.get("warm_start") or []]
    except (OSError, ValueError):
        pass
    out: list[str] = []
    for path in [sweep_dir, *(_beside(Path(p), sweep_dir) for p in earlier)]:
        entry = display_path(path, cwd)
        if entry not in out:
            out.append(entry)
    return out


def _beside(stored: Path, sweep_dir: Path) -> Path:
    """A stored (resolved) warm-start path written through the folders the sweep dir was given by, where it
    lies under one of them: ``runs/s1`` next to ``runs/s2``, also when ``runs`` is a link to elsewhere. A
    stored path that is gone (the project was moved or cloned elsewhere since) is looked for under the sweep
    dir's folders by its longest tail (two parts at least) that names a sweep there (``runs/s1`` of
    ``/old/project/runs/s1``)."""
    beside = None
    for folder in Path(sweep_dir).parents:
        try:
            beside = folder / stored.resolve().relative_to(folder.resolve())
            break
        except ValueError:
            continue
    if beside is not None and beside.exists():
        return beside
    if not stored.exists():  # gone from where it was stored: look for it by its tail
        for k in range(len(stored.parts) - 1, 1, -1):  # two parts at least: a name alone may be another sweep
            tail = Path(*stored.parts[-k:])
            for folder in Path(sweep_dir).absolute().parents:
                if (folder / tail / LEDGER_FILE).exists():
                    return folder / tail
    return stored if beside is None else beside


def display_path(path: Path, cwd: Optional[Path] = None) -> str:
    """``path`` relative to the current directory when it lies under it (as written, or with symlinks
    resolved: a ``runs`` folder linked elsewhere stays relative), else absolute."""
    here, there = cwd or Path.cwd(), Path(path)
    for base, target in ((here.absolute(), there.absolute()), (here.resolve(), there.resolve())):
        try:
            return target.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(there.resolve())


def carried_count(sweep_dir: Path, params: Mapping[str, str]) -> tuple[int, int]:
    """(inside, finished): how many of the sweep's finished trials (a multi-fidelity sweep's candidates once,
    at their last rung) are points of the space ``params`` describes."""
    from genarch.space import parse_params
    from genarch.ledger import finished_trials
    from genarch.sweeper.rung_trials import last_rungs

    domains = parse_params(dict(params))
    finished = {t.job: t for t in finished_trials(sweep_dir)}
    trials = [t for t in last_rungs(sweep_dir, finished).values() if not t.rejected]
    absent = {k: v for k, v in absent_values(sweep_dir).items() if k in domains}  # keys that sweep's config lacked

    def is_inside(params: Mapping[str, object]) -> bool:
        known = {**absent, **params}
        return all(domains[k].contains(v) or not is_active(k, known) for k, v in known.items())

    inside = [t for t in trials if set(t.params) <= set(domains) and is_inside(t.params)]
    return len(inside), len(trials)


def absent_values(sweep_dir: Path) -> Mapping[str, object]:
    """The values keys its config lacked mean for the sweep's trials: its task's ``TaskRules.absent_values``
    (``hydra.sweeper.task_rules`` of its multirun.yaml), as the sweeper's warm start reads them."""
    from omegaconf import OmegaConf

    from genarch.sweeper.task import load_task_rules

    try:
        rules = OmegaConf.select(OmegaConf.load(sweep_dir / "multirun.yaml"), "hydra.sweeper.task_rules", default=None)
        return load_task_rules(rules).absent_values()
    except (OSError, ValueError):
        return {}


def header_line(counts: list[tuple[str, int, int]]) -> str:
    """``counts``: (warm-start entry, inside, finished) per sweep, the analysed one first."""
    parts = [f"{inside} of the {finished} finished trials of {entry}" for entry, inside, finished in counts]
    total = sum(inside for _, inside, _ in counts)
    text = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + " and " + parts[-1] + f" ({total} in all)"
    return (f"Carried over: {text} lie in this space (a key whose block a trial had off is not compared); "
            "hydra.sweeper.warm_start tells them to the optimizer instead of training them again.")


def _sweeper_entry(lines: list[str], name: str) -> tuple[int, int, Optional[str], Optional[int], Optional[int]]:
    """Where ``hydra.sweeper`` and its entry ``name`` lie in a stage file's lines: the sweeper line and indent, the
    indent of its entries, and the entry's first and past-last lines (None, None where it has none)."""
    stack: list[tuple[int, str]] = []
    sweeper_line = sweeper_indent = child = None
    start = end = None
    for i, line in enumerate(lines):
        m = _KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent, key = len(m.group(1)), m.group(2).strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if sweeper_line is not None and indent <= sweeper_indent:
            break  # past the sweeper block
        stack.append((indent, key))
        keys = [k for _, k in stack]
        if keys == ["hydra", "sweeper"]:
            sweeper_line, sweeper_indent = i, indent
        elif sweeper_line is not None and len(keys) == 3 and keys[:2] == ["hydra", "sweeper"]:
            child = child if child is not None else m.group(1)
            if key == name:
                start, end = i, i + 1
                while end < len(lines) and _continues(lines[end], indent):
                    end += 1
                while end > start + 1 and not lines[end - 1].strip():
                    end -= 1  # blank lines after the entry stay
    if sweeper_line is None:
        raise ValueError("no hydra.sweeper block found")
    return sweeper_line, sweeper_indent, child, start, end


def _continues(line: str, indent: int) -> bool:
    """Whether ``line`` still belongs to the value of an entry at ``indent``: blank, deeper, or a ``- `` item of a
    block list at the entry's own indent (as YAML allows)."""
    at = len(line) - len(line.lstrip())
    return not line.strip() or at > indent or (at == indent and line.lstrip().startswith("- "))


def set_warm_start(text: str, entries: list[str]) -> str:
    """``text`` (a stage file) with ``hydra.sweeper.warm_start`` set to ``entries``: an existing entry's lines
    replaced, else one line added under ``sweeper:``, every other byte kept."""
    lines = text.splitlines()
    sweeper_line, sweeper_indent, child, start, end = _sweeper_entry(lines, "warm_start")
    value = "[" + ", ".join(json.dumps(e) if re.search(r"[\s,\[\]{}:#'\"]", e) else e for e in entries) + "]"
    comment = "# earlier sweeps told to the optimizer first (carry-over; docs/stages.md)"
    if start is not None:
        indent = re.match(r"^\s*", lines[start]).group(0)
        new = lines[:start] + [f"{indent}warm_start: {value}"] + lines[end:]
    else:
        indent = child if child is not None else " " * (sweeper_indent + 2)
        new = lines[:sweeper_line + 1] + [f"{indent}{comment}", f"{indent}warm_start: {value}"] \
            + lines[sweeper_line + 1:]
    return "\n".join(new) + "\n"


def without_points(text: str, source: str) -> str:
    """``text`` without ``hydra.sweeper.points``: the sweep ``source`` trained them, and its warm start tells
    those inside the suggested space (a point outside it would be refused when the stage starts)."""
    lines = text.splitlines()
    _, _, _, start, end = _sweeper_entry(lines, "points")
    if start is None:
        return text
    indent = re.match(r"^\s*", lines[start]).group(0)
    while start > 0 and lines[start - 1].startswith(indent + "#"):  # its comment, at its own indent, goes with it
        start -= 1
    note = f"{indent}# points: trained in {source}; its warm start tells those inside this space (docs/stages.md)"
    return "\n".join(lines[:start] + [note] + lines[end:]) + "\n"


def carried_header(params: Mapping[str, str], source: str) -> Optional[str]:
    """The header line of a suggestion with space ``params`` from the sweep ``source`` (None: no sweep)."""
    sweep_dir = carry_from(source)
    if sweep_dir is None:
        return None
    counts = []
    for entry in warm_start_entries(sweep_dir):
        earlier = carry_from(entry)  # None: an earlier sweep no longer on this machine, left out of the count
        if earlier is not None:
            counts.append((entry, *carried_count(earlier, params)))
    return header_line(counts)


def with_warm_start(text: str, source: str) -> str:
    """A suggested stage's text naming the sweep ``source`` (and its own warm starts) in ``warm_start``."""
    sweep_dir = carry_from(source)
    if sweep_dir is None:
        return text
    return without_points(set_warm_start(text, warm_start_entries(sweep_dir)), display_path(sweep_dir))


__all__ = ["carried_count", "carried_header", "display_path", "set_warm_start", "warm_start_entries",
           "with_warm_start", "without_points"]
