"""Attribution methods behind one interface (:class:`Attribution`): attention, gradxinput, ism."""

from __future__ import annotations

from torch import nn

from genarch.interpret.attribution.attention import AttentionAttribution
from genarch.interpret.attribution.base import Attribution, AttributionResult
from genarch.interpret.attribution.gradxinput import GradientTimesInput
from genarch.interpret.attribution.ism import InSilicoMutagenesis

METHODS: dict[str, type[Attribution]] = {
    AttentionAttribution.name: AttentionAttribution,
    GradientTimesInput.name: GradientTimesInput,
    InSilicoMutagenesis.name: InSilicoMutagenesis,
}


def make_attribution(name: str, net: nn.Module) -> Attribution:
    """``auto``: soft attention when the model has it, else gradient x input."""
    if name == "auto":
        name = "attention" if getattr(net, "attention", None) is not None else "gradxinput"
    if name not in METHODS:
        raise ValueError(f"unknown attribution method {name!r}; choose from auto, {', '.join(METHODS)}")
    method = METHODS[name]()
    if not method.applies_to(net):
        raise ValueError(f"method {name!r} does not apply: the model has no soft attention pooling")
    return method


__all__ = ["Attribution", "AttributionResult", "AttentionAttribution", "GradientTimesInput",
           "InSilicoMutagenesis", "METHODS", "make_attribution"]
