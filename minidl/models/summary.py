"""``model.summary()``: Keras's table of layers, output shapes and parameter counts."""
from __future__ import annotations

from typing import Any, Callable

from ..layers import _shape_str

__all__ = ["print_summary"]


def _readable_size(n_bytes: float) -> str:
    units = ["Byte", "KB", "MB", "GB", "TB"]
    i = 0
    while n_bytes >= 1024 and i < len(units) - 1:
        n_bytes /= 1024
        i += 1
    return f"{n_bytes:.2f} {units[i]}"


def print_summary(model: Any, print_fn: Callable[[str], Any] = print, line_length: int = 65) -> None:
    """Prints Keras's table for a built ``model``: layer (type), output shape, parameter count; then the
    totals (trainable and not), with their sizes in the weights' dtype."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    shape = model.input_shape
    for layer in model.layers:
        shape = layer.compute_output_shape(shape)
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape_str(shape), str(layer.count_params())))
    # Keras's column stops (0.45, 0.85, 1.0 of the line); widen when a name does not fit.
    w0 = max(int(line_length * 0.45), max(len(r[0]) for r in rows) + 2)
    w1 = max(int(line_length * 0.85) - int(line_length * 0.45), max(len(r[1]) for r in rows) + 2)
    w2 = max(line_length - int(line_length * 0.85), max(len(r[2]) for r in rows) + 1)
    width = w0 + w1 + w2

    def row(r: tuple[str, str, str]) -> str:
        return (" " + r[0]).ljust(w0) + r[1].ljust(w1) + r[2].ljust(w2)

    trainable = sum(w.size for w in model.trainable_weights)
    total = model.count_params()
    item = model.dtype.itemsize
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * width)
    print_fn(row(rows[0]))
    print_fn("=" * width)
    for i, r in enumerate(rows[1:]):
        print_fn(row(r))
        if i < len(rows) - 2:
            print_fn(" " * width)
    print_fn("=" * width)
    print_fn(f"Total params: {total} ({_readable_size(total * item)})")
    print_fn(f"Trainable params: {trainable} ({_readable_size(trainable * item)})")
    print_fn(f"Non-trainable params: {total - trainable} ({_readable_size((total - trainable) * item)})")
    print_fn("_" * width)
