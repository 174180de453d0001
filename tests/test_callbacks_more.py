"""CSVLogger, ReduceLROnPlateau, LearningRateScheduler, TensorBoard event files, and callback argument checks."""
import csv
import os
import struct

import numpy as np
import pytest

import minidl
from minidl import callbacks, layers, optimizers
from minidl.callbacks import (
    CSVLogger, EarlyStopping, LambdaCallback, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau, TensorBoard,
)
from minidl.callbacks import _events


def small_model(opt=None):
    minidl.utils.set_random_seed(0)
    model = minidl.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=opt or optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype("float32")
    return x, np.eye(2, dtype="float32")[(x[:, 0] > 0).astype(int)]


class FakeOpt:
    def __init__(self, lr):
        self.learning_rate = lr
        self.learning_rate_schedule = None


class FakeModel:
    def __init__(self, lr=1.0):
        self.optimizer = FakeOpt(lr)
        self.stop_training = False


def run_epochs(cb, logs_per_epoch, model=None):
    model = model or FakeModel()
    cbl = callbacks.CallbackList([cb], model=model)
    cbl.on_train_begin()
    lrs = []
    for e, logs in enumerate(logs_per_epoch):
        cbl.on_epoch_begin(e, {})
        logs = dict(logs)
        cbl.on_epoch_end(e, logs)
        lrs.append(logs.get("learning_rate"))
    cbl.on_train_end()
    return model, lrs


# ---------------------------------------------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_lr_on_plateau_keras_rule():
    # patience 2, factor 0.5, cooldown 1, min_delta 0.1, min_lr 0.2; logs get the rate the epoch ran with
    cb = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, cooldown=1, min_delta=0.1, min_lr=0.2)
    values = [1.0, 0.95, 0.95, 0.8, 0.75, 0.75, 0.6, 0.55, 0.55, 0.3]
    model, lrs = run_epochs(cb, [{"val_loss": v} for v in values])
    # 0: best 1.0; 1, 2: not < 0.9 -> wait 2 -> lr 0.5, cooldown 1; 3: cooldown ends, 0.8 < 0.9 best;
    # 4, 5: not < 0.7 -> lr 0.25; 6: 0.6 best; 7, 8: not < 0.5 -> max(0.125, min_lr 0.2); 9: cooldown
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]
    assert model.optimizer.learning_rate == 0.2
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.1, patience=1)   # 'auto' -> max for accuracies
    model, _ = run_epochs(cb, [{"val_accuracy": a} for a in (0.5, 0.6, 0.55)])
    assert model.optimizer.learning_rate == pytest.approx(0.1)
    with pytest.warns(RuntimeWarning, match="val_loss.*not available"):
        run_epochs(ReduceLROnPlateau(), [{"loss": 1.0}])


@pytest.mark.parametrize("kw, match", [
    ({"factor": 1.0}, "factor >= 1.0"), ({"factor": 0}, "factor"), ({"patience": -1}, "patience"),
    ({"patience": None}, "patience"), ({"mode": "up"}, "mode"), ({"min_lr": -1}, "min_lr"),
    ({"cooldown": 1.5}, "cooldown"), ({"monitor": 3}, "monitor"), ({"verbose": 5}, "verbose"),
])
def test_reduce_lr_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(**kw)


def test_lr_callbacks_refuse_a_schedule_before_training():
    model = small_model(optimizers.SGD(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)))
    x, y = data()
    before = model.get_weights()
    for cb in (ReduceLROnPlateau(), LearningRateScheduler(lambda e, lr: lr)):
        with pytest.raises(ValueError, match="cannot be set by a callback"):
            model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------------- LearningRateScheduler
def test_learning_rate_scheduler_in_fit():
    model = small_model()
    x, y = data()
    seen = []
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
    spy = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(model.optimizer.learning_rate))
    hist = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched, spy])
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])
    # one-argument schedules work too
    run_epochs(LearningRateScheduler(lambda epoch: 0.3), [{}])
    with pytest.raises(ValueError, match="schedule"):
        LearningRateScheduler(3)
    with pytest.raises(ValueError, match=r"schedule\(epoch, lr\) or schedule\(epoch\)"):
        LearningRateScheduler(lambda: 0.1)
    with pytest.raises(ValueError, match="returned -1"):
        run_epochs(LearningRateScheduler(lambda e, lr: -1), [{}])


# ---------------------------------------------------------------------------------------------------- CSVLogger
def test_csv_logger_rows_and_append(tmp_path):
    path = tmp_path / "log.csv"
    model = small_model()
    x, y = data()
    model.fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    hist = model.history.history
    assert float(rows[2][2]) == pytest.approx(hist["loss"][1])
    assert float(rows[2][4]) == pytest.approx(hist["val_loss"][1])
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path, append=True)])
    rows = list(csv.reader(open(path)))
    assert len(rows) == 4 and rows[3][0] == "0"          # appended, no second header
    model.fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    lines = open(path).read().splitlines()
    assert lines[0] == "epoch;accuracy;loss" and len(lines) == 2    # overwritten
    # a key missing later is NA
    _, _ = run_epochs(CSVLogger(tmp_path / "na.csv"), [{"a": 1.0, "b": 2.0}, {"a": 3.0}])
    assert open(tmp_path / "na.csv").read().splitlines()[2] == "1,3.0,NA"


def test_csv_logger_bad_arguments(tmp_path):
    for kw, match in [({"filename": 3}, "filename"), ({"filename": "a.csv", "separator": ";;"}, "separator"),
                      ({"filename": "a.csv", "append": "yes"}, "append")]:
        with pytest.raises(ValueError, match=match):
            CSVLogger(**kw)
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="is a folder"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[CSVLogger(tmp_path)])
    with pytest.raises(ValueError, match="cannot open"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[CSVLogger(tmp_path / "missing" / "x.csv")])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------------- TensorBoard
def test_crc32c_known_values():
    assert _events.crc32c(b"123456789") == 0xE3069283      # the standard check value
    assert _events.crc32c(b"") == 0
    assert _events.crc32c(bytes(32)) == 0x8A9136AA          # RFC 3720 test vector (32 zero bytes)


def event_files(folder):
    files = [f for f in os.listdir(folder) if "tfevents" in f]
    assert len(files) == 1
    return os.path.join(folder, files[0])


def scalars(events):
    out = {}
    for ev in events:
        for v in ev["summary"]:
            if "simple_value" in v:
                out.setdefault(v["tag"], []).append((ev["step"], v["simple_value"]))
    return out


def test_tensorboard_writes_readable_event_files(tmp_path):
    model = small_model()
    x, y = data()
    hist = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                     callbacks=[TensorBoard(tmp_path / "run", histogram_freq=2, update_freq=2)])
    train = _events.read_events(event_files(tmp_path / "run" / "train"))
    val = _events.read_events(event_files(tmp_path / "run" / "validation"))
    assert train[0]["file_version"] == "brain.Event:2" and val[0]["file_version"] == "brain.Event:2"
    ts, vs = scalars(train), scalars(val)
    assert [s for s, _ in ts["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in ts["epoch_loss"]], hist.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in ts["epoch_accuracy"]], hist.history["accuracy"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in vs["epoch_loss"]], hist.history["val_loss"], rtol=1e-6)
    assert set(vs) == {"epoch_loss", "epoch_accuracy"}
    np.testing.assert_allclose([v for _, v in ts["epoch_learning_rate"]], 0.1, rtol=1e-6)
    # 24 training samples, batch 32 -> 1 batch per epoch; update_freq=2 -> global batches 2
    assert [s for s, _ in ts["batch_loss"]] == [2]
    histos = [(ev["step"], v) for ev in train for v in ev["summary"] if "histo" in v]
    assert sorted({s for s, _ in histos}) == [0, 2]
    tags = {v["tag"] for _, v in histos}
    assert tags == {f"{w.name}/histogram" for w in model.weights}
    kernel = next(v["histo"] for s, v in histos if s == 2 and v["tag"] == f"{model.weights[0].name}/histogram")
    w = model.weights[0].data
    assert kernel["num"] == w.size and sum(kernel["bucket"]) == w.size
    assert kernel["min"] == pytest.approx(w.min()) and kernel["max"] == pytest.approx(w.max())


def test_event_reader_checks_crcs(tmp_path):
    w = _events.EventFileWriter(str(tmp_path))
    w.add(3, {"epoch_loss": 0.5})
    w.close()
    events = _events.read_events(w.path)
    assert events[1]["step"] == 3 and events[1]["summary"] == [{"tag": "epoch_loss", "simple_value": 0.5}]
    raw = bytearray(open(w.path, "rb").read())
    bad = bytearray(raw)
    bad[-6] ^= 0x01                                  # flip a bit in the last record's data
    open(tmp_path / "bad", "wb").write(bad)
    with pytest.raises(ValueError, match="data CRC mismatch"):
        _events.read_events(tmp_path / "bad")
    bad = bytearray(raw)
    first = struct.unpack("<Q", raw[:8])[0] + 16
    bad[first] ^= 0x01                               # the second record's length
    open(tmp_path / "bad2", "wb").write(bad)
    with pytest.raises(ValueError, match="length CRC mismatch"):
        _events.read_events(tmp_path / "bad2")
    open(tmp_path / "cut", "wb").write(raw[:-3])
    with pytest.raises(ValueError, match="truncated"):
        _events.read_events(tmp_path / "cut")


def test_tensorboard_argument_checks(tmp_path):
    for kw, match in [({"write_images": True}, "write_images"), ({"profile_batch": 5}, "profiling"),
                      ({"update_freq": "sometimes"}, "update_freq"), ({"histogram_freq": -1}, "histogram_freq"),
                      ({"log_dir": None}, "log_dir")]:
        with pytest.raises(ValueError, match=match):
            TensorBoard(**kw)
    (tmp_path / "file").write_text("x")
    model = small_model()
    with pytest.raises(ValueError, match="not a folder"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path / "file")])


# ---------------------------------------------------------------------------------------------------- argument checks (#18)
@pytest.mark.parametrize("make, match", [
    (lambda: EarlyStopping(patience=None), "patience"), (lambda: EarlyStopping(patience=-1), "patience"),
    (lambda: EarlyStopping(patience=1.5), "patience"), (lambda: EarlyStopping(patience=True), "patience"),
    (lambda: EarlyStopping(min_delta="0.1"), "min_delta"), (lambda: EarlyStopping(min_delta=float("nan")), "min_delta"),
    (lambda: EarlyStopping(mode=None), "mode"), (lambda: EarlyStopping(monitor=None), "monitor"),
    (lambda: EarlyStopping(baseline="low"), "baseline"), (lambda: EarlyStopping(restore_best_weights="False"),
                                                         "restore_best_weights"),
    (lambda: EarlyStopping(start_from_epoch=-2), "start_from_epoch"), (lambda: EarlyStopping(verbose="1"), "verbose"),
    (lambda: LambdaCallback(on_epoch_end=3), "on_epoch_end must be a function"),
    (lambda: LambdaCallback(on_epoch_end=lambda logs: None), r"called as on_epoch_end\(epoch, logs\)"),
    (lambda: LambdaCallback(on_train_begin=lambda a, b, c: None), r"on_train_begin\(logs\)"),
    (lambda: ModelCheckpoint(3), "filepath"), (lambda: ModelCheckpoint("m-{}.npz"), "placeholder"),
    (lambda: ModelCheckpoint("m-{epoch.npz"), "not a valid format"),
    (lambda: ModelCheckpoint("m.npz", save_best_only="yes"), "save_best_only"),
])
def test_callback_arguments_checked_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_integers_accepted():
    EarlyStopping(patience=np.int64(3), start_from_epoch=np.int32(1), min_delta=np.float32(0.1))
    ReduceLROnPlateau(patience=np.int64(2), factor=np.float32(0.5))


@pytest.mark.parametrize("path, match", [
    ("{nope}.npz", r"uses \{nope\}"), ("m-{epoch:zz}.npz", "cannot be formatted"),
    ("m-{val_loss:.2f}.npz", r"uses \{val_loss\}, which the logs will not have \(available: epoch, loss, accuracy\)"), ("m.h5", r"\.npz"),
    ("m.keras", "Keras-only format"), ("", "non-empty"),
])
def test_checkpoint_path_checked_before_epoch_one(tmp_path, path, match):
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / path) if path else path)])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_folder_or_unwritable_path_rejected_before_training(tmp_path):
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match="is a folder"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path))])
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ValueError, match="not a writable folder"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "plain" / "m.npz"))])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_single_callback_instead_of_a_list():
    model = small_model()
    with pytest.raises(TypeError, match=r"a single EarlyStopping; pass callbacks=\[EarlyStopping\(...\)\]"):
        model.fit(*data(), epochs=1, verbose=0, callbacks=EarlyStopping())


def test_checkpoint_save_weights_only(tmp_path):
    model = small_model()
    model.fit(*data(), epochs=2, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "w-{epoch}.npz"),
                                                                       save_weights_only=True)])
    other = small_model()
    other.load_weights(tmp_path / "w-2.npz")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_tensorboard_reads_our_files(tmp_path):
    """Optional oracle: TensorBoard's own EventAccumulator (skipped when tensorboard is not installed)."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = small_model()
    hist = model.fit(*data(), epochs=2, verbose=0, validation_split=0.25, callbacks=[TensorBoard(tmp_path)])
    for sub, key in (("train", "loss"), ("validation", "val_loss")):
        ea = EventAccumulator(str(tmp_path / sub))
        ea.Reload()
        got = [e.value for e in ea.Scalars("epoch_loss")]
        np.testing.assert_allclose(got, hist.history[key], rtol=1e-6)
