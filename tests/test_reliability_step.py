"""Training steps (issue #18): atomic against Ctrl-C, no stale .grad, non-finite updates undone, float64 kept.

Interruptions are injected deterministically from inside the optimizer's per-parameter update (monkeypatch),
never by timing."""
from __future__ import annotations

import signal
import threading
import warnings

import numpy as np
import pytest

from minidl import _step
from minidl import layers as L
from minidl import models as M
from minidl import optimizers

X = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=(16, 2)).astype(np.float32)


def _pair():
    """Two identical compiled models (same weights, fresh Adam each)."""
    a = M.Sequential([L.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(2)])
    b = M.Sequential([L.Input((3,)), L.Dense(4, activation="tanh"), L.Dense(2)])
    b.set_weights(a.get_weights())
    a.compile(optimizers.Adam(0.01), "mse")
    b.compile(optimizers.Adam(0.01), "mse")
    return a, b


def _fit(m, epochs=1):
    return m.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)


def _same(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert a.optimizer.iterations == b.optimizer.iterations
    for u, v in zip(a.optimizer.get_state(a.trainable_weights), b.optimizer.get_state(b.trainable_weights)):
        np.testing.assert_array_equal(u, v)


def _interrupt_after(opt, k, how):
    """Make the optimizer's k-th per-parameter update (1-based, counted over the run) interrupt."""
    original = opt._update
    count = {"n": 0}

    def update(*args, **kwargs):
        count["n"] += 1
        if count["n"] == k and how == "raise":
            raise KeyboardInterrupt  # raised by code in the middle of the update: nothing may stay applied
        original(*args, **kwargs)
        if count["n"] == k and how == "signal":
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C arriving between two parameters

    opt._update = update
    return lambda: setattr(opt, "_update", original)


def test_sigint_inside_the_update_is_deferred_until_the_update_is_whole():
    a, ref = _pair()
    _fit(a)
    _fit(ref)
    undo = _interrupt_after(a.optimizer, 2, "signal")  # 4 parameters per step: after the second one
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        _fit(a)
    undo()
    assert signal.getsignal(signal.SIGINT) is handler  # the previous handler is back
    ref.train_on_batch(X[:8], Y[:8])  # the step that was interrupted completed, entirely
    _same(a, ref)
    assert all(p.grad is None for p in a.trainable_weights)
    # fit continues from there: the next fit behaves as on a model that was never interrupted
    _fit(a)
    _fit(ref)
    _same(a, ref)


def test_an_exception_inside_the_update_applies_none_of_it():
    a, ref = _pair()
    _fit(a)
    _fit(ref)
    undo = _interrupt_after(a.optimizer, 3, "raise")
    with pytest.raises(KeyboardInterrupt):
        _fit(a)
    undo()
    _same(a, ref)  # weights, iterations and Adam slots exactly at the last completed step
    assert all(p.grad is None for p in a.trainable_weights)
    _fit(a)
    _fit(ref)
    _same(a, ref)


def test_an_interrupted_backward_pass_leaves_no_grad(monkeypatch):
    a, ref = _pair()
    from minidl import autograd

    original = autograd.Tensor.backward

    def backward(self, *args, **kwargs):
        original(self, *args, **kwargs)  # the gradients are accumulated ...
        raise KeyboardInterrupt  # ... then Ctrl-C, before the update

    monkeypatch.setattr(autograd.Tensor, "backward", backward)
    with pytest.raises(KeyboardInterrupt):
        _fit(a)
    monkeypatch.setattr(autograd.Tensor, "backward", original)
    assert all(p.grad is None for p in a.trainable_weights)
    _same(a, ref)
    _fit(a)
    _fit(ref)
    _same(a, ref)  # no stale gradient was added to the next step


def test_non_finite_weights_after_an_update_stop_fit_and_are_undone():
    m = M.Sequential([L.Input((3,)), L.Dense(2, name="big")])
    m.compile(optimizers.SGD(learning_rate=1e308), "mse")
    before = m.get_weights()
    with pytest.warns(RuntimeWarning, match=r"the update made weight 'big/kernel' non-finite"):
        h = m.fit(X * 100, Y * 100, batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 1  # stopped in the first epoch
    for u, v in zip(before, m.get_weights()):
        np.testing.assert_array_equal(u, v)  # the last finite weights (here: the initial ones)
    assert m.optimizer.iterations == 0


def test_ordinary_training_is_unchanged_by_the_guard():
    a, ref = _pair()
    _fit(a, epochs=2)
    for xb, yb in ((X[:8], Y[:8]), (X[8:], Y[8:])) * 2:
        ref.train_on_batch(xb, yb)
    _same(a, ref)


def test_float64_models_compute_in_float64_end_to_end():
    m = M.Sequential([L.Input((1,), dtype="float64"), L.Dense(1, dtype="float64", kernel_initializer="ones")])
    x = (1.0 + np.arange(10) * 1e-12)[:, None]
    p = m.predict(x)
    assert p.dtype == np.float64 and len(set(p.ravel().tolist())) == 10  # float32 would merge them all
    m.compile("sgd", "mse")
    m.fit(x, x * 2, verbose=0, epochs=1)
    assert all(w.dtype == np.float64 for w in m.get_weights())
    assert isinstance(m.evaluate(x, x, verbose=0), float)
    f32 = M.Sequential([L.Input((1,)), L.Dense(1)])
    assert f32.predict(x).dtype == np.float32  # float32 models still get float32 data


def test_deferred_sigint_outside_the_main_thread_is_a_plain_block():
    done = []

    def worker():
        with _step.deferred_sigint():
            done.append(True)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert done == [True]


def test_deferred_sigint_with_an_ignoring_handler_drops_the_signal():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _step.deferred_sigint():
            signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_fit_in_a_thread_still_trains():
    m, ref = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = threading.Thread(target=_fit, args=(m,))
        t.start()
        t.join()
    _fit(ref)
    _same(m, ref)
