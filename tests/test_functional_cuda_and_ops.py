"""New layer ops under gradcheck over hypothesis shapes, and a functional model with batch norm on 'cuda'."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl import Tensor, layers as L
from minidl.functional.padding import pad2d
from minidl.kernels import cuda as kcuda
from minidl.models import Model
from minidl.testing import gradcheck
from minidl.utils import set_random_seed


@settings(max_examples=15)
@given(n=st.integers(1, 2), h=st.integers(2, 5), w=st.integers(2, 5), c=st.integers(1, 3), seed=st.integers(0, 999),
       merge=st.sampled_from(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]))
def test_merge_layers_gradcheck(n, h, w, c, seed, merge):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, h, w, c)), rng.standard_normal((n, h, w, c))
    b = np.where(np.abs(a - b) < 1e-2, b + 0.1, b)  # Maximum / Minimum: away from the kink a == b
    layer = getattr(L, merge)()
    assert gradcheck(lambda x, y: layer([x, y]), a, b)


@settings(max_examples=15)
@given(h=st.integers(2, 6), w=st.integers(2, 6), k=st.integers(1, 3), s=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 999))
def test_pooling_padding_cropping_gradcheck(h, w, k, s, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, 2))
    if padding == "valid" and (k > h or k > w):
        return
    assert gradcheck(lambda t: L.AveragePooling2D(k, s, padding)(t), x)
    assert gradcheck(lambda t: L.GlobalAveragePooling2D()(t), x)
    assert gradcheck(lambda t: L.GlobalMaxPooling2D(keepdims=True)(t), x)
    assert gradcheck(lambda t: pad2d(t, ((k, 0), (1, s))), x)
    assert gradcheck(lambda t: L.Cropping2D(((0, 1), (1, 0)))(t), x)


def test_average_pooling_same_padding_averages_inside_only():
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    out = L.AveragePooling2D(2, padding="same")(Tensor(x)).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out, [[2.0, 3.5], [6.5, 8.0]])


@pytest.mark.skipif(not kcuda.is_available(), reason="no CUDA device and no simulator")
def test_functional_model_with_batch_norm_trains_the_same_on_cuda():
    def build():
        set_random_seed(0)
        inp = L.Input((3,))
        h = L.Dense(3)(inp)
        h = L.BatchNormalization()(h)
        out = L.Dense(1)(L.Add()([h, inp]))
        m = Model(inp, out)
        m.compile("sgd", "mse")
        return m

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 1)).astype(np.float32)
    cpu, gpu = build(), build().to("cuda")
    set_random_seed(1)
    cpu.fit(x, y, batch_size=4, epochs=2, verbose=0)
    set_random_seed(1)
    gpu.fit(x, y, batch_size=4, epochs=2, verbose=0)
    for a, b in zip(cpu.get_weights(), gpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cpu.predict(x), gpu.predict(x), rtol=1e-4, atol=1e-5)
