"""The optimizers' update rules in plain NumPy, in place: the device-independent reference.

Each function updates ``param`` and its slot arrays in place from ``grad`` exactly as the Keras 3 source
computes it (``keras/src/optimizers/<name>.py``), element-wise. Scalars (learning rate, step-dependent
coefficients) are Python floats computed by the optimizer; arrays keep their dtype (float32 math on float32
parameters, as Keras casts everything to the variable's dtype).

They are what minidl runs on the CPU where no Numba kernel exists yet, and the oracle a kernel is tested
against. ``g`` is the gradient, ``t`` the 1-based step number.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "sgd_update", "adam_update", "rmsprop_update", "adadelta_update", "adagrad_update", "nadam_update",
    "weight_decay", "clip_by_norm", "clip_by_global_norm",
]


def sgd_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, lr: float, momentum: float,
               nesterov: bool) -> None:
    """``v = momentum v - lr g``; ``p += v`` (nesterov: ``p += momentum v - lr g``)."""
    velocity *= momentum
    velocity -= lr * grad
    if nesterov:
        param += momentum * velocity - lr * grad
    else:
        param += velocity


def adam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, vhat: np.ndarray | None,
                lr: float, beta1: float, beta2: float, eps: float, t: int) -> None:
    """``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``; amsgrad: ``vhat = max(vhat, v)`` used for ``v``;
    ``p -= lr sqrt(1 - b2^t) / (1 - b1^t) · m / (sqrt(v) + eps)``."""
    alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    m += (grad - m) * (1 - beta1)
    v += (np.square(grad) - v) * (1 - beta2)
    if vhat is not None:
        np.maximum(vhat, v, out=vhat)
        v = vhat
    param -= (m * alpha) / (np.sqrt(v) + eps)


def rmsprop_update(param: np.ndarray, grad: np.ndarray, velocity: np.ndarray, momentum_buf: np.ndarray | None,
                   average_grad: np.ndarray | None, lr: float, rho: float, momentum: float, eps: float) -> None:
    """Keras 3 RMSprop: ``ms = rho ms + (1 - rho) g²``; centered: ``mg = rho mg + (1 - rho) g`` and the
    denominator is ``ms - mg² + eps``, else ``ms + eps``; ``inc = lr g / sqrt(denominator)``; with momentum
    ``mom = momentum mom + inc; p -= mom``, else ``p -= inc``.

    ``eps`` sits *inside* the square root (Keras 2 and torch add it outside).
    """
    velocity[...] = rho * velocity + (1 - rho) * np.square(grad)
    if average_grad is not None:
        average_grad[...] = rho * average_grad + (1 - rho) * grad
        denominator = velocity - np.square(average_grad) + eps
    else:
        denominator = velocity + eps
    increment = (lr * grad) / np.sqrt(denominator)
    if momentum_buf is not None:
        momentum_buf[...] = momentum * momentum_buf + increment
        param -= momentum_buf
    else:
        param -= increment


def adadelta_update(param: np.ndarray, grad: np.ndarray, accumulated_grad: np.ndarray,
                    accumulated_delta: np.ndarray, lr: float, rho: float, eps: float) -> None:
    """Zeiler's Adadelta with Keras's learning rate: ``Eg = rho Eg + (1 - rho) g²``;
    ``d = -sqrt(Ed + eps) g / sqrt(Eg + eps)``; ``Ed = rho Ed + (1 - rho) d²``; ``p += lr d``."""
    accumulated_grad[...] = rho * accumulated_grad + (1 - rho) * np.square(grad)
    delta = -(np.sqrt(accumulated_delta + eps) * grad) / np.sqrt(accumulated_grad + eps)
    accumulated_delta[...] = rho * accumulated_delta + (1 - rho) * np.square(delta)
    param += lr * delta


def adagrad_update(param: np.ndarray, grad: np.ndarray, accumulator: np.ndarray, lr: float, eps: float) -> None:
    """``acc += g²``; ``p -= lr g / sqrt(acc + eps)`` (``acc`` starts at ``initial_accumulator_value``)."""
    accumulator += np.square(grad)
    param -= (lr * grad) / np.sqrt(accumulator + eps)


def nadam_update(param: np.ndarray, grad: np.ndarray, m: np.ndarray, v: np.ndarray, lr: float, beta1: float,
                 beta2: float, eps: float, m_coef: float, g_coef: float, v_coef: float) -> None:
    """Keras's Nadam (Dozat 2015 with the momentum cache ``u_t = b1 (1 - 0.5 · 0.96^t)``):
    ``m += (g - m)(1 - b1)``; ``v += (g² - v)(1 - b2)``;
    ``m_hat = m_coef m + g_coef g`` with ``m_coef = u_{t+1} / (1 - Π_{i<=t+1} u_i)`` and
    ``g_coef = (1 - u_t) / (1 - Π_{i<=t} u_i)``; ``v_hat = v_coef v`` with ``v_coef = 1 / (1 - b2^t)``;
    ``p -= lr m_hat / (sqrt(v_hat) + eps)``. The coefficients depend only on ``t`` (the optimizer computes
    them once per step)."""
    m += (grad - m) * (1 - beta1)
    v += (np.square(grad) - v) * (1 - beta2)
    m_hat = m_coef * m + g_coef * grad
    v_hat = v * v_coef
    param -= (m_hat * lr) / (np.sqrt(v_hat) + eps)


def weight_decay(param: np.ndarray, lr: float, decay: float) -> None:
    """Decoupled weight decay, applied before the update as Keras does: ``p -= p · decay · lr``."""
    param -= param * decay * lr


def clip_by_norm(grad: np.ndarray, clipnorm: float) -> np.ndarray:
    """Keras's per-tensor ``clipnorm``: ``g · c / max(||g||, c)`` (a new array)."""
    norm = np.sqrt(np.sum(np.square(grad, dtype=np.float64)))
    return (grad * (clipnorm / max(norm, clipnorm))).astype(grad.dtype, copy=False)


def clip_by_global_norm(grads: list[np.ndarray], clipnorm: float) -> list[np.ndarray]:
    """Keras's ``global_clipnorm``: every gradient times ``c · min(1 / N, 1 / c)`` with ``N`` the norm of
    all gradients together; a non-finite ``N`` makes every gradient NaN, as in Keras."""
    norm = float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads)))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = clipnorm * min(1.0 / norm if norm else np.inf, 1.0 / clipnorm) + (norm - norm)
    return [(g * scale).astype(g.dtype, copy=False) for g in grads]
