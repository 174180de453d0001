"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""
from __future__ import annotations

from typing import Any, Callable

from ..layers import _shape_str

__all__ = ["print_summary", "layer_macs"]


def _readable_size(n_bytes: float) -> str:
    units = ["Byte", "KB", "MB", "GB", "TB"]
    i = 0
    while n_bytes >= 1024 and i < len(units) - 1:
        n_bytes /= 1024
        i += 1
    return f"{n_bytes:.2f} {units[i]}"


def layer_macs(layer: Any, output_shape: Any = None) -> int:
    """Multiply-adds of one sample's forward pass through ``layer`` (the ``show_macs`` column).

    Counted where the arithmetic is: ``Dense`` (in·units per output position), ``DenseTranspose`` (the same,
    on the tied kernel), ``TiedAutoencoder`` (2·D·units), ``Conv2D`` (H_out·W_out·kh·kw·C_in·F) and
    ``Conv2DTranspose`` (H_in·W_in·kh·kw·F·C_in, one scatter per input pixel); a layer holding other layers
    (a model, a custom block) is the sum of its sub-layers at the shapes they were built for. Element-wise
    layers, pooling and normalization count 0, as in the usual MAC tables.
    """
    from ..layers import Conv2D, Conv2DTranspose, Dense, DenseTranspose, TiedAutoencoder

    def positions(shape: Any) -> int:  # output positions a per-position product runs over (batch excluded)
        if not isinstance(shape, tuple) or len(shape) < 2:
            return 1
        n = 1
        for d in shape[1:-1]:
            n *= int(d)
        return n

    shape = getattr(layer, "output_shape", None) if output_shape is None else output_shape
    if isinstance(layer, Conv2DTranspose):
        kh, kw, f, c = layer.kernel.shape
        return positions(layer.input_shape) * kh * kw * f * c
    if isinstance(layer, Conv2D):
        kh, kw, c, f = layer.kernel.shape
        return positions(shape) * kh * kw * c * f
    if isinstance(layer, (Dense, DenseTranspose)):
        kernel = layer.kernel if isinstance(layer, Dense) else layer.tied_to.kernel
        return positions(shape) * int(kernel.shape[0]) * int(kernel.shape[1])
    if isinstance(layer, TiedAutoencoder):
        return 2 * int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    return sum(layer_macs(sub) for sub in layer._sublayers() if getattr(sub, "built", False))


def _shapes_str(shapes: list) -> str:
    return _shape_str(shapes[0]) if len(shapes) == 1 else "[" + ", ".join(_shape_str(x) for x in shapes) + "]"


def _graph_rows(model: Any) -> tuple[list[tuple[str, ...]], bool]:
    """Rows (name (type), output shape, params, connections) of a functional model, and whether the graph
    is a plain chain (Keras then leaves out the "Connected to" column)."""
    mine = {id(n) for n in model._nodes}
    depths = model._node_depth
    by_depth: dict[int, int] = {}
    chain = True
    for node in model._nodes:
        d = depths.get(id(node), 0)
        by_depth[d] = by_depth.get(d, 0) + 1
        if by_depth[d] > 1 or len(node.input_tensors) > 1:
            chain = False
    rows = []
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in mine]
        if len(nodes) > 1:
            chain = False
        if not nodes:  # an InputLayer
            shapes = [t.shape for t in layer._inbound_nodes[0].output_tensors]
            rows.append((f"{layer.name} ({type(layer).__name__})", _shapes_str(shapes), str(layer.count_params()), "-"))
            continue
        node_shapes = [[t.shape for t in n.output_tensors] for n in nodes]
        shape = _shapes_str(node_shapes[0]) if all(ns == node_shapes[0] for ns in node_shapes) else "multiple"
        links = []
        for n in nodes:
            for t in n.input_tensors:
                src, i, j = t._keras_history
                links.append(f"{src.name}[{i}][{j}]")
        rows.append((f"{layer.name} ({type(layer).__name__})", shape, str(layer.count_params()), *links))
    return rows, chain


def print_summary(model: Any, print_fn: Callable[[str], Any] = print, line_length: int | None = None,
                  show_macs: bool = False) -> None:
    """Prints Keras's table for a built ``model``: layer (type), output shape, parameter count, and for a
    functional graph that is not a chain the "Connected to" column (``layer[node][tensor]`` of each input);
    then the totals (trainable and not), with their sizes in the weights' dtype.

    Parameter counts are Keras's: every weight once (shared layers too), trainable or not. With
    ``show_macs`` a "MACs" column after "Param #" gives each layer's multiply-adds for one sample
    (:func:`layer_macs`; a shared layer once per call) and a last line their total.
    """
    from .._validate import check_bool

    show_macs = check_bool(show_macs, "summary: show_macs")
    if getattr(model, "_subclassed", False):  # no graph: each layer with the shape it was built for
        rows, chain = [(f"{l.name} ({type(l).__name__})", _shape_str(l.output_shape) if l.built and
                        isinstance(l.output_shape, tuple) else "?", str(l.count_params())) for l in model.layers], True
    elif hasattr(model, "_nodes"):
        rows, chain = _graph_rows(model)
    else:
        rows, chain = [], True
        shape = model.input_shape
        for layer in model.layers:
            shape = layer.compute_output_shape(shape)
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape_str(shape), str(layer.count_params())))
    given_length = line_length
    if chain:
        rows = [r[:3] for r in rows]
        header: tuple[str, ...] = ("Layer (type)", "Output Shape", "Param #")
        line_length = line_length or 65
        stops = [0.45, 0.85, 1.0]
    else:
        header = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        line_length = line_length or 98
        stops = [0.33, 0.55, 0.67, 1.0]
    total_macs = 0
    if show_macs:
        macs = _macs_per_row(model)
        total_macs = sum(macs)
        rows = [(*r[:3], f"{m:,}", *r[3:]) for r, m in zip(rows, macs)]
        header = (*header[:3], "MACs", *header[3:])
        line_length = given_length + 15 if given_length else (80 if chain else 113)
        stops = [0.35, 0.65, 0.8, 1.0] if chain else [0.28, 0.46, 0.56, 0.68, 1.0]
    # Keras's column stops (fractions of the line); a column widens when an entry does not fit.
    ends = [int(line_length * f) for f in stops]
    widths = [e - b for b, e in zip([0, *ends[:-1]], ends)]
    for c in range(len(header) - 1):
        widths[c] = max(widths[c], max([len(header[c])] + [len(r[c]) for r in rows]) + 2)
    last = len(header) - 1
    widths[last] = max(widths[last], max([len(header[last])] + [len(x) for r in rows for x in r[last:]]) + 1)
    width = sum(widths)

    def row(cells: tuple[str, ...]) -> list[str]:
        first = [cells[0] if i == 0 else cells[i] if i < len(cells) else "" for i in range(len(header))]
        lines = [(" " + first[0]).ljust(widths[0]) + "".join(first[i].ljust(widths[i]) for i in range(1, len(header)))]
        for extra in cells[len(header):]:  # more connections: one per line, in the last column
            lines.append(" " * sum(widths[:-1]) + extra.ljust(widths[-1]))
        return lines

    trainable = sum(w.size for w in model.trainable_weights)
    total = model.count_params()
    item = model.dtype.itemsize
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * width)
    for line in row(header):
        print_fn(line)
    print_fn("=" * width)
    for i, r in enumerate(rows):
        for line in row(r):
            print_fn(line)
        if i < len(rows) - 1:
            print_fn(" " * width if chain else "_" * width)
    print_fn("=" * width)
    print_fn(f"Total params: {total} ({_readable_size(total * item)})")
    print_fn(f"Trainable params: {trainable} ({_readable_size(trainable * item)})")
    print_fn(f"Non-trainable params: {total - trainable} ({_readable_size((total - trainable) * item)})")
    if show_macs:
        print_fn(f"Multiply-adds (one sample): {total_macs:,}")
    print_fn("_" * width)


def _macs_per_row(model: Any) -> list[int]:
    """:func:`layer_macs` for each row of the table, in row order (the rows :func:`print_summary` makes)."""
    if getattr(model, "_subclassed", False):  # no graph: each layer at the shape it was built for
        return [layer_macs(layer) for layer in model.layers]
    if not hasattr(model, "_nodes"):  # Sequential: the shapes its table shows
        shape, out = model.input_shape, []
        for layer in model.layers:
            shape = layer.compute_output_shape(shape)
            out.append(layer_macs(layer, shape))
        return out
    mine = {id(n) for n in model._nodes}
    out = []
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in mine]
        out.append(sum(layer_macs(layer, n.output_tensors[0].shape) for n in nodes))
    return out
