"""Devices: where a tensor's numbers live ('cpu' or 'cuda') and how to move them.

The design, in five points:

1. A device is nothing but the *type of the array* inside a :class:`~minidl.Tensor`: a NumPy array is on
   'cpu', a numba device array (``numba.cuda``, or its simulator) is on 'cuda'. There is no device field
   to keep in sync; ``tensor.device`` just looks at ``tensor.data``.
2. The math is written once. The Function classes in :mod:`minidl.functional` call kernels through
   :func:`minidl.kernel_table.of` (the kernel table picks every operation's ``cpu`` or ``cuda``
   implementation from :mod:`minidl.kernels.registry` by array type), and the basic ops in
   :mod:`minidl.ops` call the array operations of :mod:`minidl.ops.arrays` (NumPy, or the generic device
   primitives: broadcasting element-wise ops, reductions, strided copies). Only those namespaces differ
   between devices; :func:`minidl.kernel_table.is_device_array` is the one test of where an array lives.
3. Data moves only when asked: :func:`to_device` (``tensor.to('cuda')``, ``model.to('cuda')``) copies; an
   op never copies silently. Operands on two devices raise ValueError naming both. One exception, as in
   PyTorch: 0-d host arrays (Python numbers, the loss value returned by the fused losses) are scalars and
   combine with tensors on any device.
4. A training step on 'cuda' keeps parameters, activations, gradients and optimizer slots on the GPU. What
   crosses to the host per step is small and deliberate: the batch going in, the loss value (one number,
   which the fused losses return as a host scalar), and the uniforms of dropout masks (drawn on the host
   from minidl's seeded generator so that 'cpu' and 'cuda' runs drop the same units).
5. numba.cuda is imported only on first use (through :func:`minidl.kernel_table.get`), so ``import minidl`` needs
   neither a GPU nor numba-cuda; asking for 'cuda' without either raises RuntimeError saying what to
   install.

Public helpers: :func:`to_device` for arrays, :func:`device_of`, and :func:`move_model`, which moves a
model's parameters (data and gradients) and its optimizer's slots in place.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import kernel_table

__all__ = ["to_device", "device_of", "move_model", "check_device"]


def device_of(array: Any) -> str:
    """'cpu' for a NumPy array, 'cuda' for anything else (a device array)."""
    return "cuda" if kernel_table.is_device_array(array) else "cpu"


def check_device(device: str) -> str:
    """``device`` itself when it is a known device name; ValueError listing the known ones otherwise."""
    if device not in kernel_table.DEVICES:
        raise ValueError(f"unknown device {device!r}; known devices: {', '.join(kernel_table.DEVICES)}")
    return device


def to_device(array: Any, device: str) -> Any:
    """``array`` on ``device``: the same object when it is already there, else a copy.

    Accepts NumPy arrays, anything ``np.asarray`` understands, and device arrays. Host data is made
    C-contiguous before it goes to the GPU.

    Raises:
        ValueError: for an unknown device name.
        RuntimeError: for 'cuda' without numba-cuda or a GPU (the message says what to install).
    """
    on_device = kernel_table.is_device_array(array)
    if device == "cpu":
        return array.copy_to_host() if on_device else np.asarray(array)
    B = kernel_table.get(check_device(device))
    return array if on_device else B.to_device(np.asarray(array))


def _params_of(model: Any) -> list:
    """The parameter tensors of a model, a layer, or a plain list of tensors."""
    if isinstance(model, (list, tuple)):
        return list(model)
    for name in ("parameters", "trainable_weights", "weights"):
        attr = getattr(model, name, None)
        if attr is not None:
            params = attr() if callable(attr) else attr
            return list(params)
    raise TypeError(f"move_model: cannot find the parameters of {type(model).__name__}")


def move_model(model: Any, device: str, optimizer: Any = None) -> Any:
    """Moves every parameter of ``model`` to ``device`` in place, and the optimizer's slot state with it.

    The parameter *tensors* stay the same objects (layers, optimizers and callbacks keep their
    references); only their ``data`` and ``grad`` arrays are replaced by copies on ``device``. Optimizer
    slots (momentum, Adam's m and v, ...) are kept by the optimizers in ``optimizer._slots``, a dict
    ``id(param) -> (weak reference to param, {name: array})``; they are moved too, so training continues exactly where it
    stopped. ``optimizer`` defaults to ``model.optimizer`` when the model has one.

    Args:
        model: a Sequential model, a layer, or a list of parameter tensors.
        device: 'cpu' or 'cuda'.

    Returns:
        ``model``, so that ``model = move_model(model, 'cuda')`` reads naturally.
    """
    check_device(device)
    for p in _params_of(model):
        p.data = to_device(p.data, device)
        if p.grad is not None:
            p.grad = to_device(p.grad, device)
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
    slots = getattr(optimizer, "_slots", None)
    if isinstance(slots, dict):
        for key, (param, state) in list(slots.items()):
            slots[key] = (param, {name: to_device(arr, device) for name, arr in state.items()})
    return model
