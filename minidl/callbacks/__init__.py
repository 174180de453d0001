"""Keras-style callbacks and the progress bar printed by ``fit``.

``fit`` drives a :class:`CallbackList`; each hook receives ``logs``, a dict of floats (``loss``, metric
names, and their ``val_`` versions at the end of an epoch). A callback stops training by setting
``model.stop_training = True``. Semantics follow Keras 3 unless stated:

- :class:`History` records every epoch's logs (reset at each ``on_train_begin``, i.e. per ``fit``).
- :class:`EarlyStopping` counts epochs without an improvement larger than ``min_delta``; after ``patience``
  of them it stops; ``restore_best_weights`` puts back the best epoch's weights at the end of training.
- :class:`ModelCheckpoint` saves ``model.save(filepath.format(epoch=epoch + 1, **logs))``.
- :class:`ReduceLROnPlateau`, :class:`LearningRateScheduler`: change the optimizer's learning rate.
- :class:`CSVLogger`: one CSV row per epoch. :class:`TensorBoard`: event files for ``tensorboard --logdir``.
- :class:`TerminateOnNaN`, :class:`LambdaCallback`.
- :class:`ProgressBar`: ``422/422 [==============================] - 3s 7ms/step - loss: 0.2954 - ...``.

Every callback checks its arguments when it is made; what needs the model (file name placeholders, paths,
a settable learning rate) is checked in ``on_train_begin``, before the first batch.
"""
from __future__ import annotations

from .base import Callback, CallbackList, History
from .csv_logger import CSVLogger
from .progress import ProgressBar
from .schedules import LearningRateScheduler, ReduceLROnPlateau
from .tensorboard import TensorBoard
from .training import EarlyStopping, LambdaCallback, ModelCheckpoint, TerminateOnNaN

__all__ = [
    "Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint", "TerminateOnNaN",
    "LambdaCallback", "ProgressBar", "CSVLogger", "ReduceLROnPlateau", "LearningRateScheduler", "TensorBoard",
]
