"""Integer-valued intervals (`int(interval(...))`) stay integer when the analysis narrows them:
a float unit count would make every candidate of the suggested stage an illegal model."""

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from genarch.space import format_interval, parse_domain


@pytest.mark.parametrize(
    "text,integer,log",
    [
        ("tag(log, int(interval(64, 1024)))", True, True),
        ("int(interval(1, 5))", True, False),
        ("interval(0, 0.6)", False, False),
        ("interval(0, 1)", False, False),
        ("tag(log, interval(0.03, 10))", False, True),
    ],
)
def test_domain_kind_is_read_from_the_override(text, integer, log):
    domain = parse_domain("model.head.units", text)
    assert (domain.kind, domain.integer, domain.log) == ("interval", integer, log)


@pytest.mark.parametrize(
    "low,high,log,expected",
    [
        (100.2, 189.7, True, "tag(log, int(interval(100, 190)))"),
        (2.0, 4.0, False, "int(interval(2, 4))"),
    ],
)
def test_narrowed_integer_interval_parses_back_as_integers(low, high, log, expected):
    text = format_interval(low, high, log=log, integer=True)
    assert text == expected
    value = OverridesParser.create().parse_overrides([f"k={text}"])[0].value()
    assert isinstance(value.start, int) and isinstance(value.end, int)
    assert value.start <= low and value.end >= high


@pytest.mark.parametrize("name,expected", [("1", "2"), ("4a", "5a"), ("tfbs_2", "tfbs_3"), ("broad", "broad_next")])
def test_suggested_stage_gets_the_next_name(name, expected):
    from genarch.analysis.next_stage import next_stage_name, rename_stage

    assert next_stage_name(name) == expected
    assert rename_stage(f'hydra: {{}}\nstage: "{name}"\n').endswith(f'stage: "{expected}"\n')
    assert rename_stage(f"stage: {name}\n", "_rnn_lstm") == f'stage: "{expected}_rnn_lstm"\n'
