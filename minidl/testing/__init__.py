"""Gradient checking: compare ``backward()`` with central finite differences.

For a function f and an upstream gradient u (random, so that every output element matters), the
analytic gradient of L = sum(f(x) * u) with respect to x[i] must equal the numeric estimate::

    dL/dx[i] ~= (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

whose error is O(eps^2) for smooth f. This is done in float64, where eps = 1e-6 leaves about ten correct
digits. Points where f has a kink (|x| or relu at 0, ties in a max) have no derivative: move inputs away
from them before checking (``minidl.testing.strategies`` does).

Use it on your own functions::

    from minidl.testing import gradcheck
    gradcheck(lambda x, w: (x @ w).exp().sum(axis=1), x_array, w_array)
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..autograd import Tensor, no_grad

__all__ = ["gradcheck", "GradcheckError", "numeric_grad", "gradcheck_model"]


class GradcheckError(AssertionError):
    """Raised when an analytic gradient disagrees with finite differences."""


def _to_f64_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return Tensor(np.array(x.data, dtype=np.float64, order="C"), requires_grad=x.requires_grad)
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        # A C-ordered copy: numeric_grad perturbs it in place through a flat view.
        return Tensor(np.array(arr, dtype=np.float64, order="C"), requires_grad=True)
    return Tensor(arr, dtype=arr.dtype)  # integer labels and masks stay constants


def _outputs(out: Any) -> list[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
        return list(out)
    raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {type(out).__name__}")


def numeric_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f()`` with respect to the array ``x`` (in place)."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + eps
        hi = f()
        flat[i] = orig - eps
        lo = f()
        flat[i] = orig
        gflat[i] = (hi - lo) / (2 * eps)
    return grad


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> bool:
    """Checks the gradients of ``fn`` at ``inputs`` against central finite differences, in float64.

    Args:
        fn: a function of Tensors returning a Tensor (or a tuple of Tensors).
        *inputs: arrays or Tensors. Float arrays are checked; a Tensor is checked when it requires grad;
            integer arrays (labels) are passed as constants.
        eps: finite-difference step.
        atol, rtol: the check is ``|analytic - numeric| <= atol + rtol * |numeric|`` element-wise.
        seed: seed of the random upstream gradient.

    Returns:
        True when every gradient matches.

    Raises:
        GradcheckError: naming the input, the index and both values of the worst entry.
    """
    tensors = [_to_f64_tensor(x) for x in inputs]
    checked = [i for i, t in enumerate(tensors) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad (pass float arrays or Tensors with requires_grad=True)")
    rng = np.random.default_rng(seed)
    outs = _outputs(fn(*tensors))
    ups = [rng.standard_normal(o.shape) for o in outs]

    def loss_value() -> float:
        with no_grad():
            res = _outputs(fn(*tensors))
        return float(sum(np.sum(r.data.astype(np.float64) * u) for r, u in zip(res, ups)))

    # Analytic: one backward of sum(out * u) through every output.
    total = None
    for o, u in zip(outs, ups):
        if not o.requires_grad:
            continue
        term = (o * Tensor(u)).sum()
        total = term if total is None else total + term
    for t in tensors:
        t.grad = None
    if total is not None:
        total.backward()

    for i in checked:
        t = tensors[i]
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        numeric = numeric_grad(loss_value, t.data, eps)
        err = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0) or not np.all(np.isfinite(analytic)):
            j = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), t.shape)
            raise GradcheckError(
                f"gradcheck failed for input {i} (shape {t.shape}) at index {tuple(int(k) for k in j)}: "
                f"analytic {analytic[j]!r}, numeric {numeric[j]!r} (atol={atol}, rtol={rtol})"
            )
    return True


def gradcheck_model(model: Any, x: Any, y: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Checks the gradient of a compiled model's loss with respect to every trainable weight against
    central finite differences, in float64.

    The weights are swapped for float64 copies for the duration of the check (and put back afterwards,
    untouched), the loss is computed exactly as in training (fused output activation, activity
    regularization) but with ``training=False`` so that dropout and noise are off and the function is
    deterministic.

    Args:
        model: a compiled :class:`minidl.models.Sequential`.
        x, y: a small batch (every weight costs two forward passes per scalar).
        eps, atol, rtol: as in :func:`gradcheck`.

    Returns:
        True when every gradient matches.

    Raises:
        GradcheckError: naming the weight, the index and both values of the worst entry.
    """
    x64 = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    model._check_compiled("gradcheck_model")
    model._check_input(x64.astype(np.float32))
    y = np.asarray(y)
    if y.dtype.kind == "f":
        y = y.astype(np.float64)
    params = model.trainable_weights
    if not params:
        raise ValueError("gradcheck_model: the model has no trainable weights")
    saved = [(p.data, p.grad) for p in params]
    try:
        for p in params:
            p.data, p.grad = np.array(p.data, dtype=np.float64, order="C"), None
        model._prepare_run()
        loss, _ = model._loss_tensor(Tensor(x64), y, training=False)
        loss.backward()
        analytic = [p.grad if p.grad is not None else np.zeros_like(p.data) for p in params]

        def loss_value() -> float:
            with no_grad():
                value, _ = model._loss_tensor(Tensor(x64), y, training=False)
            return float(np.asarray(value.data, dtype=np.float64))

        for p, a in zip(params, analytic):
            numeric = numeric_grad(loss_value, p.data, eps)
            err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
            if np.any(err > 0) or not np.all(np.isfinite(a)):
                j = np.unravel_index(int(np.nanargmax(np.where(np.isfinite(err), err, np.inf))), p.shape)
                raise GradcheckError(
                    f"gradcheck_model failed for weight {p.name!r} (shape {p.shape}) at index "
                    f"{tuple(int(k) for k in j)}: analytic {a[j]!r}, numeric {numeric[j]!r} (atol={atol}, rtol={rtol})"
                )
    finally:
        for p, (data, grad) in zip(params, saved):
            p.data, p.grad = data, grad
    return True
