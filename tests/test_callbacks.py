"""Callbacks with a tiny fake model: Keras 3's EarlyStopping/ModelCheckpoint semantics, History, progress bar."""
import io
import os

import numpy as np
import pytest

from minidl.callbacks import (
    Callback, CallbackList, EarlyStopping, History, LambdaCallback, ModelCheckpoint, ProgressBar, TerminateOnNaN,
)


class FakeModel:
    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(2)]
        self.saved = []
        self.set_calls = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, ws):
        self.set_calls.append(ws)
        self.weights = [w.copy() for w in ws]

    def save(self, path):
        self.saved.append(path)
        with open(path, "w") as f:
            f.write("x")


def fit(callbacks, epoch_logs, model=None):
    """Runs the epoch loop of fit(); epoch e's weights are [e, e]. Returns (model, epochs run)."""
    model = model or FakeModel()
    cbs = CallbackList(callbacks, model=model, params={"epochs": len(epoch_logs), "steps": 1, "verbose": 0})
    cbs.on_train_begin()
    run = 0
    for e, logs in enumerate(epoch_logs):
        cbs.on_epoch_begin(e)
        cbs.on_train_batch_begin(0)
        model.weights = [np.full(2, float(e))]
        cbs.on_train_batch_end(0, {"loss": logs.get("loss", 0.0)})
        cbs.on_epoch_end(e, logs)
        run += 1
        if model.stop_training:
            break
    cbs.on_train_end()
    return model, run


def vl(*values):
    return [{"val_loss": v} for v in values]


# ---------------------------------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("kw, values, stopped, run", [
    ({"patience": 0}, (1.0, 0.9, 0.95, 0.5), 2, 3),
    ({"patience": 2}, (1.0, 0.5, 0.6, 0.55, 0.7), 3, 4),
    ({"patience": 2}, (1.0, 0.5, 0.6, 0.4, 0.45, 0.41), 5, 6),
    ({"patience": 1, "min_delta": 0.1}, (1.0, 0.95, 0.92, 0.5), 1, 2),
    ({"patience": 1, "min_delta": -0.1}, (1.0, 0.85, 0.8), 2, 3),  # the sign of min_delta is ignored
    ({"patience": 5}, (1.0, 1.1, 1.2), 0, 3),  # never exhausted
    ({"patience": 1, "baseline": 0.5}, (0.8, 0.9, 0.4), 1, 2),
    ({"patience": 1, "start_from_epoch": 2}, (1.0, 2.0, 3.0, 4.0, 5.0), 3, 4),
])
def test_early_stopping_min(kw, values, stopped, run):
    es = EarlyStopping(**kw)
    model, n = fit([es], vl(*values))
    assert es.stopped_epoch == stopped and n == run
    assert model.stop_training == (stopped > 0)


def test_early_stopping_baseline_keeps_counting_while_above():
    # Keras 3: improvements that do not beat the baseline do not reset `wait`, but the stop check only runs
    # on epochs without improvement.
    es = EarlyStopping(patience=2, baseline=0.1)
    _, n = fit([es], vl(0.8, 0.7, 0.6, 0.65))
    assert (es.stopped_epoch, n, es.wait) == (3, 4, 4)


def test_early_stopping_max_mode_auto_and_explicit():
    accs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.65)]
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    fit([es], accs)
    assert es.stopped_epoch == 2 and es.best == 0.7
    es = EarlyStopping(monitor="val_accuracy", patience=1, mode="max", min_delta=0.25)
    fit([es], accs)
    assert es.stopped_epoch == 1 and es.best == 0.5
    es = EarlyStopping(monitor="val_accuracy", patience=1, mode="min")
    fit([es], accs)
    assert es.stopped_epoch == 1
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="bigger")


def test_early_stopping_restore_best_weights():
    es = EarlyStopping(patience=2, restore_best_weights=True)
    model, _ = fit([es], vl(1.0, 0.4, 0.6, 0.7, 0.1))
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    # Keras 3 restores at the end of training even when it did not stop early.
    es = EarlyStopping(patience=10, restore_best_weights=True)
    model, _ = fit([es], vl(1.0, 0.4, 0.6))
    assert es.stopped_epoch == 0
    np.testing.assert_array_equal(model.weights[0], [1.0, 1.0])
    es = EarlyStopping(patience=10)
    model, _ = fit([es], vl(1.0, 0.4, 0.6))
    assert model.set_calls == []


def test_early_stopping_reset_per_fit_and_missing_key():
    es = EarlyStopping(patience=0)
    fit([es], vl(1.0, 2.0))
    assert es.stopped_epoch == 1
    fit([es], vl(1.0, 0.5))
    assert es.stopped_epoch == 0 and es.best == 0.5
    with pytest.warns(RuntimeWarning, match="val_loss.*Available metrics are: loss"):
        model, n = fit([EarlyStopping(patience=0)], [{"loss": 1.0}, {"loss": 2.0}])
    assert n == 2 and not model.stop_training


def test_early_stopping_verbose(capsys):
    fit([EarlyStopping(patience=0, verbose=1, restore_best_weights=True)], vl(1.0, 2.0))
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out


# ---------------------------------------------------------------------------------------------------- ModelCheckpoint
def test_checkpoint_every_epoch_formats_names(tmp_path):
    pattern = str(tmp_path / "sub" / "m-{epoch:02d}-{val_loss:.2f}.npz")
    model, _ = fit([ModelCheckpoint(pattern)], vl(1.234, 0.5))
    assert [os.path.basename(p) for p in model.saved] == ["m-01-1.23.npz", "m-02-0.50.npz"]
    assert all(os.path.exists(p) for p in model.saved)


def test_checkpoint_save_best_only(tmp_path, capsys):
    model, _ = fit([ModelCheckpoint(tmp_path / "best-{epoch}.npz", save_best_only=True, verbose=1)],
                   vl(1.0, 1.2, 0.8, 0.8, 0.3))
    assert [os.path.basename(p) for p in model.saved] == ["best-1.npz", "best-3.npz", "best-5.npz"]
    out = capsys.readouterr().out
    assert "Epoch 3: val_loss improved from 1.00000 to 0.80000, saving model to" in out
    assert "Epoch 4: val_loss did not improve from 0.80000" in out
    model, _ = fit([ModelCheckpoint(str(tmp_path / "acc.npz"), monitor="val_acc", save_best_only=True)],
                   [{"val_acc": a} for a in (0.5, 0.4, 0.6)])
    assert len(model.saved) == 2


def test_checkpoint_missing_keys(tmp_path):
    with pytest.warns(RuntimeWarning, match="val_loss available"):
        model, _ = fit([ModelCheckpoint(str(tmp_path / "x.npz"), save_best_only=True)], [{"loss": 1.0}])
    assert model.saved == []
    with pytest.raises(KeyError, match="val_acc"):  # a model that does not list its metrics: found at epoch end
        fit([ModelCheckpoint(str(tmp_path / "{val_acc}.npz"))], vl(1.0))
    model = FakeModel()
    model.metrics_names = ["loss"]
    with pytest.raises(ValueError, match=r"uses \{val_acc\}, which the logs will not have \(available: epoch, loss, "
                                         r"val_loss\)"):
        fit([ModelCheckpoint(str(tmp_path / "{val_acc}.npz"))], vl(1.0), model=model)
    np.testing.assert_array_equal(model.weights[0], np.zeros(2))
    assert model.saved == []


# ---------------------------------------------------------------------------------------------------- others
def test_history_and_callback_list_dispatch():
    calls = []

    class Recorder(Callback):
        def on_batch_end(self, batch, logs=None):  # the Keras alias is reached through on_train_batch_end
            calls.append(("batch_end", batch))

    h = History()
    rec = Recorder()
    model, _ = fit([h, rec, LambdaCallback(on_epoch_end=lambda e, logs: calls.append(("epoch_end", e)))],
                   [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5}])
    assert h.history == {"loss": [1.0, 0.5], "val_loss": [2.0, 1.5]} and h.epoch == [0, 1]
    assert model.history is h and h.model is model and h.params["epochs"] == 2
    assert calls == [("batch_end", 0), ("epoch_end", 0), ("batch_end", 0), ("epoch_end", 1)]
    fit([h], [{"loss": 3.0}])
    assert h.history == {"loss": [3.0]}  # reset per fit
    cl = CallbackList()
    for hook in ("on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end"):
        getattr(cl, hook)()
    cl.append(h)
    assert len(cl) == 1
    with pytest.raises(ValueError, match="on_epoch_end"):
        LambdaCallback(on_epoch_ending=print)


def test_terminate_on_nan(capsys):
    model, n = fit([TerminateOnNaN()], [{"loss": 1.0}, {"loss": float("nan")}, {"loss": 1.0}])
    assert n == 2 and model.stop_training
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------------- ProgressBar
LOGS = {"loss": 0.29541, "accuracy": 0.91512, "val_loss": 0.1, "val_accuracy": 0.97}


def test_progress_bar_verbose1_final_line():
    s = io.StringIO()
    ProgressBar(422, 1, stream=s).end(LOGS, elapsed_seconds=3.0)
    assert s.getvalue() == ("\r422/422 [==============================] - 3s 7ms/step - loss: 0.2954 - accuracy: 0.9151"
                            " - val_loss: 0.1000 - val_accuracy: 0.9700\n")


def test_progress_bar_verbose1_updates_throttled():
    s = io.StringIO()
    bar = ProgressBar(10, 1, stream=s, interval=3600)
    bar.update(5, {"loss": 1e-4})
    first = s.getvalue()
    assert first.startswith("\r 5/10 [==============>...............] - ETA: ")
    assert first.endswith(" - loss: 1.0000e-04")
    for i in range(6, 10):
        bar.update(i, {"loss": 0.5})
    assert s.getvalue() == first  # throttled: nothing more written
    bar.end({"loss": 0.5}, elapsed_seconds=0.0005)
    last = s.getvalue()[len(first):]
    assert last.startswith("\r10/10 [==============================] - 0s 50us/step - loss: 0.5000")
    assert last.endswith("\n") and len(last) - 2 >= len(first) - 1  # padded over the previous line


@pytest.mark.parametrize("elapsed, steps, unit", [(20.0, 10, " 2s/step"), (0.5, 10, " 50ms/step"), (0.0, 10, " 0s/step")])
def test_progress_bar_time_units(elapsed, steps, unit):
    s = io.StringIO()
    ProgressBar(steps, 1, stream=s).end({}, elapsed_seconds=elapsed)
    assert unit + "\n" in s.getvalue() or s.getvalue().endswith(unit + "\n")


def test_progress_bar_verbose2_and_0():
    s = io.StringIO()
    bar = ProgressBar(422, 2, stream=s)
    bar.update(100, LOGS)
    assert s.getvalue() == ""
    bar.end(LOGS, elapsed_seconds=3.2)
    assert s.getvalue() == "422/422 - 3s - loss: 0.2954 - accuracy: 0.9151 - val_loss: 0.1000 - val_accuracy: 0.9700\n"
    s = io.StringIO()
    bar = ProgressBar(422, 0, stream=s)
    bar.update(1, LOGS)
    bar.end(LOGS, 1.0)
    assert s.getvalue() == ""
