"""Keras-style models, in Keras's layout:

- :mod:`~minidl.models.sequential`: :class:`Sequential`, a stack of layers.
- :mod:`~minidl.models.functional`: :class:`Model`, a graph of layers (Keras's functional API).
- :mod:`~minidl.models.trainer`: :class:`~minidl.models.trainer.Trainer`, the one training loop (compile / fit /
  evaluate / predict / train_on_batch / test_on_batch) every model class shares.
- :mod:`~minidl.models.summary`: ``model.summary()``.
- :mod:`~minidl.models.saving`: ``model.save(path)`` and :func:`load_model`.

A Keras MNIST script runs with only its imports changed::

    from minidl import layers, models
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 3, activation='relu'), ...])
    model.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    history = model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)
"""
from __future__ import annotations

from .functional import Model
from .saving import load_model, save_model
from .sequential import Sequential
from .trainer import Trainer

__all__ = ["Model", "Sequential", "load_model", "save_model", "Trainer"]
