"""Suggest the next stage: prune what the top trials agree on, keep the rest free, fork if needed.

For every parameter the stage declared, on the trials of this stage (or of one branch):

* **fix** a choice when one value holds >= ``dominance`` (75%) of the top trials, that is far more
  than its share of all trials (one-sided binomial test, p < ``alpha``), and the parameter is
  important. Written as a single-value ``choice(v)``, which composes in Hydra exactly like the
  other params and keeps the whole space in one place.
* **narrow** an ``interval`` to where the top trials lie (their min..max, padded by 5% of that
  span, on the log scale for ``tag(log, ...)``), when the top trials' distribution differs from
  the rest (two-sample Kolmogorov–Smirnov p < ``alpha``), the new range is at most 80% as wide,
  and the parameter is important. A ``choice``/``range`` is narrowed by dropping values that were
  tried but never reached the top, when that is unlikely by chance (``(1 - share)^n_top < alpha``).
* **keep** everything else exactly as declared.

Every change is written with a comment carrying its evidence (counts, shares, test p-value,
importance). A fork (see :mod:`genarch.analysis.forks`) gives one stage per branch: the branch's
conditions are fixed and the rules above are applied to the branch's trials only.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import yaml
from scipy import stats

from genarch.analysis import carry_over
from genarch.analysis.conditions import acts_for, parent_of
from genarch.analysis.forks import Fork
from genarch.analysis.space import Stage, infer_domain
from genarch.space import Domain, format_choice, format_interval, format_number, format_range, parse_params, stage_value
from genarch.analysis.trials import TrialTable, label


@dataclass
class Rules:
    dominance: float = 0.75
    alpha: float = 0.05
    max_width_ratio: float = 0.8
    pad: float = 0.05


@dataclass
class Change:
    key: str
    action: str  # "fix" | "narrow"
    old: str
    new: str
    evidence: str

    def to_dict(self) -> dict:
        return {"key": self.key, "action": self.action, "old": self.old, "new": self.new, "evidence": self.evidence}


@dataclass
class Proposal:
    name: str  # file stem: "next_stage" or "next_stage_rnn_lstm"
    branch: dict[str, str]
    changes: list[Change]
    params: dict[str, str]
    text: str
    diff: str
    base_name: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"name": self.name, "file": f"{self.name}.yaml", "branch": self.branch,
                "changes": [c.to_dict() for c in self.changes], "params": self.params, "notes": self.notes}


# ---------------------------------------------------------------- evidence per parameter


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _p(p: float) -> str:
    return f"{p:.1g}" if p < 0.01 else f"{p:.2f}"


def _round_sig(x: float, sig: int, direction: str) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    exp = math.floor(math.log10(abs(x))) - sig + 1
    scale = 10.0 ** exp
    fn = math.floor if direction == "down" else math.ceil
    # as the decimal it stands for (29 * 0.1 is 2.9000000000000004): the suggested domain is the one written
    return float(f"{fn(x / scale) * scale:.{sig}g}")


def _column_key(table: TrialTable, param: str, value: Any) -> Any:
    return label(value) if table.kinds[param] == "categorical" else float(value)


def _decide_choice(param: str, domain: Domain, table: TrialTable, top: np.ndarray, rules: Rules,
                   importance: str, important: bool) -> Optional[Change]:
    column = table.frame[param]
    keys = column.astype(str).to_numpy() if table.kinds[param] == "categorical" else column.to_numpy(dtype=float)
    n, n_top = len(keys), int(top.sum())
    if n_top == 0:
        return None
    declared = list(domain.values)
    by_key = {_column_key(table, param, v): v for v in declared}
    counts = {k: int((keys == k).sum()) for k in by_key}
    tops = {k: int((keys[top] == k).sum()) for k in by_key}
    best = max(by_key, key=lambda k: (tops[k], tops[k] / max(counts[k], 1)))
    k, base = tops[best], counts[best] / n
    share = k / n_top
    p_fix = float(stats.binom.sf(k - 1, n_top, base)) if 0 < base < 1 else 1.0
    if important and share >= rules.dominance and p_fix < rules.alpha and len(declared) > 1:
        return Change(param, "fix", domain.raw, format_choice([by_key[best]]),
                      f"fix {param}={stage_value(by_key[best])}: {k}/{n_top} top trials ({_pct(share)}) "
                      f"vs {counts[best]}/{n} of all trials ({_pct(base)}); binomial p={_p(p_fix)}; "
                      f"importance {importance}")
    if not important:
        return None
    if domain.numeric and table.kinds[param] == "numeric":
        lo, hi = keys[top].min(), keys[top].max()
        keep = [k_ for k_ in by_key if (lo <= k_ <= hi) or counts[k_] == 0]
    else:
        keep = [k_ for k_ in by_key if tops[k_] > 0 or counts[k_] == 0]
    dropped = [k_ for k_ in by_key if k_ not in keep]
    if not dropped or not keep:
        return None
    mass = sum(counts[k_] for k_ in dropped) / n
    p_drop = (1.0 - mass) ** n_top
    if p_drop >= rules.alpha:
        return None
    new_values = [by_key[k_] for k_ in keep]
    dropped_text = ", ".join(f"{stage_value(by_key[k_])} (0/{counts[k_]} top)" for k_ in dropped)
    evidence = (f"narrow {param}: dropped {dropped_text}; they held {_pct(mass)} of trials but none of the "
                f"{n_top} top (chance p={_p(p_drop)}); importance {importance}")
    if domain.kind == "range" and domain.step == 1 and all(isinstance(v, int) for v in new_values) \
            and new_values == list(range(min(new_values), max(new_values) + 1)):
        new = format_range(min(new_values), max(new_values) + 1, ordered=domain.ordered)
    else:  # an ordered choice stays ordered (with no null in it: Hydra's grammar cannot tag that)
        new = format_choice(new_values, domain.ordered and None not in new_values)
    action = "fix" if len(new_values) == 1 else "narrow"
    return Change(param, action, domain.raw, format_choice(new_values) if action == "fix" else new, evidence)


def _decide_interval(param: str, domain: Domain, table: TrialTable, top: np.ndarray, rules: Rules,
                     importance: str, important: bool) -> Optional[Change]:
    if not important or table.kinds[param] != "numeric" or top.sum() < 2 or (~top).sum() < 2:
        return None
    x = table.frame[param].to_numpy(dtype=float)
    use_log = domain.log and domain.low > 0 and np.all(x > 0)
    fwd = np.log10 if use_log else (lambda v: np.asarray(v, dtype=float))
    inv = (lambda v: 10.0 ** v) if use_log else (lambda v: v)
    t = fwd(x[top])
    d_lo, d_hi = float(fwd(domain.low)), float(fwd(domain.high))
    lo, hi = float(t.min()), float(t.max())
    pad = rules.pad * (hi - lo) if hi > lo else 0.05 * (d_hi - d_lo)
    new_lo, new_hi = max(d_lo, lo - pad), min(d_hi, hi + pad)
    ratio = (new_hi - new_lo) / (d_hi - d_lo) if d_hi > d_lo else 1.0
    p = float(stats.ks_2samp(x[top], x[~top]).pvalue)
    if ratio > rules.max_width_ratio or p >= rules.alpha:
        return None
    low = max(domain.low, _round_sig(float(inv(new_lo)), 2, "down"))
    high = min(domain.high, _round_sig(float(inv(new_hi)), 2, "up"))
    if domain.integer:
        low, high = math.floor(low), math.ceil(high)
    new = format_interval(low, high, log=domain.log, integer=domain.integer)
    scale = " (log scale)" if use_log else ""
    evidence = (f"narrow {param} to [{format_number(low)}, {format_number(high)}]: the {int(top.sum())} top trials "
                f"lie in [{x[top].min():.3g}, {x[top].max():.3g}] (the {len(x)} trials judged: "
                f"[{x.min():.3g}, {x.max():.3g}]); "
                f"KS p={_p(p)}; {_pct(ratio)} of the old width{scale}; importance {importance}")
    return Change(param, "narrow", domain.raw, new, evidence)


def decide(param: str, domain: Domain, table: TrialTable, top: np.ndarray, rules: Rules,
           importance: str, important: bool) -> Optional[Change]:
    if param not in table.params:
        return None
    if domain.kind in ("choice", "range"):
        return _decide_choice(param, domain, table, top, rules, importance, important)
    if domain.kind == "interval":
        return _decide_interval(param, domain, table, top, rules, importance, important)
    return None


# ---------------------------------------------------------------- stage text


def synthesize_stage_text(params: Mapping[str, str], *, title: str, sweeper: Mapping[str, Any],
                          keys: Optional[Mapping[str, str]] = None) -> str:
    lines = ["# @package _global_", f"# {title}", "defaults:", "  - override /hydra/sweeper: genarch",
             "hydra:", "  sweeper:"]
    for key in ("budget", "num_workers", "optimizer"):
        if key in sweeper and not isinstance(sweeper[key], (dict, list)):
            lines.append(f"    {key}: {sweeper[key]}")
    lines.append("    params:")
    lines += [f"      {(keys or {}).get(k, k)}: {v}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


_KEY_LINE = re.compile(r"^(\s*)([^\s#:][^:#]*?)\s*:\s*(.*?)\s*$")


def _end_of_value(lines: Sequence[str], i: int, indent: int) -> int:
    """The index after the value of the key on line ``i``: its block continuation (more-indented lines,
    or ``- item`` lines at the key's own indent, as YAML allows for a block list) goes with it;
    comments and blank lines inside it too, but not the ones after its last line."""
    end, j = i + 1, i + 1
    while j < len(lines):
        stripped = lines[j].strip()
        at = len(lines[j]) - len(lines[j].lstrip())
        if stripped and not stripped.startswith("#"):
            if at > indent or (at == indent and (stripped == "-" or stripped.startswith("- "))):
                end = j + 1
            else:
                break
        j += 1
    return end


def rewrite_stage(text: str, new_params: Mapping[str, str], comments: Mapping[str, list[str]],
                  header: list[str]) -> str:
    """Replace the lines of ``hydra.sweeper.params`` that changed, keep every other byte."""
    lines = text.splitlines()
    # locate hydra: -> sweeper: -> params:
    path, stack, params_line, params_indent = ["hydra", "sweeper", "params"], [], None, None
    for i, line in enumerate(lines):
        m = _KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#") or line.lstrip().startswith("-"):
            continue
        indent, key = len(m.group(1)), m.group(2).strip().strip("'\"")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if [k for _, k in stack] == path:
            params_line, params_indent = i, indent
            break
    if params_line is None:
        raise ValueError("no hydra.sweeper.params block found")
    out = lines[: params_line + 1]
    i = params_line + 1
    seen = set()
    child_indent = None
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped and not stripped.startswith("#") and indent <= params_indent:
            break
        m = _KEY_LINE.match(line)
        if m and stripped and not stripped.startswith("#"):
            key = m.group(2).strip().strip("'\"").lstrip("+")  # "++key": the param named key
            child_indent = child_indent if child_indent is not None else m.group(1)
            if key in new_params:
                seen.add(key)
                if key in comments:
                    out += [f"{m.group(1)}# {c}" for c in comments[key]]
                    out.append(f"{m.group(1)}{m.group(2)}: {new_params[key]}")
                    i = _end_of_value(lines, i, len(m.group(1)))
                    continue
        out.append(line)
        i += 1
    missing = [k for k in new_params if k not in seen]
    if missing:
        raise ValueError(f"params not found as lines of the stage file: {missing}")
    out += lines[i:]
    # header: keep '# @package' lines first (Hydra reads the header only up to the first other line)
    j = 0
    while j < len(out) and re.match(r"^\s*#\s*@", out[j]):
        j += 1
    body = out[j:]
    # the header of an earlier suggestion is replaced, not stacked under the new one
    lead = next((k for k, l in enumerate(body) if not l.lstrip().startswith("#")), len(body))
    body = [l for k, l in enumerate(body) if k >= lead or not _OLD_HEADER.match(l)]
    stage_line = next((k for k, l in enumerate(body[:5]) if re.match(r"^#\s*Stage\s+\d+", l)), None)
    extra = [f"# {h}" for h in header]
    if stage_line is not None:
        m = re.match(r"^#\s*Stage\s+(\d+)\s*:?\s*(.*)$", body[stage_line])
        number, title = int(m.group(1)), m.group(2)
        while (inner := re.match(r"^suggested from stage \d+(?: \((.*)\))?$", title)) is not None:
            title = inner.group(1) or ""  # "suggested from stage 2 (suggested from stage 1 (T))" -> "T"
        del body[stage_line]
        extra.insert(0, f"# Stage {number + 1}: suggested from stage {number}" + (f" ({title})" if title else ""))
    return "\n".join(out[:j] + extra + body) + "\n"


# comment lines that a suggestion writes at the top of its file (see ``propose``)
_OLD_HEADER = re.compile(r"^#\s*(Suggested by genarch\.analyze from |Fork branch: |Changes: |Carried over: )")


_STAGE_KEY = re.compile(r"""^stage:[ \t]*['"]?([^'"#\s]*)['"]?[ \t]*(#.*)?$""", re.M)


def next_stage_name(name: str) -> str:
    """``"1"`` -> ``"2"``, ``"4a"`` -> ``"5a"``, ``"tfbs_2"`` -> ``"tfbs_3"``; no number: ``name + "_next"``."""
    match = re.match(r"^(.*?)(\d+)([a-z]*)$", name)
    return f"{match[1]}{int(match[2]) + 1}{match[3]}" if match else f"{name}_next"


def rename_stage(text: str, branch_suffix: str = "") -> str:
    """Give the suggested file its own top-level ``stage:`` name, so its sweep records the new stage
    (a fork branch gets the branch's suffix: ``"2_rnn_lstm"``)."""
    match = _STAGE_KEY.search(text)
    if not match:
        return text
    new = next_stage_name(match[1]) + branch_suffix
    return text[: match.start()] + f'stage: "{new}"' + text[match.end():]


def _dead_children(domains: Mapping[str, Domain], params_text: Mapping[str, str], changes: Sequence[Change],
                   table: TrialTable, branch: Mapping[str, str]) -> list[Change]:
    """Fixes for the keys that can no longer act: their parent's values in the next stage (after
    ``changes``) all switch their block off, so sweeping them would only add dead dimensions. Each is
    fixed to the value of the best trial that recorded it (or its first declared value)."""
    new_text = {**params_text, **{c.key: c.new for c in changes}}
    changed = {c.key for c in changes}
    out = []
    for child, domain in domains.items():
        parent = parent_of(child)
        if parent is None or parent not in new_text or child in changed or child in branch:
            continue
        parent_domain = parse_params({parent: new_text[parent]})[parent]
        if parent_domain.kind == "interval" or any(acts_for(child, v) for v in parent_domain.values):
            continue
        if domain.kind != "interval" and len(domain.values) <= 1:
            continue  # already a single value
        value = domain.values[0] if domain.values else None
        if child in table.params and table.n:
            best = int(np.argmax(table.score))
            value = table.original(child, table.frame[child].iloc[best])
            if domain.kind != "interval":  # the declared spelling of that value
                declared = {_column_key(table, child, v): v for v in domain.values}
                value = declared.get(_column_key(table, child, value), value)
            elif domain.integer:
                value = int(round(float(value)))
        if value is None:
            continue
        off = stage_value(parent_domain.values[0]) if len(parent_domain.values) == 1 else parent_domain.raw
        out.append(Change(child, "fix", domain.raw, format_choice([value]),
                          f"fix {child}={stage_value(value)}: it acts only when {parent} switches its block on, and "
                          f"the next stage has {parent}={off}, so it is a dead dimension (the value is the best "
                          "trial's)"))
    return out


def validate_stage_text(text: str, expected: Mapping[str, str]) -> None:
    """The suggested file must load as YAML, declare exactly the expected params, and parse in Hydra's grammar."""
    data = yaml.safe_load(text)
    params = data["hydra"]["sweeper"]["params"]
    from genarch.space import entry_text as param_text

    got = {str(k).lstrip("+"): param_text(v) for k, v in params.items()}
    if got != dict(expected):
        raise ValueError(f"suggested stage does not round-trip: {got} != {dict(expected)}")
    parse_params(got)
    if not text.startswith("# @package") and "# @package" in text:
        raise ValueError("'# @package' must stay the first line")


# ---------------------------------------------------------------- proposals


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def branch_name(fork: Fork, value: str) -> str:
    short = re.split(r"[./]", fork.param)[-1]
    return f"next_stage_{slug(short)}_{slug(value)}"


def _branch_mask(table: TrialTable, conditions: Mapping[str, str]) -> np.ndarray:
    mask = np.ones(table.n, dtype=bool)
    for param, value in conditions.items():
        mask &= table.frame[param].astype(str).to_numpy() == value
    return mask


def propose(
    table: TrialTable,
    top: np.ndarray,
    stage: Stage,
    importance_text: Mapping[str, str],
    important: set[str],
    fork: Optional[Fork] = None,
    rules: Optional[Rules] = None,
    source: str = "",
    carry_source: Optional[str] = None,
) -> list[Proposal]:
    """The suggested next stage(s); ``carry_source``: the sweep dir analysed, named in each suggestion's
    ``hydra.sweeper.warm_start`` (:mod:`genarch.analysis.carry_over`)."""
    rules = rules or Rules()
    domains = dict(stage.domains)
    params_text = dict(stage.params)
    for param in table.params:  # parameters the trials vary that the stage did not declare (CSV input)
        if param not in domains:
            values = [table.original(param, v) for v in table.frame[param]] if table.kinds[param] == "categorical" \
                else list(table.frame[param])
            domains[param] = infer_domain(param, table.kinds[param], values)
            params_text[param] = domains[param].raw
    base_text = stage.text or synthesize_stage_text(
        params_text, title=f"Stage (inferred from {table.n_total} trials of {table.source})", sweeper=stage.sweeper,
        keys=stage.keys)
    base_name = str(stage.path) if stage.path else "stage (inferred)"

    def build(name: str, mask: np.ndarray, branch: dict[str, str], forced: list[Change]) -> Proposal:
        sub = table.subset(mask)
        sub_top = top[mask]
        changes = list(forced)
        # choices first; numeric ranges are then judged inside the space the fixes leave
        # (with model/rnn fixed to lstm, where do the top LSTM trials' learning rates lie?)
        order = sorted((p for p in domains if p not in branch), key=lambda p: domains[p].kind == "interval")
        inside = np.ones(sub.n, dtype=bool)
        for param in order:
            domain = domains[param]
            if domain.kind == "interval" and inside.sum() >= 5 and (sub_top & inside).sum() >= 2:
                table_, top_ = sub.subset(inside), sub_top[inside]
            else:
                table_, top_ = sub, sub_top
            if param in table_.params:  # a value is evidence only in the trials where its block was on
                acted = table_.is_active(param)
                if not acted.all():
                    table_, top_ = table_.subset(acted), top_[acted]
            change = decide(param, domain, table_, top_, rules, importance_text.get(param, "n/a"), param in important)
            if change is None:
                continue
            changes.append(change)
            if change.action == "fix" and param in sub.params:
                fixed = parse_params({param: change.new})[param].values[0]
                inside &= sub.frame[param].to_numpy() == _column_key(sub, param, fixed)
        changes += _dead_children(domains, params_text, changes, sub, branch)
        changes.sort(key=lambda c: list(domains).index(c.key))
        new_params = dict(params_text)
        comments: dict[str, list[str]] = {}
        for change in changes:
            new_params[change.key] = change.new
            comments[change.key] = [change.evidence, f"was: {change.old}"]
        what = "; ".join(f"{c.action} {c.key}" for c in changes) or "no change is supported by the evidence"
        header = [f"Suggested by genarch.analyze from {base_name}{' ' + source if source else ''}."]
        if branch:
            header.append("Fork branch: " + " AND ".join(f"{p}={v}" for p, v in branch.items())
                          + f" ({int(sub_top.sum())} of the {int(top.sum())} top trials, {len(sub.frame)} trials).")
        header.append(f"Changes: {what}.")
        carried = None
        if carry_source is not None:  # the sweep's measured trials are told, not retrained, by the next stage
            carried = carry_over.carried_header(new_params, carry_source)
        text = rename_stage(rewrite_stage(base_text, new_params, comments, header + ([carried] if carried else [])),
                            "" if not branch else "_" + name.removeprefix("next_stage_"))
        if carried:
            text = carry_over.with_warm_start(text, carry_source)
        validate_stage_text(text, new_params)
        diff = "".join(difflib.unified_diff(
            base_text.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile=f"a/{Path(base_name).name}", tofile=f"b/{name}.yaml"))
        return Proposal(name=name, branch=dict(branch), changes=changes, params=new_params, text=text, diff=diff,
                        base_name=base_name)

    if fork is None:
        return [build("next_stage", np.ones(table.n, dtype=bool), {}, [])]
    proposals = []
    for br in fork.branches:
        mask = _branch_mask(table, br.conditions)
        forced = []
        for param, value in br.conditions.items():
            if param not in domains:
                continue
            in_branch_top = int((top & mask).sum())
            n_cond = int((table.frame[param].astype(str).to_numpy() == value).sum())
            forced.append(Change(
                param, "fix", domains[param].raw, format_choice([table.original(param, value)]),
                f"fork branch {' AND '.join(f'{p}={v}' for p, v in br.conditions.items())}: {len(br.leaves)} high "
                f"tree leaf/leaves, {br.n_top}/{br.n} top; {in_branch_top}/{int(top.sum())} top trials in this "
                f"branch; {n_cond}/{table.n} trials had {param}={value}"))
        proposals.append(build(branch_name(fork, br.value), mask, dict(br.conditions), forced))
    return proposals
