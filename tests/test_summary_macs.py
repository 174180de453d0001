"""summary(show_macs=True): a multiply-adds column for both model kinds, counted by hand here."""
import pytest

import minidl
from minidl import layers as L
from minidl.models.summary import layer_macs


def _lines(model, **kw):
    out = []
    model.summary(print_fn=out.append, **kw)
    return out


def test_sequential_lenet_column_and_total_match_the_hand_count():
    m = minidl.Sequential([minidl.Input((28, 28, 1)), L.Conv2D(6, 5, padding="same"), L.MaxPooling2D(2),
                           L.Conv2D(16, 5), L.Flatten(), L.Dense(10)])
    conv1, conv2, dense = 28 * 28 * 5 * 5 * 1 * 6, 10 * 10 * 5 * 5 * 6 * 16, 1600 * 10
    lines = _lines(m, show_macs=True)
    assert any("MACs" in line for line in lines)
    assert any(f"{conv1:,}" in line and "conv2d" in line for line in lines)
    assert lines[-2] == f"Multiply-adds (one sample): {conv1 + conv2 + dense:,}"
    assert not any("MACs" in line for line in _lines(m))   # off by default: Keras's table unchanged


def test_functional_graph_counts_shared_layers_per_call_and_keeps_connected_to():
    inp = minidl.Input((8, 8, 3))
    conv = L.Conv2D(3, 3, padding="same")                    # shared: called twice
    h = L.Add()([conv(inp), conv(conv(inp))])
    model = minidl.Model(inp, L.Dense(2)(L.Flatten()(h)))
    lines = _lines(model, show_macs=True)
    per_call = 8 * 8 * 3 * 3 * 3 * 3
    assert any("Connected to" in line for line in lines)
    assert lines[-2] == f"Multiply-adds (one sample): {3 * per_call + 192 * 2:,}"


def test_transposed_conv_tied_and_nested_layers():
    assert layer_macs(_built(L.Conv2DTranspose(4, 3, strides=2, padding="same"), (None, 5, 5, 2))) == 25 * 9 * 4 * 2
    assert layer_macs(_built(L.TiedAutoencoder(16), (None, 30))) == 2 * 30 * 16
    inner = minidl.Sequential([minidl.Input((6,)), L.Dense(4), L.Dense(3)])
    outer = minidl.Sequential([minidl.Input((6,)), inner])
    assert sum(layer_macs(l) for l in outer.layers) == 6 * 4 + 4 * 3
    with pytest.raises(TypeError, match="show_macs"):
        outer.summary(show_macs="yes")


def _built(layer, shape):
    layer(minidl.Input(shape[1:]))
    return layer
