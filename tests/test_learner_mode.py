"""Learner mode: MINIDL_KERNELS=loops / minidl.kernels.use("loops") run whole models on the readable
kernels (kernels/<op>/loops.py) with the same results as the fast ones, within float rounding."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minidl
from minidl import kernel_table, kernels, layers


def _train(mode: str):
    with kernels.use(mode):
        minidl.random.seed(0)
        model = minidl.Sequential([
            layers.Input((8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu"),            # one channel, few filters: the direct path
            layers.MaxPooling2D(2),
            layers.Conv2D(20, 3, padding="same", activation="relu"),  # im2col + GEMM
            layers.Flatten(),
            layers.Dropout(0.2, seed=1),
            layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.standard_normal((16, 8, 8, 1)).astype("float32")
        y = rng.integers(0, 3, 16)
        hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
        return hist.history["loss"], model.get_weights(), model.predict(x, verbose=0)


def test_a_small_cnn_trains_the_same_on_the_readable_kernels():
    loss_fast, w_fast, p_fast = _train("fast")
    loss_loops, w_loops, p_loops = _train("loops")
    assert kernels.mode() == "fast"
    np.testing.assert_allclose(loss_loops, loss_fast, rtol=1e-5)
    for a, b in zip(w_loops, w_fast):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p_loops, p_fast, rtol=1e-4, atol=1e-6)
    assert not np.allclose(w_fast[0], _initial_kernel())  # training moved the weights: a real comparison


def _initial_kernel():
    minidl.random.seed(0)
    layer = layers.Conv2D(4, 3)
    layer.build((None, 8, 8, 1))
    return layer.get_weights()[0]


def test_use_switches_the_kernel_table_and_restores_it_on_error():
    fast_conv = kernel_table.get("cpu").conv2d_forward
    with pytest.raises(RuntimeError):
        with kernels.use("loops"):
            assert kernel_table.get("cpu").conv2d_forward.__module__.endswith("conv2d.loops")
            assert kernel_table.get("cpu").keeps_cols(3, 8, 3, 3, 1, 1) is False
            raise RuntimeError("boom")
    assert kernel_table.get("cpu").conv2d_forward is fast_conv


@pytest.mark.parametrize("value, expect", [("loops", "loops"), ("reference", "reference"), ("", "fast")])
def test_the_environment_variable_selects_the_kernels(value, expect):
    env = dict(os.environ, MINIDL_KERNELS=value)
    out = subprocess.run([sys.executable, "-c", "import minidl.kernels as k; print(k.mode())"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expect


def test_an_unknown_environment_value_is_a_clear_error():
    env = dict(os.environ, MINIDL_KERNELS="slow")
    out = subprocess.run([sys.executable, "-c", "import minidl.kernels"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "MINIDL_KERNELS must be one of 'fast', 'loops', 'reference', got 'slow'" in out.stderr
