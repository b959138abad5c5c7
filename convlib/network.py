"""Shapes, parameter counts and receptive fields through a whole network, without running it.

A network is written as a list of small layer records (:class:`Conv2D`, :class:`MaxPool2D`,
:class:`Dense`, :class:`Residual`, ...). :func:`trace` walks the list for one input shape
``(C, H, W)`` and returns a :class:`Trace`: one row per layer with its output shape, its
parameter count and, per spatial axis, the receptive field ``r``, the effective stride
("jump") ``j`` and the start offset (the centre of the first output's receptive field, in
input pixel coordinates where pixel ``i`` has its centre at ``i``). For a window layer with
dilated size ``k_eff``, stride ``s`` and ``p_before`` cells of padding,

    r_out = r_in + (k_eff - 1) * j_in
    j_out = j_in * s
    start_out = start_in + ((k_eff - 1) / 2 - p_before) * j_in

so output position ``u`` sees the input interval ``start + u*j +- (r - 1)/2``. Every size
comes from :mod:`convlib.shapes`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .padding import check_positive_int
from .records import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    Layer,
    MaxPool2D,
    ReLU,
    Residual,
    Sequential,
)
from .shapes import WindowAxis, conv_axes, pool_axes

__all__ = ["Row", "Trace", "trace", "iter_layers"]  # the layer records live in convlib.records


@dataclass(frozen=True)
class Axis:
    """Receptive-field state along one spatial axis of the current feature grid."""

    size: int
    rf: int = 1
    jump: int = 1
    start: float = 0.0


@dataclass(frozen=True)
class _State:
    shape: tuple[int, ...]
    axes: tuple[Axis, Axis]


@dataclass(frozen=True)
class Row:
    """One traced layer: its output shape, parameters and receptive field per axis (H, W)."""

    name: str
    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    rf: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[float, float]
    pads: tuple[tuple[int, int], tuple[int, int]] | None = None


@dataclass(frozen=True)
class Trace:
    """The result of :func:`trace`: the rows in execution order, and totals."""

    input_shape: tuple[int, int, int]
    rows: tuple[Row, ...] = field(default_factory=tuple)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape if self.rows else self.input_shape

    def __getitem__(self, name: str) -> Row:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no layer named {name!r} in this trace")

    def table(self) -> str:
        """The rows as a fixed-width text table, with the total parameter count.

        ``rf``, ``jump`` and ``start`` show one number where height and width agree.
        """
        head = ("layer", "kind", "output", "params", "rf", "jump", "start")
        body = [
            (
                r.name,
                r.kind,
                _x(r.output_shape),
                f"{r.params:,}",
                _axes(r.rf),
                _axes(r.jump),
                _axes([f"{s:g}" for s in r.start], ", "),
            )
            for r in self.rows
        ]
        widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]
        # Parameter counts (column 3) read best right-aligned.
        lines = [
            "  ".join(
                c.rjust(w) if i == 3 else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
            for line in [head, *body]
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"input {_x(self.input_shape)}, total params {self.total_params:,}")
        return "\n".join(line.rstrip() for line in lines)

    def to_dict(self) -> dict:
        """Plain lists and numbers, ready for ``json.dumps``."""
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "layers": [_jsonable(asdict(r)) for r in self.rows],
        }


def _x(values) -> str:
    return "x".join(str(v) for v in values)


def _axes(values, sep: str = "x") -> str:
    """One value where height and width agree (the table stays narrow), else both."""
    return str(values[0]) if values[0] == values[1] else sep.join(str(v) for v in values)


def _jsonable(value):
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def trace(spec, input_shape: tuple[int, int, int]) -> Trace:
    """Trace shapes, parameter counts and receptive fields through ``spec``.

    Parameters
    ----------
    spec : list of layer records, or Sequential
        The network, e.g. ``convlib.zoo.resnet50()``.
    input_shape : (int, int, int)
        ``(C, H, W)``, without the batch axis.

    Returns
    -------
    Trace
        One :class:`Row` per layer (and one per residual addition), in execution order.

    Raises
    ------
    ValueError
        For a malformed input shape, or a layer that cannot take its input: a kernel larger
        than the padded input, channels not divisible by ``groups``, a residual whose two
        branches disagree, or a :class:`Dense` whose fixed ``in_features`` differs from the
        flattened size. The message names the layer and the sizes involved.
    TypeError
        For an entry of ``spec`` that is not a layer record.

    Shape
    -----
    Per spatial axis of each window layer,
    ``H_out = floor((H + p_top + p_bottom - d*(k-1) - 1) / s) + 1`` (see :mod:`convlib.shapes`).

    Examples
    --------
    >>> t = trace([Conv2D(8, 3, stride=2, padding=1), MaxPool2D(2)], (3, 10, 11))
    >>> [(r.output_shape, r.rf, r.jump, r.start) for r in t.rows]
    [((8, 5, 6), (3, 3), (2, 2), (0.0, 0.0)), ((8, 2, 3), (5, 5), (4, 4), (1.0, 1.0))]
    >>> t.total_params
    224
    """
    shape = _check_input_shape(input_shape)
    rows: list[Row] = []
    state = _State(shape, (Axis(shape[1]), Axis(shape[2])))
    layers = spec.layers if isinstance(spec, Sequential) else spec
    _run_sequence(layers, state, "", rows)
    return Trace(shape, tuple(rows))


def iter_layers(spec, prefix: str = ""):
    """Yield ``(name, layer)`` for every record, containers included, in execution order.

    Names join the path with dots, as :func:`trace` and ``torch``'s ``named_modules`` do.
    """
    for i, layer in enumerate(spec.layers if isinstance(spec, Sequential) else spec):
        name = f"{prefix}{layer.name if getattr(layer, 'name', None) is not None else i}"
        yield name, layer
        if isinstance(layer, Sequential):
            yield from iter_layers(layer.layers, name + ".")
        elif isinstance(layer, Residual):
            yield from iter_layers(layer.main, name + ".main.")
            yield from iter_layers(layer.shortcut, name + ".shortcut.")


def _check_input_shape(input_shape) -> tuple[int, int, int]:
    if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__len__") or len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape!r}")
    names = ("channels", "height", "width")
    return tuple(check_positive_int(v, f"input_shape {n}") for v, n in zip(input_shape, names, strict=True))


def _run_sequence(layers, state: _State, prefix: str, rows: list[Row]) -> _State:
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"network entry {prefix}{i} must be a layer record, got {type(layer).__name__}")
        name = f"{prefix}{layer.name if layer.name is not None else i}"
        if isinstance(layer, Sequential):
            state = _run_sequence(layer.layers, state, name + ".", rows)
        elif isinstance(layer, Residual):
            state = _run_residual(layer, state, name, rows)
        else:
            try:
                new, params, pads = _apply(layer, state)
            except ValueError as err:
                raise ValueError(
                    f"layer {name} ({type(layer).__name__}) on input {state.shape}: {err}"
                ) from err
            rows.append(_row(name, type(layer).__name__, state, new, params, pads))
            state = new
    return state


def _row(name, kind, before: _State, after: _State, params, pads=None) -> Row:
    a = after.axes
    return Row(
        name,
        kind,
        before.shape,
        after.shape,
        params,
        (a[0].rf, a[1].rf),
        (a[0].jump, a[1].jump),
        (a[0].start, a[1].start),
        pads,
    )


def _run_residual(block: Residual, state: _State, name: str, rows: list[Row]) -> _State:
    main = _run_sequence(block.main, state, name + ".main.", rows)
    short = _run_sequence(block.shortcut, state, name + ".shortcut.", rows)
    if main.shape != short.shape:
        raise ValueError(
            f"residual block {name}: the main branch gives {main.shape} but the shortcut gives "
            f"{short.shape}; they must match to be added (use a projection shortcut, e.g. a 1x1 "
            f"Conv2D with the main branch's stride and channels)"
        )
    # The sum depends on the union of both branches' windows: take its bounding interval.
    axes = tuple(_union(m, s) for m, s in zip(main.axes, short.axes, strict=True))
    new = _State(main.shape, axes)
    rows.append(_row(name, "Residual", state, new, 0))
    return new


def _union(a: Axis, b: Axis) -> Axis:
    lo = min(a.start - (a.rf - 1) / 2, b.start - (b.rf - 1) / 2)
    hi = max(a.start + (a.rf - 1) / 2, b.start + (b.rf - 1) / 2)
    return Axis(a.size, int(round(hi - lo)) + 1, a.jump, (lo + hi) / 2)


def _slide(axis: Axis, g: WindowAxis) -> Axis:
    """Receptive field after one window layer (Araujo et al. 2019): size, jump, centre of the first."""
    return Axis(
        g.out,
        axis.rf + (g.window - 1) * axis.jump,
        axis.jump * g.stride,
        axis.start + ((g.window - 1) / 2 - g.before) * axis.jump,
    )


def _spatial(state: _State, kind: str) -> tuple[int, int, int]:
    if len(state.shape) != 3:
        raise ValueError(f"{kind} needs a (C, H, W) input, got the flat shape {state.shape}")
    return state.shape


def _windows(layer, state: _State, pool: bool):
    c, h, w = _spatial(state, type(layer).__name__)
    kw = dict(padding=layer.padding, dilation=layer.dilation)
    if pool:
        geo = pool_axes((h, w), layer.kernel, layer.stride, ceil_mode=layer.ceil_mode, **kw)
    else:
        geo = conv_axes((h, w), layer.kernel, stride=layer.stride, **kw)
    return c, tuple(_slide(state.axes[i], g) for i, g in enumerate(geo)), tuple(g.pads for g in geo)


def _apply(layer: Layer, state: _State):
    """One leaf layer: the new state, its parameter count and its pads (or None)."""
    if isinstance(layer, Conv2D):
        c, axes, pads = _windows(layer, state, pool=False)
        if c % layer.groups:
            raise ValueError(f"groups={layer.groups} must divide the {c} input channels")
        kh, kw = layer.kernel
        params = kh * kw * (c // layer.groups) * layer.filters + (layer.filters if layer.bias else 0)
        return _State((layer.filters, axes[0].size, axes[1].size), axes), params, pads
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        c, axes, pads = _windows(layer, state, pool=True)
        return _State((c, axes[0].size, axes[1].size), axes), 0, pads
    if isinstance(layer, GlobalAvgPool):
        c, h, w = _spatial(state, "GlobalAvgPool")
        # A window as large as the whole grid, stride 1, no padding.
        axes = tuple(
            _slide(a, WindowAxis(n, n, 1, 1, 0, 0, 1)) for a, n in zip(state.axes, (h, w), strict=True)
        )
        return _State((c, 1, 1), axes), 0, None
    if isinstance(layer, Flatten):
        size = 1
        for n in state.shape:
            size *= n
        return _State((size,), state.axes), 0, None
    if isinstance(layer, Dense):
        return _dense(layer, state)
    if isinstance(layer, BatchNorm):
        return state, 2 * state.shape[0], None  # gamma and beta; running statistics are not parameters
    if isinstance(layer, ReLU):
        return state, 0, None
    raise TypeError(f"unknown layer record {type(layer).__name__}")


def _dense(layer: Dense, state: _State):
    if len(state.shape) != 1:
        raise ValueError(
            f"Dense needs a flat input, got shape {state.shape}; put Flatten (or GlobalAvgPool "
            f"then Flatten) before it"
        )
    (n,) = state.shape
    if layer.in_features is not None and layer.in_features != n:
        raise ValueError(
            f"Dense expects {layer.in_features} input features but received {n}: the spatial "
            f"size reaching Flatten differs from the one the layer was built for (global "
            f"pooling before Flatten removes this limit)"
        )
    # Every output unit mixes all positions of the last grid: a window as large as the grid.
    axes = tuple(_slide(a, WindowAxis(a.size, a.size, 1, 1, 0, 0, 1)) for a in state.axes)
    return _State((layer.units,), axes), n * layer.units + (layer.units if layer.bias else 0), None
