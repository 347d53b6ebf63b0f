"""The space a sweep searches: the stage's ``hydra.sweeper.params``, then the command line's overrides."""

from typing import Any, Mapping, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser

from genarch.sweeper.params import ParamSpec, spec_from_override, spec_from_yaml


def search_space(params: Mapping[str, Any], arguments: list[str],
                 config_loader: Optional[Any] = None) -> tuple[dict[str, ParamSpec], list[str]]:
    """The swept parameters by name and the fixed overrides every trial gets. A command-line override of a
    key replaces the stage's; ``~key`` removes it from every trial, as Hydra's own sweepers do."""
    parser = OverridesParser.create(config_loader=config_loader)
    specs: dict[str, ParamSpec] = {}
    for key, value in params.items():
        spec = spec_from_yaml(str(key), value, parser)
        specs[spec.name] = spec
    fixed: list[str] = []
    for override in parser.parse_overrides(arguments):
        if override.is_hydra_override():
            raise ValueError(f"{override.input_line}: hydra.* keys cannot be swept or set per trial")
        if override.is_delete() and not override.is_sweep_override():
            specs.pop(override.key_or_group, None)
            fixed.append(override.input_line)
            continue
        spec = spec_from_override(override)
        specs.pop(spec.name, None)
        if spec.swept:
            specs[spec.name] = spec
        else:
            fixed.append(override.input_line)  # the user's own text, passed to every trial
    fixed += [s.override(s.spec["value"]) for s in specs.values() if not s.swept]
    return {n: s for n, s in specs.items() if s.swept}, fixed
