"""The kernel table: one namespace of kernel primitives per device, built from :mod:`minidl.kernels.registry`.

(Not to be confused with :mod:`minidl.backend`, which is Keras's ``keras.backend`` module as scripts use it.)

The :class:`~minidl.autograd.Function` classes in :mod:`minidl.functional` write the forward and backward
math once and call primitives through ``kernel_table.of(array)``. Each device supplies the same names
(the contract in :mod:`minidl.kernels`) plus allocation helpers (``empty``, ``zeros``), so adding a device
means adding one entry here, not touching the ops.

- ``'cpu'``: NumPy arrays; every operation's ``cpu`` implementation, or its ``loops`` / ``reference`` one
  under :func:`minidl.kernels.use` or ``MINIDL_KERNELS`` (learner mode).
- ``'cuda'``: numba device arrays and every operation's ``cuda`` implementation; registered on first use,
  so ``import minidl`` needs neither a GPU nor numba-cuda.
"""
from __future__ import annotations

import types
from typing import Any

import numpy as np

from . import kernels
from .kernels import registry

__all__ = ["get", "of", "is_device_array", "DEVICES"]

DEVICES = ("cpu", "cuda")
_TABLE: dict[tuple[str, str], types.SimpleNamespace] = {}
_CPU_IMPL = {"fast": "cpu", "loops": "loops", "reference": "reference"}


def _never_keeps_cols(*shape: int) -> bool:
    return False


def _make_cpu(mode: str) -> types.SimpleNamespace:
    impl = _CPU_IMPL[mode]
    ns = types.SimpleNamespace(name="cpu", empty=np.empty, zeros=np.zeros)
    for op in registry.ops():
        if "cpu" not in registry.implementations(op):
            continue  # device-only primitives (kernels/array): NumPy itself on the CPU
        module = registry.load(op, impl)
        for fn in registry.functions(op):
            setattr(ns, fn, getattr(module, fn))
    # keeps_cols(c, f, kh, kw, sh, sw): whether the Conv2D Function should have conv2d_forward hand its
    # im2col matrix to conv2d_backward_kernel (only the fast path has one; see kernels/conv2d/cpu.py).
    ns.keeps_cols = registry.load("conv2d", "cpu").conv2d_keeps_cols if impl == "cpu" else _never_keeps_cols
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
    bn = registry.load("batchnorm", "cuda")  # batch norm (#14), from its own folder kernels/batchnorm/
    for fn in registry.functions("batchnorm"):
        setattr(ns, fn, getattr(bn, fn))
    return ns


def get(device: str) -> types.SimpleNamespace:
    """The primitives of ``device`` ('cpu' or 'cuda'); on 'cpu', those of the current kernel mode.

    Raises:
        ValueError: for an unknown device name.
        RuntimeError: for 'cuda' without numba-cuda or a GPU (the message says what to install).
    """
    key = (device, kernels.mode() if device == "cpu" else "")
    ns = _TABLE.get(key)
    if ns is None:
        if device == "cpu":
            ns = _make_cpu(key[1])
        elif device == "cuda":
            ns = _make_cuda()
        else:
            raise ValueError(f"unknown device {device!r}; known devices: {', '.join(DEVICES)}")
        _TABLE[key] = ns
    return ns


def is_device_array(array: Any) -> bool:
    """Whether ``array`` lives on an accelerator (a numba device array, real GPU or simulator): the one
    definition minidl uses to tell device arrays from host data (NumPy arrays, scalars, lists)."""
    return hasattr(array, "copy_to_host") and not isinstance(array, np.ndarray)


def of(array: Any) -> types.SimpleNamespace:
    """The kernel namespace that owns ``array`` (NumPy arrays are 'cpu', everything else 'cuda')."""
    return get("cuda") if is_device_array(array) else get("cpu")
