"""Legality of a composed model config. Called as soon as a config is composed (before any data is
read), so an illegal combination fails at once with a message that names the keys involved."""

from typing import Any, Mapping, Optional

from genarch.model.activations import ACTIVATIONS

REDUCTIONS = ("none", "maxpool", "meanpool", "strided_conv")
RNNS = ("none", "simple", "lstm", "gru")
POOLINGS = ("flatten", "attention", "max", "mean")
RESIDUALS = ("none", "basic")
RNN_OUTPUTS = ("sequence", "last")
# model.strands, optional (a config without it reads the given strand only, as every model trained before it did)
STRANDS = ("forward", "both")
STRANDS_DEFAULT = "forward"


class ConfigError(ValueError):
    """A composed config that cannot build a model; the message names the offending keys."""


def _get(cfg: Mapping[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise ConfigError(f"missing config key model.{dotted}")
        node = node[part]
    return node


def validate_model(model: Mapping[str, Any], seq_len: Optional[int] = None) -> None:
    """Raise :class:`ConfigError` naming every problem of ``model`` (the ``model`` config node).

    With ``seq_len`` the length-dependent rules are checked too (a reduction that leaves no
    positions, a flattened representation too large to be a sensible model)."""
    problems: list[str] = []

    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    def choice(key: str, options) -> Any:
        value = _get(model, key)
        need(value in options, f"model.{key}={value!r} is not one of {list(options)}")
        return value

    def integer(key: str, low: int, high: Optional[int] = None) -> int:
        value = _get(model, key)
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
        need(ok, f"model.{key}={value!r} must be an integer in [{low}, {high if high is not None else 'inf'}]")
        return value if ok else low

    choice("activation", ACTIVATIONS)
    if "strands" in model:
        choice("strands", STRANDS)
    first = model.get("stem", {}).get("first_activation")
    if first is not None:
        choice("stem.first_activation", ACTIVATIONS)
    explicit = model.get("stem", {}).get("kind", "conv") == "explicit"
    trunk_len = seq_len
    if explicit:
        layers = _get(model, "stem.layers")
        need(isinstance(layers, (list, tuple)) and len(layers) > 0, "model.stem.layers must list at least one layer")
        padding = model["stem"].get("padding", "same")
        need(padding in ("same", "valid"), f"model.stem.padding={padding!r} must be 'same' or 'valid'")
        for i, layer in enumerate(layers or []):
            for key in ("width", "filters"):
                value = layer.get(key) if isinstance(layer, Mapping) else None
                need(isinstance(value, int) and value >= 1,
                     f"model.stem.layers[{i}].{key}={value!r} must be a positive integer")
            if padding == "same" and isinstance(layer, Mapping) and isinstance(layer.get("width"), int):
                need(layer["width"] % 2 == 1,
                     f"model.stem.layers[{i}].width={layer['width']} must be odd with model.stem.padding='same'")
            if isinstance(layer, Mapping):
                pool_size = layer.get("pool")
                positive = isinstance(pool_size, int) and not isinstance(pool_size, bool) and pool_size >= 1
                need(pool_size is None or positive,
                     f"model.stem.layers[{i}].pool={pool_size!r} must be a positive integer (1 or null: no pooling)")
                rate = layer.get("dropout")
                need(rate is None or (isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate < 1),
                     f"model.stem.layers[{i}].dropout={rate!r} must be in [0, 1)")
        convs_after, residual_on = model["stem"].get("convs_after", 0), model.get("residual", {}).get("kind") != "none"
        if convs_after or residual_on:  # these convs use stem.filter_size with 'same' padding
            kernel = integer("stem.filter_size", 1, 64)
            need(kernel % 2 == 1, f"model.stem.filter_size={kernel} must be odd: model.stem.convs_after and residual "
                                  "blocks use it with 'same' padding")
        if trunk_len is not None and not problems:
            for layer in layers:
                trunk_len = trunk_len - (0 if padding == "same" else layer["width"] - 1)
                trunk_len //= int(layer.get("pool", 1) or 1)
            if trunk_len < 1:
                problems.append(f"model.stem.layers leave no positions of a {seq_len}-bp input")
    else:
        kernel = integer("stem.filter_size", 1, 64)
        need(kernel % 2 == 1,
             f"model.stem.filter_size={kernel} must be odd ('same' padding keeps positions aligned with bases)")
        integer("stem.filters", 1, 4096)
        integer("stem.convs_before", 1, 16)
    kernel = int(model["stem"].get("filter_size", 3) or 3)
    integer("stem.convs_after", 0, 16)
    choice("residual.kind", RESIDUALS)
    integer("residual.before", 0, 16)
    integer("residual.after", 0, 16)
    reduction = choice("reduction.kind", REDUCTIONS)
    stride = integer("reduction.stride", 1, 64)
    rnn = choice("rnn.kind", RNNS)
    rnn_layers = integer("rnn.layers", 0, 8)
    integer("rnn.units", 1, 4096)
    rnn_output = choice("rnn.output", RNN_OUTPUTS)
    grad_clip = _get(model, "rnn.grad_clip")
    need(isinstance(grad_clip, (int, float)) and grad_clip >= 0, f"model.rnn.grad_clip={grad_clip!r} must be >= 0")
    pooling = choice("pooling.kind", POOLINGS)
    if pooling == "attention":
        integer("pooling.hidden", 1, 65536)
        width = integer("pooling.kernel_size", 1, 255)
        need(width % 2 == 1, f"model.pooling.kernel_size={width!r} must be odd (the scores keep one per position)")
        if "out_kernel_size" in model["pooling"]:
            width = integer("pooling.out_kernel_size", 1, 255)
            need(width % 2 == 1,
                 f"model.pooling.out_kernel_size={width!r} must be odd (the scores keep one per position)")
        bias = model["pooling"].get("conv_bias", True)
        need(isinstance(bias, bool), f"model.pooling.conv_bias={bias!r} must be true or false")
    integer("head.layers", 0, 8)
    integer("head.units", 1, 65536)
    dropout = _get(model, "head.dropout")
    need(isinstance(dropout, (int, float)) and 0 <= dropout < 1, f"model.head.dropout={dropout!r} must be in [0, 1)")

    if rnn != "none" and rnn_layers == 0:
        problems.append(f"model.rnn.kind={rnn!r} with model.rnn.layers=0: use model/rnn=none for no recurrent layer")
    if rnn != "none" and rnn_output == "last" and pooling != "flatten":
        problems.append(
            f"model.pooling.kind={pooling!r} pools over positions, but model.rnn.output='last' leaves a single "
            "vector: use model.pooling.kind='flatten' or model.rnn.output='sequence'"
        )

    if seq_len is not None and not problems:
        length = trunk_len if reduction == "none" else trunk_len // stride
        if length < 1:
            problems.append(
                f"model.reduction.kind={reduction!r} with model.reduction.stride={stride} leaves no positions "
                f"of a {seq_len}-bp input"
            )
        elif pooling == "flatten" and not (rnn != "none" and rnn_output == "last"):
            channels = model["stem"]["layers"][-1]["filters"] if explicit else _get(model, "stem.filters")
            if rnn != "none":
                channels = _get(model, "rnn.units") * (2 if _get(model, "rnn.bidirectional") else 1)
            features = length * channels
            limit = int(model.get("pooling", {}).get("max_flatten_features", 65536))
            if features > limit:
                problems.append(
                    f"model.pooling.kind='flatten' gives {features} features ({length} positions x {channels} "
                    f"channels) for a {seq_len}-bp input, over model.pooling.max_flatten_features={limit}: "
                    "reduce with model/reduction or pool globally"
                )

    if problems:
        raise ConfigError("illegal model config:\n  - " + "\n  - ".join(problems))
