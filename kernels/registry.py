"""The registry of kernel implementations: for every operation folder under ``kernels/``, the
implementations it holds (``reference``, ``loops``, ``cpu``, ``cuda``, and extra fast paths such as
conv2d's ``direct``), loaded only when asked for.

An operation folder declares itself in its ``__init__.py``::

    FUNCTIONS = ("maxpool2d_forward", "maxpool2d_backward")               # the contract's names
    IMPLEMENTATIONS = {"reference": "reference", "loops": "loops",        # name -> module in the folder
                       "cpu": "cpu", "cuda": "cuda"}

so a new folder (e.g. ``kernels/batchnorm/``) is found without editing this file. The kernel table of
minidl (``minidl/kernel_table.py``) builds each device's namespace from here: 'cpu' takes the ``cpu``
implementation of every operation (or the one :func:`minidl.kernels.use` asks for), 'cuda' the ``cuda``
one. The kernel tests run every implementation of an operation against its ``reference``.
"""
from __future__ import annotations

import importlib
import pkgutil
import types
from functools import lru_cache

__all__ = ["ops", "functions", "implementations", "load", "supports"]

_PACKAGE = __name__.rsplit(".", 1)[0]  # 'minidl.kernels' when installed, 'kernels' from a checkout
_NOT_OPS = {"registry", "runtime", "common", "cuda_runtime", "blas", "shapes", "cpu", "cuda", "reference"}


@lru_cache(maxsize=None)
def _op_package(op: str) -> types.ModuleType:
    return importlib.import_module(f"{_PACKAGE}.{op}")


@lru_cache(maxsize=None)
def ops() -> tuple[str, ...]:
    """The operation folders, sorted by name."""
    pkg = importlib.import_module(_PACKAGE)
    found = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.ispkg and info.name not in _NOT_OPS and hasattr(_op_package(info.name), "IMPLEMENTATIONS"):
            found.append(info.name)
    return tuple(sorted(found))


def _check_op(op: str) -> None:
    if op not in ops():
        raise ValueError(f"unknown kernel operation {op!r}; known operations: {', '.join(ops())}")


def functions(op: str) -> tuple[str, ...]:
    """The contract's function names of ``op``."""
    _check_op(op)
    return tuple(_op_package(op).FUNCTIONS)


def implementations(op: str) -> tuple[str, ...]:
    """The implementation names of ``op`` (e.g. ``('reference', 'loops', 'cpu', 'cuda')``)."""
    _check_op(op)
    return tuple(_op_package(op).IMPLEMENTATIONS)


def load(op: str, impl: str) -> types.ModuleType:
    """The module implementing ``op`` as ``impl`` (imported now; 'cuda' needs numba-cuda).

    Raises:
        ValueError: for an unknown operation or implementation name (listing the known ones).
    """
    impls = _op_package(op).IMPLEMENTATIONS if op in ops() else _check_op(op)
    if impl not in impls:
        raise ValueError(f"operation {op!r} has no implementation {impl!r}; it has: {', '.join(impls)}")
    return importlib.import_module(f"{_PACKAGE}.{op}.{impls[impl]}")


def supports(module: types.ModuleType, **shape: int) -> bool:
    """Whether an implementation handles a case: modules restricted to some shapes (conv2d's direct
    paths) define ``supports(**shape)``; every other implementation handles every shape."""
    fn = getattr(module, "supports", None)
    return True if fn is None else bool(fn(**{k: shape[k] for k in fn.__code__.co_varnames[:fn.__code__.co_argcount]}))
