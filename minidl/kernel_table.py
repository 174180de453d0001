"""The kernel table: one namespace of kernel primitives per device.

(Not to be confused with :mod:`minidl.backend`, which is Keras's ``keras.backend`` module as scripts use it.)

The :class:`~minidl.autograd.Function` classes in :mod:`minidl.functional` write the forward and backward
math once and call primitives through ``kernel_table.of(array)``. Each device supplies the same names
(the contract in :mod:`minidl.kernels`) plus allocation helpers (``empty``, ``zeros``), so adding a device
means adding one entry here, not touching the ops.

- ``'cpu'``: NumPy arrays and :mod:`minidl.kernels.cpu` (Numba).
- ``'cuda'``: numba device arrays and :mod:`minidl.kernels.cuda`; registered on first use, so
  ``import minidl`` needs neither a GPU nor numba-cuda.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np

__all__ = ["get", "of", "DEVICES"]

DEVICES = ("cpu", "cuda")
_TABLE: dict[str, types.SimpleNamespace] = {}


def _make_cpu() -> types.SimpleNamespace:
    from .kernels import cpu

    # keeps_cols(c, f, kh, kw, sh, sw): whether the Conv2D Function should have conv2d_forward hand its
    # im2col matrix to conv2d_backward_kernel (only shallow windows; see kernels/cpu.py).
    ns = types.SimpleNamespace(name="cpu", empty=np.empty, zeros=np.zeros, keeps_cols=cpu.conv2d_keeps_cols)
    for fn in cpu.__all__:
        setattr(ns, fn, getattr(cpu, fn))
    from .kernels.batchnorm import loops as bn_loops  # batch norm (#14): its own folder of kernels

    for fn in bn_loops.__all__:
        setattr(ns, fn, getattr(bn_loops, fn))
    return ns


def _make_cuda() -> types.SimpleNamespace:
    try:
        from .kernels import cuda
    except ImportError as err:  # numba-cuda missing
        raise RuntimeError(
            "device 'cuda' needs the numba-cuda package: pip install -e \".[cuda]\" "
            f"(or set NUMBA_ENABLE_CUDASIM=1 for the simulator); import failed with: {err}"
        ) from err
    if not cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was asked for but no CUDA GPU is available; install an NVIDIA driver and "
            "numba-cuda (pip install -e \".[cuda]\"), or set NUMBA_ENABLE_CUDASIM=1 before importing "
            "numba to use the (slow) CUDA simulator"
        )
    ns = types.SimpleNamespace(name="cuda", empty=cuda.empty, zeros=cuda.zeros)
    for fn in cuda.__all__:
        setattr(ns, fn, getattr(cuda, fn))
    from .kernels.batchnorm import cuda as bn_cuda

    for fn in bn_cuda.__all__:
        setattr(ns, fn, getattr(bn_cuda, fn))
    return ns


def get(device: str) -> types.SimpleNamespace:
    """The primitives of ``device`` ('cpu' or 'cuda').

    Raises:
        ValueError: for an unknown device name.
        RuntimeError: for 'cuda' without numba-cuda or a GPU (the message says what to install).
    """
    ns = _TABLE.get(device)
    if ns is None:
        if device == "cpu":
            ns = _make_cpu()
        elif device == "cuda":
            ns = _make_cuda()
        else:
            raise ValueError(f"unknown device {device!r}; known devices: {', '.join(DEVICES)}")
        _TABLE[device] = ns
    return ns


def of(array: Any) -> types.SimpleNamespace:
    """The kernel namespace that owns ``array`` (NumPy arrays are 'cpu', everything else 'cuda')."""
    return get("cpu") if isinstance(array, np.ndarray) else get("cuda")
