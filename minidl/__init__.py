"""minidl: a small deep-learning framework written from scratch on NumPy and Numba.

Start with :class:`minidl.Tensor` (autograd), :mod:`minidl.functional` (differentiable ops backed by
hand-written kernels) and :class:`minidl.Sequential` (the Keras-like API). Submodules are imported on
first use, so ``import minidl`` stays fast.
"""
from __future__ import annotations

import importlib
import os

# Numba's OpenMP threads spin for milliseconds after each parallel region and starve the BLAS threads of
# the GEMM that follows (im2col -> GEMM -> bias ...). Passive waiting made a CNN training epoch 5.9x
# faster on a 2-core machine (3.17 s -> 0.54 s, bench/RESULTS.md). It must be set before numba loads
# its threading layer; setdefault leaves a user's own choice alone.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .ops import (
    abs, clip, concatenate, exp, log, matmul, maximum, mean, minimum, reshape, sqrt, stack, sum,
    transpose, where,
)

__version__ = "0.1.0"

_SUBMODULES = {
    "ops", "functional", "testing", "layers", "models", "losses", "optimizers", "metrics", "callbacks",
    "utils", "cluster", "decomposition", "cluster_metrics", "datasets", "viz", "kernel_table", "initializers",
    "device", "random", "symbolic", "regularizers", "backend", "preprocessing", "data_adapters",
}
_LAZY = {"Sequential": ("models", "Sequential"), "load_model": ("models", "load_model"), "Input": ("layers", "Input"),
         "Model": ("models", "Model"), "KerasTensor": ("symbolic", "KerasTensor"),
         "InputSpec": ("layers", "InputSpec")}

__all__ = [
    "Tensor", "Function", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "Sequential", "Model", "load_model", "Input",
    "KerasTensor", "InputSpec",
    "abs", "clip", "concatenate", "exp", "log", "matmul", "maximum", "mean", "minimum", "reshape", "sqrt",
    "stack", "sum", "transpose", "where",
]


def __getattr__(name: str):
    # PEP 562: heavy submodules (Numba kernels, matplotlib) load only when first used.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{mod}", __name__), attr)
    raise AttributeError(f"module 'minidl' has no attribute {name!r}")
