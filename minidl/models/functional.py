"""The functional :class:`Model`: a graph of layers from symbolic inputs to symbolic outputs.

Keras's functional API, the autoencoder of the "Building Autoencoders in Keras" blog::

    input_img = Input(shape=(784,))
    encoded = Dense(32, activation='relu')(input_img)
    decoded = Dense(784, activation='sigmoid')(encoded)
    autoencoder = Model(input_img, decoded)
    encoder = Model(input_img, encoded)                        # shares the trained layers
    encoded_input = Input(shape=(32,))
    decoder = Model(encoded_input, autoencoder.layers[-1](encoded_input))

How a Model finds what to run (Keras's ``map_graph``, without recursion): starting from the outputs, a
depth-first walk follows each KerasTensor to the :class:`~minidl.symbolic.Node` that produced it and on to
that node's inputs, stopping at the model's inputs. Each node gets a *depth* (0 for the nodes producing
the outputs, and every node deeper than the nodes consuming its outputs); running the nodes by decreasing
depth computes every input of a node before the node. ``model.layers`` is the layers in the same order
(ties broken by the order the walk first met them), as in Keras.

Training, evaluation and prediction are the same code as :class:`~minidl.models.Sequential`'s
(:class:`~minidl.models.trainer.Trainer`); several inputs or outputs take lists or dicts (keyed by the
input names and the output layers' names).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import layers as layers_module
from ..autograd import Tensor, no_grad
from ..layers import InputLayer, Layer, _ActivationMixin, _shape_str, unique_name
from ..symbolic import KerasTensor, flatten, map_structure, pack_like
from . import saving
from . import summary as summary_module
from .graph import _check_struct, _clone_from, _map_graph, _node_of
from .trainer import Trainer, _tree

__all__ = ["Model"]


def _snake(name: str) -> str:
    from ..layers.base import _snake_case

    return _snake_case(name)


class Model(Trainer, Layer):
    """A model made of a graph of layers: ``Model(inputs, outputs)``.

    Subclassing works as in Keras too: ``class MyModel(Model)`` with layers set in ``__init__`` (after
    ``super().__init__()``) and a ``call(inputs, training=False)``; such a model is built on its first batch,
    trains, evaluates and predicts like the others (one input, one output), and saves its weights through
    ``get_weights`` / ``set_weights`` (its architecture is Python code, so ``save`` refuses).

    Args:
        inputs: a KerasTensor from :func:`~minidl.layers.Input`, or a list / dict of them. Tensors computed
            by layers are accepted too (``Model(encoded_input_tensor, decoded)``): new Inputs replace them.
        outputs: the KerasTensor(s) to compute, a single one, a list or a dict.
        name: default 'functional', 'functional_1', ...

    Raises:
        TypeError: for inputs / outputs that are not KerasTensors.
        ValueError: for a disconnected graph (naming the missing or unused input) or duplicate layer names;
            nothing is changed then.
    """

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        if inputs is None and outputs is None and type(self).call is not Model.call:
            # A subclassed model (class MyModel(Model) with its own call): a layer with the trainer.
            object.__setattr__(self, "_subclassed", True)
            Layer.__init__(self, name=name if name is not None else unique_name(_snake(type(self).__name__)),
                           trainable=trainable, **kwargs)
            self._init_trainer()
            return
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs): both are required (the functional API); for a stack of layers "
                            "use Sequential([...]), or subclass Model and define call()")
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(outputs, tuple):
            outputs = list(outputs)
        flat_in = _check_struct(inputs, "inputs")
        _check_struct(outputs, "outputs")
        if any(not isinstance(t._keras_history[0], InputLayer) for t in flat_in if t._keras_history is not None):
            orphans = [t for t in flat_in if t._keras_history is None]
            if orphans:
                raise ValueError(f"Model: {orphans[0]!r} was not produced by Input(...) or a layer")
            inputs, outputs = _clone_from(inputs, outputs)
            flat_in = flatten(inputs)
        flat_out = flatten(outputs)
        nodes, layers, depths = _map_graph(flat_in, flat_out)  # raises before anything is set
        super().__init__(name=name if name is not None else unique_name("functional"), trainable=trainable, **kwargs)
        object.__setattr__(self, "_layers", layers)
        self._nodes = nodes
        self._node_depth = depths
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = flat_in
        self._flat_outputs = flat_out
        consumers: dict[int, int] = {}
        for node in nodes:
            for t in node.input_tensors:
                consumers[id(t)] = consumers.get(id(t), 0) + 1
        self._consumers = consumers
        self.built = True
        self.input_shape = self._shapes(inputs)
        self.output_shape = self._shapes(outputs)
        self._init_trainer()
        if not trainable:
            self.trainable = False

    @staticmethod
    def _shapes(struct: Any) -> Any:
        if isinstance(struct, KerasTensor):
            return struct.shape
        if isinstance(struct, dict):
            return {k: v.shape for k, v in struct.items()}
        return [t.shape for t in flatten(struct)]

    # -------------------------------------------------------------- structure
    _subclassed = False

    def _sublayers(self) -> list[Layer]:
        if self._subclassed:
            return Layer._sublayers(self)
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    @property
    def layers(self) -> list[Layer]:
        """Every layer of the graph, InputLayers included, in Keras's order (by decreasing depth)."""
        if self._subclassed:
            return self._sublayers()
        return list(self._layers)

    def _no_graph(self, what: str) -> None:
        if self._subclassed:
            raise AttributeError(f"model {self.name!r} is a subclassed model: it has no symbolic {what}")

    @property
    def inputs(self) -> list[KerasTensor]:
        self._no_graph("inputs")
        return list(self._flat_inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        self._no_graph("outputs")
        return list(self._flat_outputs)

    @property
    def input(self) -> Any:
        """The input KerasTensor(s), as given (a tensor, list or dict)."""
        self._no_graph("input")
        return self._inputs_struct

    @property
    def output(self) -> Any:
        self._no_graph("output")
        return self._outputs_struct

    @property
    def input_names(self) -> list[str]:
        if self._subclassed:
            return ["input"]
        if isinstance(self._inputs_struct, dict):
            return sorted(self._inputs_struct)
        return [t._keras_history[0].name for t in self._flat_inputs]

    @property
    def output_names(self) -> list[str]:
        """Keys of dict outputs, else the names of the layers producing the outputs (Keras 3)."""
        if self._subclassed:
            return ["output"]
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        names = [t._keras_history[0].name for t in self._flat_outputs]
        if len(set(names)) != len(names):  # one layer giving two outputs
            names = [f"{n}_{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
        return names

    # -------------------------------------------------------------- running the graph
    def _flat_call_inputs(self, inputs: Any) -> list[Any]:
        n = len(self._flat_inputs)
        if isinstance(inputs, dict):
            names = self.input_names
            missing = [k for k in names if k not in inputs]
            unknown = [k for k in inputs if k not in names]
            if missing or unknown:
                raise ValueError(f"model {self.name!r}: inputs dict keys {sorted(inputs)} do not match the model's "
                                 f"inputs {names}" + (f" (missing {missing})" if missing else "")
                                 + (f" (unknown {unknown})" if unknown else ""))
            if isinstance(self._inputs_struct, dict):
                return [inputs[k] for k in sorted(inputs)]
            return [inputs[k] for k in names]
        flat = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
        if len(flat) != n:
            raise ValueError(f"model {self.name!r} expects {n} input(s) ({', '.join(self.input_names)}), got {len(flat)}")
        return flat

    def _run_graph(self, flat_inputs: list[Tensor], training: bool, logits: Sequence[bool] | None = None) -> list:
        """Outputs (flat) for the inputs (flat), running the nodes by decreasing depth; with ``logits[i]`` the
        i-th output is its layer's pre-activation (for a loss fused with the activation)."""
        self.losses = []
        fused = set()
        if logits is not None:
            for t, f in zip(self._flat_outputs, logits):
                if f:
                    fused.add(id(_node_of(t)))
        values: dict[int, Any] = {id(t): v for t, v in zip(self._flat_inputs, flat_inputs)}

        def value(v: Any) -> Any:
            return values[id(v)] if isinstance(v, KerasTensor) else v

        for node in self._nodes:
            args = [map_structure(value, a) for a in node.args]
            kwargs = {k: map_structure(value, v) for k, v in node.kwargs.items()}
            layer = node.layer
            if id(node) in fused:
                out = layer.pre_activation(args[0], training=training)
            else:
                out = layer(*args, training=training, **kwargs)
            if layer.losses:
                self.losses.extend(layer.losses)
            for t, v in zip(node.output_tensors, flatten(out)):
                values[id(t)] = v
        return [values[id(t)] for t in self._flat_outputs]

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> Any:
        flat = [v if isinstance(v, Tensor) else Tensor(v, dtype=self.dtype) for v in self._flat_call_inputs(inputs)]
        return pack_like(self._outputs_struct, self._run_graph(flat, training))

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._subclassed:
            return Layer.compute_output_shape(self, input_shape)
        mine = [t.shape for t in self._flat_inputs]
        given = _flat_shapes(input_shape)
        if len(given) != len(mine) or any(
                len(g) != len(m) or any(a is not None and b is not None and a != b for a, b in zip(g[1:], m[1:]))
                for g, m in zip(given, mine)):
            raise ValueError(f"model {self.name!r} expects input shape(s) {[_shape_str(m) for m in mine]}, got "
                             f"{[_shape_str(g) for g in given]}")
        return self._shapes(self._outputs_struct)

    # -------------------------------------------------------------- hooks of the trainer
    def _n_inputs(self) -> int:
        return 1 if self._subclassed else len(self._flat_inputs)

    def _n_outputs(self) -> int:
        return 1 if self._subclassed else len(self._flat_outputs)

    def _input_shapes(self) -> list[tuple]:
        return [t.shape for t in self._flat_inputs]

    def _output_shapes(self) -> list[tuple]:
        if self._subclassed:
            return [self.output_shape]
        return [t.shape for t in self._flat_outputs]

    def _output_layers(self) -> list[Layer | None]:
        """Per output, the layer whose pre-activation can stand for it (None when it cannot: the output is
        also used inside the graph, or comes from a layer called with several inputs)."""
        if self._subclassed:
            return [None]
        out: list[Layer | None] = []
        seen: set[int] = set()
        for t in self._flat_outputs:
            node = _node_of(t)
            layer = node.layer
            ok = (isinstance(layer, _ActivationMixin) and not node.is_input and len(node.input_tensors) == 1
                  and not node.kwargs and len(node.output_tensors) == 1 and self._consumers.get(id(t), 0) == 0
                  and id(node) not in seen)
            seen.add(id(node))
            out.append(layer if ok else None)
        return out

    def _check_inputs(self, xs: list[np.ndarray], what: str = "x") -> list[tuple]:
        if self._subclassed:
            if not self.built:  # built on its first batch, as Keras builds subclassed models
                with no_grad():
                    self(Tensor(xs[0][:1]))
            elif self.input_shape is not None and tuple(self.input_shape[1:]) != tuple(xs[0].shape[1:]):
                raise ValueError(f"{what}: model {self.name!r} was built for inputs of shape "
                                 f"{_shape_str(self.input_shape)}, got {_shape_str((None, *xs[0].shape[1:]))}")
            return [self.output_shape]
        for i, (a, t) in enumerate(zip(xs, self._flat_inputs)):
            want, got = t.shape, (None, *a.shape[1:])
            if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want[1:], got[1:])):
                which = f"input {self.input_names[i]!r}" if len(xs) > 1 else "the input"
                raise ValueError(f"{what}: {which} of model {self.name!r} expects shape {_shape_str(want)} (batch "
                                 f"first), got {_shape_str(got)}")
        return self._output_shapes()

    def _check_input(self, x: Any, what: str = "x") -> Any:
        shapes = self._check_inputs(x if isinstance(x, list) else [x], what)
        return shapes[0] if len(shapes) == 1 else shapes

    def _pack_outputs(self, flat: list) -> Any:
        if self._subclassed:
            return flat[0]
        return pack_like(self._outputs_struct, flat)

    def _forward_all(self, xs: list[Tensor], training: bool, logits: Sequence[bool]) -> list[Tensor]:
        if self._subclassed:
            out = self._call_with_training(xs[0], (), {}, training)
            self.losses = [t for layer in _tree(self._sublayers()) for t in layer.losses]
            return [out]
        return self._run_graph(xs, training, logits)

    def _all_layers(self) -> list[Layer]:
        return _tree(self._sublayers())

    # -------------------------------------------------------------- summary, config, saving
    def summary(self, print_fn: Callable[[str], Any] = print, line_length: int | None = None,
                show_macs: bool = False) -> None:
        """Prints Keras's table: layer (type), output shape, parameter count and, for a graph that is not a
        simple chain, the "Connected to" column (``layer[node][tensor]`` of each input)."""
        if self._subclassed and not self.built:
            raise ValueError(f"model {self.name!r} (subclassed) has not yet been built: call it on a batch of data "
                             "or fit it first")
        summary_module.print_summary(self, print_fn, line_length, show_macs)

    def _local_nodes(self) -> dict[int, tuple[str, int]]:
        """id(node) -> (layer name, index among that layer's nodes in this model) for every node here."""
        mine = {id(n) for n in self._nodes}
        out: dict[int, tuple[str, int]] = {}
        for layer in self._layers:
            k = 0
            for node in layer._inbound_nodes:
                if id(node) in mine or (node.is_input and isinstance(layer, InputLayer)):
                    out[id(node)] = (layer.name, k)
                    k += 1
        return out

    def get_config(self) -> dict[str, Any]:
        if self._subclassed:
            raise NotImplementedError(
                f"model {self.name!r} is a subclassed model: its architecture is Python code, which minidl does not "
                "save; save its weights with get_weights() (np.savez) and rebuild it with your class and "
                "set_weights(), or build it with the functional API to save it whole")
        local = self._local_nodes()

        def ref(t: KerasTensor) -> dict[str, Any]:
            layer, i, j = t._keras_history
            name, k = local[id(layer._inbound_nodes[i])]
            return {"__keras_tensor__": [name, k, j]}

        mine = {id(n) for n in self._nodes}
        layer_cfgs = []
        for layer in self._layers:
            nodes = [n for n in layer._inbound_nodes if id(n) in mine]
            layer_cfgs.append({**layers_module.serialize(layer), "name": layer.name,
                               "inbound_nodes": [{"args": saving.encode_args(list(n.args), ref),
                                                  "kwargs": saving.encode_args(dict(n.kwargs), ref)} for n in nodes]})
        return {"name": self.name, "trainable": self._trainable, "layers": layer_cfgs,
                "inputs": saving.encode_args(self._inputs_struct, ref),
                "outputs": saving.encode_args(self._outputs_struct, ref)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Model":
        created: dict[str, Layer] = {}
        produced: dict[tuple[str, int], list[KerasTensor]] = {}
        pending: list[tuple[str, int, dict[str, Any]]] = []
        with layers_module.loading_scope():
            for spec in config["layers"]:
                layer = layers_module.deserialize({"class_name": spec["class_name"], "config": spec["config"]},
                                                  custom_objects)
                created[spec["name"]] = layer
                if isinstance(layer, InputLayer):
                    produced[(spec["name"], 0)] = [layer.output]
                    continue
                for k, node_cfg in enumerate(spec.get("inbound_nodes", [])):
                    pending.append((spec["name"], k, node_cfg))

            def resolve(ref: list) -> KerasTensor:
                key = (ref[0], int(ref[1]))
                if key not in produced:
                    raise KeyError(key)
                return produced[key][int(ref[2])]

            while pending:
                progress = False
                for item in list(pending):
                    name, k, node_cfg = item
                    if k > 0 and (name, k - 1) not in produced:
                        continue
                    try:
                        args = saving.decode_args(node_cfg.get("args", []), resolve)
                        kwargs = saving.decode_args(node_cfg.get("kwargs", {}), resolve)
                    except KeyError:
                        continue
                    out = created[name](*args, **kwargs)
                    produced[(name, k)] = flatten(out)
                    pending.remove(item)
                    progress = True
                if not progress:
                    names = sorted({p[0] for p in pending})
                    raise ValueError(f"Model.from_config: cannot rebuild the graph: the inputs of layer(s) {names} are "
                                     "never produced (a corrupt or hand-edited config)")
            inputs = saving.decode_args(config["inputs"], resolve)
            outputs = saving.decode_args(config["outputs"], resolve)
        return cls(inputs, outputs, name=config.get("name"), trainable=config.get("trainable", True))

    def save(self, filepath: Any) -> None:
        """Saves the graph (config), the weights and the optimizer to one ``.npz`` file at exactly
        ``filepath``; :func:`~minidl.models.load_model` rebuilds it, predicting bit-identically."""
        saving.save_model(self, filepath)


def _flat_shapes(struct: Any) -> list[tuple]:
    if isinstance(struct, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in struct):
        return [struct]
    out: list[tuple] = []
    if isinstance(struct, dict):
        for k in sorted(struct):
            out.extend(_flat_shapes(struct[k]))
    else:
        for s in struct:
            out.extend(_flat_shapes(s))
    return out
