"""The search space of a stage: one grammar below the sweeper and the analysis.

A stage file (``conf/stage/*.yaml``) declares each swept key in Hydra's override grammar. This package
reads such an entry into a :class:`Domain` (choice, ordered choice, range, interval, log interval,
integer interval, or a fixed value), writes a domain back as the text that reads the same, tells
whether a recorded value lies in it, and draws from it::

    values.py   one value <-> override text (format_value, quote, format_number), plain Python values
    domain.py   Domain: contains / format / sample / the sweeper's JSON spec; the interval rules
    grammar.py  a Hydra override or a hydra.sweeper.params entry -> Domain (with the sweeper's checks)

The sweeper (``genarch.sweeper.params``) builds nevergrad parameters from these domains; the analysis
(``genarch.analysis.space``) writes its suggested stage with ``Domain.format`` and the ``format_*``
helpers, so a suggested stage is read by the sweeper exactly as the analysis meant it."""

from genarch.space.domain import (
    Domain, format_choice, format_interval, format_range, integer_bounds, interval_slack, recorded_in_interval,
    same_value,
)
from genarch.space.grammar import domain_from_entry, domain_from_override, entry_text, parse_domain, parse_params
from genarch.space.values import format_number, format_value, is_number, plain, quote, stage_value

__all__ = [
    "Domain", "domain_from_entry", "domain_from_override", "entry_text", "format_choice", "format_interval",
    "format_number", "format_range", "format_value", "integer_bounds", "interval_slack", "is_number",
    "parse_domain", "parse_params", "plain", "quote", "recorded_in_interval", "same_value", "stage_value",
]
