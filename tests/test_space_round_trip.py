"""One grammar for the search space: every domain the analysis writes is read back as the same domain by
the sweeper (and by the analysis), and a stage file's numbers keep the text they had."""

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from genarch.space import Domain, format_number, format_value, parse_domain
from genarch.sweeper.params import spec_from_yaml

KEY = "model.block.value"
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
scalars = st.one_of(st.integers(-10**6, 10**6), finite, st.booleans(), text)


def _distinct(values):
    seen, out = set(), []
    for v in values:
        if format_value(v) not in seen:
            seen.add(format_value(v))
            out.append(v)
    return out


@st.composite
def choices(draw):
    values = _distinct(draw(st.lists(scalars, min_size=1, max_size=6)))
    ordered = draw(st.booleans())
    if not ordered and draw(st.booleans()):
        values = _distinct(values + [None])  # null is written in the plain form null,a (no ordered tag)
    return Domain(KEY, "choice", values=values, ordered=ordered)


@st.composite
def intervals(draw):
    integer, log = draw(st.booleans()), draw(st.booleans())
    if integer:
        low = draw(st.integers(1 if log else -10**6, 10**6))
        high = draw(st.integers(low + 1, low + 10**6))
    else:
        low = draw(st.floats(1e-300, 1e300) if log else finite)
        high = draw(finite.filter(lambda h: h > low))
    return Domain(KEY, "interval", low=float(low), high=float(high), log=log, integer=integer)


@st.composite
def ranges(draw):
    start = draw(st.integers(-50, 50))
    stop = draw(st.integers(start + 1, start + 30))
    step = draw(st.integers(1, 5))
    return Domain(KEY, "range", values=list(range(start, stop, step)), low=start, high=stop, step=step,
                  ordered=draw(st.booleans()))


fixed = scalars.map(lambda v: Domain(KEY, "fixed", values=[v]))
domains = st.one_of(choices(), intervals(), ranges(), fixed)


def _same(a: Domain, b: Domain) -> bool:
    return (a.kind, a.values, a.low, a.high, a.log, a.integer, a.ordered, a.step if a.kind == "range" else 1) == \
        (b.kind, b.values, b.low, b.high, b.log, b.integer, b.ordered, b.step if b.kind == "range" else 1)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains)
# what the property found: a non-ASCII letter written unquoted, a quoted value of a null choice read back as
# Hydra's QuotedString, and a 16-digit float that %.16g rounds to another float
@example(Domain(KEY, "fixed", values=["A\u00b9"]))
@example(Domain(KEY, "choice", values=["", None]))
@example(Domain(KEY, "fixed", values=[5.960464477539063e-08]))
def test_every_written_domain_reads_back_the_same_in_the_sweeper_and_the_analysis(domain):
    written = domain.format()
    assert spec_from_yaml(KEY, written).spec == domain.to_spec(), written
    assert _same(parse_domain(KEY, written), domain), written


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e300, 1e300))
@example(5.960464477539063e-08)
def test_a_stage_number_is_written_as_before(value):
    """The stage-file style of the analysis before the grammar was shared: ``%.4g``, ``.0`` added, exponent
    as ``1.0e-5``. A number with at most 4 significant digits keeps that text; any other is written exactly."""
    rounded = float(f"{value:.4g}")
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa if '.' in mantissa else mantissa + '.0'}e{int(exponent)}"
    elif "." not in text and "n" not in text:
        text += ".0"
    assert format_number(rounded) == text
    assert float(format_number(value)) == value


@pytest.mark.parametrize("value, text", [(0.5, "0.5"), (1e-5, "1.0e-5"), (12340.0, "1.234e4"), (8, "8.0"),
                                         (0.123456, "0.123456"), (-3.0, "-3.0"), (math.inf, "inf")])
def test_format_number_table(value, text):
    assert format_number(value) == text
