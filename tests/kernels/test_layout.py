"""The kernels' layout holds: kernels/ never imports minidl, every operation folder has its reference,
readable, fast and CUDA versions with the contract's names, and the kernel table serves every name."""
from __future__ import annotations

import ast
import pathlib

import pytest

from minidl import kernel_table, kernels
from minidl.kernels import registry

KERNELS = pathlib.Path(kernels.__file__).parent


def test_kernels_never_import_minidl():
    offenders = []
    for path in sorted(KERNELS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(KERNELS)}:{node.lineno} imports {n}" for n in names
                          if n == "minidl" or n.startswith("minidl.")]
    assert offenders == []


def test_the_scan_above_catches_an_import(tmp_path):
    """The detector itself: both import forms are found (a test that can fail)."""
    for src in ("import minidl\n", "from minidl.ops import add\n"):
        tree = ast.parse(src)
        node = tree.body[0]
        name = node.names[0].name if isinstance(node, ast.Import) else node.module
        assert name == "minidl" or name.startswith("minidl.")


@pytest.mark.parametrize("op", registry.ops())
def test_every_operation_has_its_versions(op):
    impls = registry.implementations(op)
    assert "reference" in impls and "cuda" in impls
    if op != "array":  # the generic device primitives: NumPy itself is the CPU version
        assert {"loops", "cpu"} <= set(impls)
    for impl in impls:
        if impl == "cuda":
            continue  # imported in tests/kernels/test_cuda.py (simulator)
        module = registry.load(op, impl)
        assert module.__doc__ and len(module.__doc__) > 40
        names = [fn for fn in registry.functions(op) if hasattr(module, fn)]
        if not hasattr(module, "supports"):  # a partial path (conv2d's direct loops) covers some functions
            assert names == list(registry.functions(op)), (op, impl)
        assert names and all(n in module.__all__ for n in names)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="known operations"):
        registry.functions("nope")
    with pytest.raises(ValueError, match="has no implementation 'gpu'"):
        registry.load("conv2d", "gpu")
    with pytest.raises(ValueError, match="'fast', 'loops', 'reference'"):
        with kernels.use("slow"):
            pass


@pytest.mark.parametrize("mode", kernels.MODES)
def test_kernel_table_serves_the_contract_in_every_mode(mode):
    with kernels.use(mode):
        ns = kernel_table.get("cpu")
        impl = {"fast": "cpu", "loops": "loops", "reference": "reference"}[mode]
        for op in registry.ops():
            if op == "array":
                continue
            for fn in registry.functions(op):
                assert getattr(ns, fn) is getattr(registry.load(op, impl), fn)
    assert kernels.mode() == "fast"


def test_release_scratch_frees_the_calling_threads_buffers():
    import numpy as np

    from minidl.kernels import cpu, runtime

    x, w = np.ones((2, 9, 9, 3), np.float32), np.ones((3, 3, 3, 4), np.float32)
    cpu.conv2d_forward(x, w, np.zeros(4, np.float32), np.empty((2, 7, 7, 4), np.float32), 1, 1, 0, 0)
    assert getattr(runtime._tls, "bufs", {})  # the im2col path borrowed a scratch buffer
    cpu.release_scratch()
    assert runtime._tls.bufs == {}
