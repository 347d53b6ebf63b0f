"""A stage file checked like the command line, before the first trial.

Hydra refuses ``trainer.max_epochz=1`` on the command line (the key is not in the config), but merges the
same key from a stage file's body silently, and a misspelled value (``model.activation: leaky_rleu``) only
shows as illegal-model rejections while the sweep runs. :func:`check_stage` refuses both up front:

* every key of the stage file's body (``dataset: {nn: 1000}``) must be a key of the config composed with
  the same config-group choices but without the stage's body; a new *top-level* key (``stage``, the TFBS
  stages' ``subset``) is the stage's own data and is allowed;
* every swept or fixed parameter names a key of the composed config (or lies under a swept config group,
  whose options differ in keys, or is added with ``+``), and a config group parameter (``model/rnn``) names
  options of that group;
* every value of a parameter with an enumerated set of legal values is in that set. The sets come from the
  task's model validator, passed in (the sweeper does not import the model package): see
  :func:`legal_values`.

Each problem names the key and the allowed values; the sweeper prefixes the stage file's path."""

import ast
import re
from typing import Any, Callable, Mapping, Optional, Sequence

import yaml
from omegaconf import DictConfig, OmegaConf

_PROBE = "genarch-probe-value"
Validator = Callable[[Mapping[str, Any]], None]


class StageCheckError(ValueError):
    """The stage file or a sweep parameter names a key or value the config does not have."""


def check_stage(config: DictConfig, params: Mapping[str, Mapping[str, Any]], fixed: Sequence[str],
                config_loader: Any, stage_text: Optional[str], validator: Optional[Validator] = None) -> None:
    """Raise :class:`StageCheckError` listing every unknown key and illegal value; return quietly otherwise.

    ``params``: swept parameter name -> spec (as :mod:`genarch.sweeper.params` builds them); ``fixed``: the
    fixed overrides every trial gets; ``stage_text``: the stage file as written (None without a stage)."""
    problems: list[str] = []
    plain = OmegaConf.to_container(config, resolve=False)
    plain.pop("hydra", None)
    if stage_text:
        problems += _body_problems(config, config_loader, stage_text)
    specs = dict(params)
    specs.update(_fixed_specs(fixed))
    swept_groups = [name for name, spec in params.items() if "/" in name and spec.get("kind") == "choice"]
    for name, spec in specs.items():
        problems += _key_problems(name, spec, plain, config_loader, swept_groups)
    if validator is not None and isinstance(plain.get("model"), dict):
        model = OmegaConf.to_container(config.model, resolve=True)
        for name, spec in specs.items():
            if not name.startswith("model.") or spec.get("kind") not in ("choice", "constant"):
                continue
            allowed = legal_values(validator, model, name[len("model."):])
            values = spec["values"] if spec["kind"] == "choice" else [spec["value"]]
            bad = [v for v in values if allowed is not None and v not in allowed
                   and _refused(validator, model, name[len("model."):], v)]
            if bad:
                problems.append(f"{name}: {', '.join(map(repr, bad))} {'is' if len(bad) == 1 else 'are'} not an "
                                f"allowed value (allowed: {', '.join(map(str, allowed))})")
    if problems:
        raise StageCheckError("; ".join(problems))


def validator_of(rules: Any) -> Validator:
    """A model validator (``validator(model)`` raises ValueError naming the problems) from the task's rules
    (``hydra.sweeper.task_rules``: :meth:`genarch.sweeper.task.TaskRules.reject` of a config with that model)."""
    def validator(model: Mapping[str, Any]) -> None:
        error = rules.reject(OmegaConf.create({"model": dict(model)}))
        if error:
            raise ValueError(error)

    return validator


def legal_values(validator: Validator, model: Mapping[str, Any], key: str) -> Optional[list[Any]]:
    """The enumerated legal values of ``model.<key>`` as ``validator`` states them, or None where the key
    has no enumerated set (a number, a key the validator does not read). The validator is asked about the
    model with an impossible value at ``key``; its problem ``model.<key>=<value> is not one of [...]`` lists
    the legal values (the wording of genarch.model.validate's enumerated keys)."""
    probe = _with(model, key.split("."), _PROBE)
    if probe is None:
        return None
    try:
        validator(probe)
    except ValueError as exc:
        match = re.search(rf"model\.{re.escape(key)}='{_PROBE}' is not one of (\[[^\]]*\])", str(exc))
        if match:
            try:
                return list(ast.literal_eval(match.group(1)))
            except (ValueError, SyntaxError):
                return None
    return None


def _refused(validator: Validator, model: Mapping[str, Any], key: str, value: Any) -> bool:
    """Whether the validator names ``value`` at ``model.<key>`` as not one of its legal values (a value outside
    the enumeration may still be legal: ``null`` for an optional key)."""
    probe = _with(model, key.split("."), value)
    try:
        validator(probe)
    except ValueError as exc:
        return f"model.{key}={value!r} is not one of" in str(exc)
    return False


def _with(model: Mapping[str, Any], path: list[str], value: Any) -> Optional[dict[str, Any]]:
    """A copy of ``model`` with ``value`` at ``path`` (None where a parent is missing)."""
    out = dict(model)
    node = out
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, Mapping):
            return None
        node[part] = dict(child)
        node = node[part]
    node[path[-1]] = value
    return out


def _fixed_specs(fixed: Sequence[str]) -> dict[str, dict[str, Any]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from genarch.sweeper.params import spec_from_override

    out: dict[str, dict[str, Any]] = {}
    parser = OverridesParser.create()
    for text in fixed:
        try:
            override = parser.parse_override(text)
            if override.is_delete() or override.is_add() or override.is_force_add():
                continue
            spec = spec_from_override(override)
        except Exception:  # noqa: BLE001 - Hydra itself reports an override it cannot parse
            continue
        out[spec.name] = spec.spec
    return out


def _key_problems(name: str, spec: Mapping[str, Any], plain: Mapping[str, Any], loader: Any,
                  swept_groups: Sequence[str]) -> list[str]:
    name = name.split("@", 1)[0]
    if "/" in name or _is_group(loader, name):
        options = _group_options(loader, name)
        if options is None:
            return [f"{name}: not a config group"]
        kind = spec.get("kind")
        values = spec["values"] if kind == "choice" else [spec.get("value")] if kind == "constant" else []
        bad = [v for v in values if v is not None and str(v) not in options]
        if not bad:
            return []
        return [f"{name}: {', '.join(map(repr, bad))} not an option of the group (options: {', '.join(options)})"]
    if any(name.startswith(group.replace("/", ".") + ".") for group in swept_groups):
        return []  # the options of a swept group may differ in keys; Hydra composes each trial
    missing = _missing(plain, name.split("."))
    if missing is None:
        return []
    return [f"{name}: {missing}; a key the config lacks is added as +{name}"]


def _missing(plain: Mapping[str, Any], path: list[str]) -> Optional[str]:
    """Why ``path`` is not a key of ``plain`` (naming the keys it has), or None when it is."""
    node: Any = plain
    for i, part in enumerate(path):
        if not isinstance(node, Mapping):
            return None  # below a leaf or a list: not ours to judge
        if part not in node:
            where = ".".join(path[:i]) or "the config"
            known = sorted(map(str, node))
            return f"not a key of the config ({where} has: {', '.join(known[:30])}{', ...' if len(known) > 30 else ''})"
        node = node[part]
    return None


def _is_group(loader: Any, name: str) -> bool:
    try:
        return bool(loader.get_group_options(name))
    except Exception:  # noqa: BLE001
        return False


def _group_options(loader: Any, name: str) -> Optional[list[str]]:
    try:
        options = list(loader.get_group_options(name))
    except Exception:  # noqa: BLE001
        return None
    return options or None


def _body_problems(config: DictConfig, loader: Any, stage_text: str) -> list[str]:
    """Keys of the stage's body missing from the config composed with the same group choices, no stage."""
    try:
        body = yaml.safe_load(stage_text)
    except yaml.YAMLError:
        return []  # genarch's CLI reports a stage file that is not YAML
    first = stage_text.lstrip().splitlines()[0] if stage_text.strip() else ""
    if not isinstance(body, dict) or "_global_" not in first:
        return []  # only a global-package stage writes into the task's config
    body = {k: v for k, v in body.items() if k not in ("defaults", "hydra")}
    base = _base_config(config, loader)
    if base is None:
        return []
    problems: list[str] = []

    def walk(node: Any, schema: Any, path: list[str]) -> None:
        for key, value in node.items():
            here = path + [str(key)]
            if not isinstance(schema, Mapping):
                return
            if key not in schema:
                if path:  # a new top-level key is the stage's own data
                    problems.append(f"{'.'.join(here)}: {_missing(base, here)}")
                continue
            if isinstance(value, dict) and isinstance(schema[key], Mapping):
                walk(value, schema[key], here)

    walk(body, base, [])
    return problems


def _base_config(config: DictConfig, loader: Any) -> Optional[dict[str, Any]]:
    """The task config composed with this sweep's config-group choices but without the stage."""
    from hydra.types import RunMode

    runtime = config.hydra.runtime
    choices = OmegaConf.to_container(runtime.choices, resolve=False) if "choices" in runtime else {}
    overrides = [f"{group}={choice}" for group, choice in choices.items()
                 if choice is not None and not group.startswith("hydra") and group != "stage"]
    try:
        base = loader.load_configuration(config_name=config.hydra.job.config_name, overrides=overrides,
                                         run_mode=RunMode.RUN)
    except Exception:  # noqa: BLE001 - a group the primary config does not list: no body check
        return None
    plain = OmegaConf.to_container(base, resolve=False)
    plain.pop("hydra", None)
    return plain
