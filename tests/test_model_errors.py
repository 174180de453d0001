"""Bad input to a model raises a clear error and changes nothing: weights, optimizer state and iterations,
history, compile settings stay bit-identical."""
from __future__ import annotations

import numpy as np
import pytest

import minidl
from minidl import layers as L, models
from minidl.utils import set_random_seed, to_categorical

rng = np.random.default_rng(0)
X = rng.random((24, 6, 6, 1)).astype(np.float32)
Y = rng.integers(0, 3, 24)


def trained(loss: str = "sparse_categorical_crossentropy") -> models.Sequential:
    set_random_seed(0)
    model = models.Sequential([L.Input((6, 6, 1)), L.Conv2D(2, 3, activation="relu"), L.Flatten(),
                               L.Dense(3, activation="softmax")])
    model.compile("adam", loss, metrics=["accuracy"])
    y = Y if loss.startswith("sparse") else to_categorical(Y, 3)
    model.fit(X, y, batch_size=8, epochs=1, verbose=0)  # so that optimizer state and a history exist
    return model


def snapshot(model: models.Sequential) -> dict:
    opt = model.optimizer
    return {
        "weights": model.get_weights(),
        "iterations": None if opt is None else opt.iterations,
        "slots": None if opt is None else {k: {n: np.array(a) for n, a in s.items()} for k, (_, s) in opt._slots.items()},
        "history": model.history,
        "history_data": None if model.history is None else {k: list(v) for k, v in model.history.history.items()},
        "compiled": (opt, model.loss, list(model.metrics)),
    }


def assert_unchanged(model: models.Sequential, before: dict) -> None:
    after = snapshot(model)
    assert len(after["weights"]) == len(before["weights"])
    for a, b in zip(before["weights"], after["weights"]):
        np.testing.assert_array_equal(a, b)
        assert a.tobytes() == b.tobytes()
    assert after["iterations"] == before["iterations"]
    assert after["slots"].keys() == before["slots"].keys()
    for k in before["slots"]:
        for n in before["slots"][k]:
            np.testing.assert_array_equal(before["slots"][k][n], after["slots"][k][n])
    assert after["history"] is before["history"] and after["history_data"] == before["history_data"]
    assert all(a is b for a, b in zip(before["compiled"], after["compiled"][:2]))
    assert [m.name for m in before["compiled"][2]] == [m.name for m in after["compiled"][2]]


NAN_X = X.copy()
NAN_X[3, 2, 2, 0] = np.nan
INF_X = X.copy()
INF_X[0, 0, 0, 0] = np.inf

FIT_CASES = {
    "missing channel axis": (dict(x=X[..., 0], y=Y), ValueError, r"expected shape \(None, 6, 6, 1\).*got \(None, 6, 6\)"),
    "wrong image size": (dict(x=X[:, :5], y=Y), ValueError, r"expected shape \(None, 6, 6, 1\)"),
    "length mismatch": (dict(x=X, y=Y[:-1]), ValueError, "different lengths: 24 samples in x, 23 in y"),
    "labels out of range": (dict(x=X, y=Y + 1), ValueError, "out of range"),
    "one-hot with sparse loss": (dict(x=X, y=to_categorical(Y, 3)), ValueError, "sparse"),
    "batch_size 0": (dict(x=X, y=Y, batch_size=0), ValueError, "batch_size"),
    "batch_size negative": (dict(x=X, y=Y, batch_size=-4), ValueError, "batch_size"),
    "epochs negative": (dict(x=X, y=Y, epochs=-1), ValueError, "epochs"),
    "validation_split 1": (dict(x=X, y=Y, validation_split=1.0), ValueError, r"validation_split must be a number in \[0, 1\)"),
    "validation_split negative": (dict(x=X, y=Y, validation_split=-0.1), ValueError, "validation_split"),
    "validation_split too small": (dict(x=X[:1], y=Y[:1], validation_split=0.1), ValueError, "both need some"),
    "empty x": (dict(x=X[:0], y=Y[:0]), ValueError, "empty"),
    "nan in x": (dict(x=NAN_X, y=Y), ValueError, "1 NaN or Inf"),
    "inf in x": (dict(x=INF_X, y=Y), ValueError, "NaN or Inf"),
    "string x": (dict(x=np.array([["a"]] * 24), y=Y), TypeError, "numeric"),
    "bad validation_data": (dict(x=X, y=Y, validation_data=(X[:4, :5], Y[:4])), ValueError, "validation_data x"),
    "bad verbose": (dict(x=X, y=Y, verbose=3), ValueError, "verbose"),
    "bad callback": (dict(x=X, y=Y, callbacks=[print]), TypeError, "Callback"),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_rejects_bad_input_and_changes_nothing(case):
    kwargs, exc, match = FIT_CASES[case]
    model = trained()
    before = snapshot(model)
    with pytest.raises(exc, match=match):
        model.fit(**{"verbose": 0, **kwargs})
    assert_unchanged(model, before)


def test_integer_labels_with_categorical_loss_say_to_categorical():
    model = trained("categorical_crossentropy")
    before = snapshot(model)
    with pytest.raises(ValueError, match="to_categorical"):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="to_categorical"):
        model.evaluate(X, Y, verbose=0)
    assert_unchanged(model, before)


def test_evaluate_predict_train_on_batch_reject_bad_input():
    model = trained()
    before = snapshot(model)
    with pytest.raises(ValueError, match="expected shape"):
        model.evaluate(X[..., 0], Y, verbose=0)
    with pytest.raises(ValueError, match="expected shape"):
        model.predict(X[:, :, :4])
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(X, batch_size=0)
    with pytest.raises(ValueError, match="out of range"):
        model.train_on_batch(X, Y + 5)
    with pytest.raises(ValueError, match="NaN"):
        model.train_on_batch(NAN_X, Y)
    assert_unchanged(model, before)


def test_fit_before_compile_says_compile_first():
    model = models.Sequential([L.Dense(2, input_shape=(3,))])
    w = model.get_weights()
    with pytest.raises(RuntimeError, match=r"compile"):
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    with pytest.raises(RuntimeError, match=r"compile"):
        model.evaluate(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    for a, b in zip(w, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.history is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="adamx"), "unknown optimizer 'adamx'; known optimizers: adadelta, adagrad, adam, adamw, nadam, rmsprop, sgd"),
    (dict(loss="crossentropy"), "unknown loss 'crossentropy'; known losses: categorical_crossentropy"),
    (dict(metrics=["acuracy"]), "unknown metric 'acuracy'; known metrics: accuracy"),
])
def test_compile_rejects_unknown_names_and_keeps_previous_settings(kwargs, match):
    model = trained()
    before = snapshot(model)
    args = {"optimizer": "sgd", "loss": "mse", "metrics": ["mae"], **kwargs}
    with pytest.raises(ValueError, match=match):
        model.compile(**args)
    assert_unchanged(model, before)


def test_construction_errors_list_known_names():
    with pytest.raises(ValueError, match="known activations: linear, relu, sigmoid, tanh, softmax"):
        L.Conv2D(2, 3, activation="gelu")
    with pytest.raises(ValueError, match="known paddings: valid, same"):
        L.MaxPooling2D(padding="full")


def test_predict_on_empty_model():
    with pytest.raises(ValueError, match="no layers"):
        models.Sequential().predict(X)


def test_incompatible_layer_is_rejected_at_add_and_not_appended():
    model = models.Sequential([L.Input((6, 6, 1)), L.Flatten()])
    with pytest.raises(ValueError, match="rank 4"):
        model.add(L.Conv2D(2, 3))
    assert len(model.layers) == 1


def test_load_model_missing_and_corrupt_files(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        minidl.load_model(missing)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a model" * 10)
    with pytest.raises(ValueError, match="garbage.npz.*is not a minidl model file"):
        minidl.load_model(garbage)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.ones(3))
    with pytest.raises(ValueError, match="is not a minidl model file"):
        minidl.load_model(other)
    truncated = tmp_path / "truncated.npz"
    good = tmp_path / "good.npz"
    trained().save(good)
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="is not a minidl model file"):
        minidl.load_model(truncated)
