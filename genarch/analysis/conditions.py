"""Which hyperparameters act only when another one switches their block on.

A sweep records every swept key for every trial, also where the key changes nothing: the units of an
RNN in a trial with ``model/rnn=none``, the stride of ``model/reduction=none``, the width of a head
with no hidden layer. The analysis must not read those values as evidence. This table is the one
place that says when a key acts; ``tests/test_analysis_conditional.py`` builds networks to check it against
the builder (an inactive key's value leaves the network unchanged).
"""

from typing import Any, Callable, Mapping

Predicate = Callable[[Any], bool]


def _not_none(value: Any) -> bool:
    return str(value) != "none"


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return True  # an unreadable parent value: do not declare the child dead


def _attention(value: Any) -> bool:
    return str(value) == "attention"


# child key -> (parent key as the sweep records it, whether a parent value lets the child act)
ACTIVE_WHEN: dict[str, tuple[str, Predicate]] = {
    "model.residual.before": ("model/residual", _not_none),
    "model.residual.after": ("model/residual", _not_none),
    "model.reduction.stride": ("model/reduction", _not_none),
    "model.rnn.layers": ("model/rnn", _not_none),
    "model.rnn.units": ("model/rnn", _not_none),
    "model.rnn.bidirectional": ("model/rnn", _not_none),
    "model.rnn.grad_clip": ("model/rnn", _not_none),
    "model.rnn.output": ("model/rnn", _not_none),
    "model.head.units": ("model.head.layers", _positive),
    "model.head.batchnorm": ("model.head.layers", _positive),
    "model.pooling.hidden": ("model/pooling", _attention),
    "model.pooling.kernel_size": ("model/pooling", _attention),
    "model.pooling.out_kernel_size": ("model/pooling", _attention),
    "model.pooling.conv_bias": ("model/pooling", _attention),
}


def is_active(key: str, params: Mapping[str, Any]) -> bool:
    """Whether ``key`` acts in a trial with ``params``; a key whose parent the trial does not record
    (fixed outside the sweep) counts as acting."""
    rule = ACTIVE_WHEN.get(key)
    if rule is None or rule[0] not in params:
        return True
    parent, acts = rule
    return acts(params[parent])


def parent_of(key: str) -> "str | None":
    rule = ACTIVE_WHEN.get(key)
    return rule[0] if rule else None


def acts_for(key: str, parent_value: Any) -> bool:
    """Whether ``key`` acts when its parent has ``parent_value``."""
    rule = ACTIVE_WHEN.get(key)
    return True if rule is None else rule[1](parent_value)
