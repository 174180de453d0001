"""The 'cuda' device end to end: tensors, every generic op forward and backward, device mixing, training.

Without a GPU this runs on Numba's CUDA simulator (tests/conftest.py switches it on), so shapes are tiny;
on a real GPU the same tests run unchanged. Everything is compared with the same computation on 'cpu'.
"""
import numpy as np
import pytest

import minidl
import minidl.functional as F
from minidl import Tensor, ops
from minidl import kernel_table
from minidl.device import move_model, to_device
from minidl.kernels import cuda as kcuda

pytestmark = pytest.mark.skipif(not kcuda.is_available(), reason="no CUDA device and no simulator")

TOL = dict(rtol=1e-9, atol=1e-12)  # float64 throughout: both devices should agree to rounding


def _rand(rng, shape, positive=False):
    a = rng.standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


def _run(fn, arrays, device):
    """fn(*tensors) on ``device``; returns (output on host, input gradients on host)."""
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    moved = [t.to(device) for t in ts]  # differentiable: gradients come back to the host leaves
    out = fn(*moved)
    assert out.device == device
    seed = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(seed)
    return out.numpy(), [t.grad for t in ts]


def _same_on_both(fn, *arrays):
    want, want_g = _run(fn, arrays, "cpu")
    got, got_g = _run(fn, arrays, "cuda")
    np.testing.assert_allclose(got, want, **TOL)
    for g, w in zip(got_g, want_g):
        assert isinstance(g, np.ndarray)
        np.testing.assert_allclose(g, w, **TOL)


BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (2, 1, 3)), ((2, 3), ())]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
def test_binary_ops_match_cpu(op, shapes):
    rng = np.random.default_rng(0)
    fn = getattr(ops, op)
    _same_on_both(fn, _rand(rng, shapes[0]), _rand(rng, shapes[1], positive=op == "div"))


UNARY = {
    "neg": lambda x: -x,
    "exp": ops.exp,
    "log": ops.log,
    "sqrt": ops.sqrt,
    "abs": ops.abs,
    "clip": lambda x: ops.clip(x, 0.6, 1.2),
    "pow2": lambda x: x ** 2,
    "pow_half": lambda x: x ** 0.5,
    "scalars": lambda x: (2.0 - x) * 3.0 + 1.0 / x - x / 4.0 + (x - 1.0),
    "reshape": lambda x: x.reshape(3, 2) * 1.0,
    "flatten": lambda x: x.flatten(),
    "transpose": lambda x: x.T,
    "sum_all": lambda x: x.sum(),
    "sum_axis0": lambda x: x.sum(axis=0),
    "sum_keepdims": lambda x: x.sum(axis=1, keepdims=True),
    "mean_all": lambda x: x.mean(),
    "mean_axis1": lambda x: x.mean(axis=1),
    "cast": lambda x: x.astype(np.float32).astype(np.float64),
    "reuse": lambda x: x * x + x,  # a value used twice: the engine adds the two gradients on the device
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_ops_match_cpu(name):
    rng = np.random.default_rng(0)
    x = _rand(rng, (2, 3), positive=name in ("log", "sqrt", "pow_half", "scalars"))
    if name == "cast":
        want, _ = _run(UNARY[name], [x], "cpu")
        got, got_g = _run(UNARY[name], [x], "cuda")
        np.testing.assert_allclose(got, want, rtol=1e-6)
        return
    _same_on_both(UNARY[name], x)


def test_matmul_and_transpose_axes_match_cpu():
    rng = np.random.default_rng(0)
    _same_on_both(ops.matmul, _rand(rng, (2, 3)), _rand(rng, (3, 4)))
    _same_on_both(lambda x: x.transpose(2, 0, 1), _rand(rng, (2, 3, 4)))


def test_tensor_to_numpy_item_repr_round_trip():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(a, device="cuda")
    assert t.device == "cuda" and t.shape == (2, 3) and t.dtype == np.float32
    host = t.numpy()
    assert isinstance(host, np.ndarray) and host is not a
    host[0, 0] = 100.0  # a copy: the device data is untouched
    np.testing.assert_array_equal(t.numpy(), a)
    back = t.to("cpu")
    assert back.device == "cpu"
    np.testing.assert_array_equal(back.numpy(), a)
    assert t.to("cuda") is t and back.to("cpu") is back
    assert "device='cuda'" in repr(t) and "5." in repr(t)
    assert "device" not in repr(back)
    assert t.sum().item() == 15.0
    assert Tensor([1, 2], device="cpu").device == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        t.to("tpu")
    with pytest.raises(TypeError, match="numpy"):
        np.asarray(t)


def test_mixing_devices_raises_naming_both():
    x = Tensor(np.ones((2, 3)))
    y = Tensor(np.ones((2, 3)), device="cuda")
    for fn in (ops.add, ops.mul, ops.sub, ops.div, ops.matmul):
        with pytest.raises(ValueError, match="different devices: cpu and cuda"):
            fn(x, y if fn is not ops.matmul else y.T)
    with pytest.raises(ValueError, match="different devices: cuda and cpu"):
        y + x
    with pytest.raises(ValueError, match="dense: operands are on different devices"):
        F.dense(y, Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match="conv2d: operands are on different devices"):
        F.conv2d(Tensor(np.ones((1, 3, 3, 1)), device="cuda"), Tensor(np.ones((2, 2, 1, 1))))
    # Python numbers and 0-d host arrays are scalars: fine with any device.
    np.testing.assert_allclose((y * 2 + np.float64(1.0)).numpy(), np.full((2, 3), 3.0))


@pytest.mark.parametrize("fn", [
    lambda t: t[0], lambda t: ops.concatenate([t, t]), lambda t: ops.stack([t, t]), lambda t: t.max(),
    lambda t: ops.where(np.ones((2, 3), bool), t, t), lambda t: ops.maximum(t, t), lambda t: t < 1,
    lambda t: 2.0 ** t,
], ids=["getitem", "concatenate", "stack", "max", "where", "maximum", "compare", "pow_tensor_exponent"])
def test_ops_not_on_cuda_yet_say_so(fn):
    with pytest.raises(NotImplementedError, match="not available on 'cuda'"):
        fn(Tensor(np.ones((2, 3)), device="cuda"))


def test_scalar_loss_mixed_with_device_tensor_backpropagates():
    # cross_entropy returns a host scalar; adding a device penalty must still reach both.
    rng = np.random.default_rng(0)
    z0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    grads = {}
    for dev in ("cpu", "cuda"):
        w = Tensor(w0, requires_grad=True, device=dev)
        z = ops.matmul(Tensor(z0, device=dev), w)
        loss = F.cross_entropy(z, np.array([0, 1, 3])) + (w * w).sum() * 0.1
        loss.backward()
        grads[dev] = w.grad if dev == "cpu" else kcuda.to_host(w.grad)
        assert w.device == dev and kernel_table.of(w.grad).name == dev
    np.testing.assert_allclose(grads["cuda"], grads["cpu"], **TOL)


# ---------------------------------------------------------------------------------------------- training
def _cnn_params(rng):
    return {
        "k": rng.standard_normal((3, 3, 1, 2)) * 0.5, "kb": rng.standard_normal(2) * 0.1,
        "w": rng.standard_normal((2 * 2 * 2, 3)) * 0.5, "b": rng.standard_normal(3) * 0.1,
    }


def _cnn_steps(device, init, x, y, steps=2):
    """Two SGD steps of conv 'same' -> relu -> max_pool -> reshape -> dense -> cross_entropy."""
    params = {k: Tensor(v.copy(), requires_grad=True, device=device) for k, v in init.items()}
    B = kernel_table.get(device)
    velocity = {k: B.zeros(v.shape, dtype=np.float64) for k, v in init.items()}
    losses = []
    for _ in range(steps):
        xb = Tensor(x, device=device)
        h = F.max_pool2d(F.relu(F.conv2d(xb, params["k"], params["kb"], padding="same")), 2)
        loss = F.cross_entropy(F.dense(h.reshape(x.shape[0], -1), params["w"], params["b"]), y)
        for p in params.values():
            p.zero_grad()
        loss.backward()
        for k, p in params.items():
            assert p.device == device and kernel_table.of(p.grad).name == device  # nothing fell back to the host
            B.sgd_update(p.data.reshape(-1), p.grad.reshape(-1), velocity[k].reshape(-1), 0.1, 0.9, False)
        losses.append(loss.item())
    return losses, {k: p.numpy() for k, p in params.items()}


def test_cnn_two_sgd_steps_match_cpu():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 4, 4, 1)), np.array([0, 2])
    init = _cnn_params(rng)
    want_l, want_p = _cnn_steps("cpu", init, x, y)
    got_l, got_p = _cnn_steps("cuda", init, x, y)
    np.testing.assert_allclose(got_l, want_l, rtol=1e-9)
    assert want_l[1] < want_l[0]
    for k in want_p:
        np.testing.assert_allclose(got_p[k], want_p[k], rtol=1e-9, atol=1e-12)


def _ae_steps(device, init, x, loss_name, steps=2):
    from minidl.optimizers import Adam

    W, b, c = (Tensor(v.copy(), requires_grad=True) for v in init)
    opt = Adam(learning_rate=0.05)
    move_model([W, b, c], device, opt)
    losses = []
    for _ in range(steps):
        xb = Tensor(x, device=device)
        _, xhat = F.tied_autoencoder(xb, W, b, c, encoder="sigmoid",
                                     decoder="linear" if loss_name == "bce" else "sigmoid")
        loss = F.binary_cross_entropy_with_logits(xhat, xb) if loss_name == "bce" else F.mse(xhat, xb)
        for p in (W, b, c):
            p.zero_grad()
        loss.backward()
        opt.apply_gradients([W, b, c])
        losses.append(loss.item())
    for p in (W, b, c):
        assert p.device == device
    move_model([W, b, c], "cpu", opt)  # and back, slots included
    for _, slots in opt._slots.values():
        assert all(isinstance(s, np.ndarray) for s in slots.values())
    return losses, [p.numpy() for p in (W, b, c)]


@pytest.mark.parametrize("loss_name", ["bce", "mse"])
def test_tied_autoencoder_two_adam_steps_match_cpu(loss_name):
    rng = np.random.default_rng(0)
    x = rng.random((3, 5))
    init = [rng.standard_normal((5, 2)) * 0.3, np.zeros(2), np.zeros(5)]
    want_l, want_p = _ae_steps("cpu", init, x, loss_name)
    got_l, got_p = _ae_steps("cuda", init, x, loss_name)
    np.testing.assert_allclose(got_l, want_l, rtol=1e-9)
    for g, w in zip(got_p, want_p):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


def test_to_device_helper():
    a = np.arange(3.0)
    d = to_device(a, "cuda")
    assert to_device(d, "cuda") is d and to_device(a, "cpu") is a
    np.testing.assert_array_equal(to_device(d, "cpu"), a)
    assert minidl.Tensor(d).device == "cuda"


def test_import_minidl_does_not_import_numba_cuda():
    import subprocess
    import sys

    code = "import sys, minidl, minidl.functional, minidl.ops; print('numba.cuda' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
