"""One training update that is whole or absent: atomic against Ctrl-C, no ``.grad`` left behind, and rolled back
when it would leave non-finite weights (issue #18).

The trainer calls :func:`backward_and_update` once per step. What it guarantees:

- **Ctrl-C.** SIGINT is deferred (main thread only, where Python delivers signals) while the optimizer writes
  the parameters and its slots; the previous handler is restored afterwards and, if a SIGINT arrived, run then,
  so ``KeyboardInterrupt`` is raised with the update complete. An exception that still escapes the update
  (``KeyboardInterrupt`` raised by code, an error in a custom optimizer) restores the parameters, the slots and
  ``iterations`` from a snapshot taken just before: the model is exactly at the last completed step.
- **Gradients.** Every parameter's ``.grad`` is cleared whatever happens (an interrupted backward pass left
  partial gradients that the next ``fit`` would have added to).
- **Finite weights.** After the update every parameter is checked; if one holds NaN or Inf (a learning rate
  of 1e308, an overflowing slot), the snapshot is restored and its name returned, and ``fit`` stops as it does
  for a NaN loss.

Parameters on a GPU are updated as before, without the snapshot or the finiteness check (copying device
arrays to the host every step would cost more than the step); Ctrl-C is still deferred and grads cleared.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["backward_and_update", "deferred_sigint"]


_DEFERRING = [0]  # depth of deferred_sigint blocks in the main thread (an inner block leaves the handler alone)


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Holds SIGINT back for the duration of the block (main thread only); delivers it after the block.

    Re-entrant: a block inside another (the optimizer's own, inside a training step's) does nothing more, so
    the handler is swapped once per step. The one implementation, used by the trainer's step and by
    :meth:`minidl.optimizers.Optimizer.apply_gradients` when called on its own.
    """
    if threading.current_thread() is not threading.main_thread() or _DEFERRING[0]:
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        received.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except (ValueError, OSError, RuntimeError):  # signals unavailable (embedded interpreters)
        yield
        return
    _DEFERRING[0] += 1
    try:
        yield
    finally:
        _DEFERRING[0] -= 1
        signal.signal(signal.SIGINT, previous)
    if received:
        if callable(previous):
            previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt here
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


def _snapshot(optimizer: Any, params: Sequence[Any]) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    if not all(isinstance(p.data, np.ndarray) for p in params):
        return None
    return [p.data.copy() for p in params], optimizer.get_state(params)


def _restore(optimizer: Any, params: Sequence[Any], snap: tuple[list[np.ndarray], list[np.ndarray]]) -> None:
    for p, a in zip(params, snap[0]):
        p.data[...] = a
    optimizer.set_state(params, snap[1])


def backward_and_update(loss: Any, optimizer: Any, params: Sequence[Any]) -> str | None:
    """``loss.backward()`` then ``optimizer.apply_gradients(params)``, whole or not at all.

    Args:
        loss: the scalar loss Tensor of the step.
        optimizer: a :class:`minidl.optimizers.Optimizer`.
        params: the trainable parameters (Tensors).

    Returns:
        None, or the name of the first parameter the update made non-finite (the update is then undone).

    Raises:
        Whatever the backward pass or the update raises (KeyboardInterrupt included), with the parameters and
        the optimizer state as they were before the step and no ``.grad`` left.
    """
    params = list(params)
    try:
        loss.backward()  # an interruption here changes no parameter; the finally clears partial grads
        snap = _snapshot(optimizer, params)
        with deferred_sigint():
            try:
                optimizer.apply_gradients(params)
            except BaseException:
                if snap is not None:
                    _restore(optimizer, params, snap)
                raise
            if snap is not None:
                for p in params:
                    if not np.isfinite(p.data).all():
                        _restore(optimizer, params, snap)
                        return p.name
        return None
    finally:
        for p in params:
            p.grad = None
