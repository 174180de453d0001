"""The :class:`Sequential` model: a stack of layers, each feeding the next."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import layers as layers_module
from ..autograd import Tensor
from ..layers import InputLayer, Layer, _shape_str, unique_name
from ..symbolic import KerasTensor
from . import saving, weights_file
from . import summary as summary_module
from .trainer import Trainer, _tree

__all__ = ["Sequential"]


# ---------------------------------------------------------------------------------------------------- Sequential
class Sequential(Trainer, Layer):
    """A stack of layers, each feeding the next.

    Args:
        layers: the layers (an :func:`~minidl.layers.Input` first gives the input shape).
        name: default 'sequential', 'sequential_1', ...

    Training (compile / fit / evaluate / predict and their attributes) comes from
    :class:`~minidl.models.trainer.Trainer`.
    """

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name=name, trainable=trainable)
        self._layers: list[Layer] = []
        self._input_layer: InputLayer | None = None
        # The symbolic graph (model.inputs / outputs, layer.input / output), grown as layers are added once
        # the input shape is known: the input KerasTensor and (layer, output KerasTensor) per layer.
        self._graph_input: KerasTensor | None = None
        self._graph_outputs: list[tuple[Layer, KerasTensor]] = []
        self._init_trainer()
        for layer in layers or []:
            self.add(layer)

    # -------------------------------------------------------------- structure
    def _sublayers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def layers(self) -> list[Layer]:
        """The layers (the Input is not one of them, as in Keras)."""
        return list(self._layers)

    def _known_input_shape(self) -> tuple | None:
        if self._batch_input_shape is not None:
            return self._batch_input_shape
        if self._layers and self._layers[0].built and self._layers[0].input_shape is not None:
            return self._layers[0].input_shape
        return None

    def _propagate(self, input_shape: tuple, layers: Sequence[Layer]) -> tuple:
        """Builds unbuilt layers along the way and returns the output shape; checks that already-built
        layers with weights (shared with another model) get the shape they were built for."""
        shape = (None, *tuple(input_shape)[1:])
        for layer in layers:
            if layer.built:
                if layer.weights and layer.input_shape is not None and tuple(layer.input_shape[1:]) != shape[1:]:
                    raise ValueError(
                        f"layer {layer.name!r} ({type(layer).__name__}) was built for inputs of shape "
                        f"{_shape_str(layer.input_shape)} but receives {_shape_str(shape)}"
                    )
                shape = tuple(layer.compute_output_shape(shape))
            else:
                layer._ensure_built(shape)
                shape = tuple(layer.output_shape)
        return shape

    def add(self, layer: Layer) -> None:
        """Appends a layer. When the input shape is known, the layer is built at once, so that a layer that
        cannot take the previous output fails here.

        Raises:
            TypeError: for something that is not a Layer.
            ValueError: for an incompatible layer (the model is unchanged).
        """
        if isinstance(layer, KerasTensor):  # Input(...) returns its InputLayer's tensor
            history = layer._keras_history
            if history is None or not isinstance(history[0], InputLayer):
                raise TypeError(f"Sequential.add expects a Layer or an Input(...), got {layer!r}, which is the output "
                                "of a layer: build a functional Model(inputs, outputs) instead")
            layer = history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if layer is self or any(sub is self for sub in _tree([layer])):
            raise ValueError(f"Sequential.add: model {self.name!r} cannot contain itself "
                             f"(adding {layer.name!r} would make a cycle)")
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise ValueError("an Input can only be the first entry of a Sequential model")
            self._input_layer = layer
            self._batch_input_shape = layer.shape
            return
        if not self._layers and self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape
        clash = next((l for l in self._layers if l.name == layer.name and l is not layer), None)
        if clash is not None:
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name {layer.name!r} "
                             f"is already the name of a layer in model {self.name!r} ({type(clash).__name__}); pass "
                             "a unique name= to the new layer")
        shape = self._known_input_shape()
        if shape is not None:
            self._propagate(shape, [*self._layers, layer])  # raises before the layer is appended
        self._layers.append(layer)
        try:
            self._refresh_shapes()
        except Exception:
            self._layers.pop()
            self._refresh_shapes()
            raise

    def pop(self) -> Layer:
        """Removes and returns the last layer.

        Raises:
            ValueError: when there are no layers.
        """
        if not self._layers:
            raise ValueError("pop: the model has no layers")
        layer = self._layers.pop()
        self._refresh_shapes()
        return layer

    def _refresh_shapes(self) -> None:
        shape = self._known_input_shape()
        if shape is not None and self._layers:
            self.output_shape = self._propagate(shape, self._layers)
            self.input_shape = (None, *tuple(shape)[1:])
            self.built = True
        else:
            self.built = False
            self.output_shape = None
        self._sync_graph()

    def _sync_graph(self) -> None:
        """Calls the layers not yet in the symbolic graph on KerasTensors (once each), so that
        ``model.inputs``, ``model.outputs`` and ``layer.output`` exist as in Keras. Layers removed by
        :meth:`pop` drop out of it."""
        shape = self._known_input_shape()
        if shape is None:
            return
        if self._graph_input is None or tuple(self._graph_input.shape[1:]) != tuple(shape[1:]):
            inp = self._input_layer
            if inp is None or tuple(inp.shape[1:]) != tuple(shape[1:]):
                inp = InputLayer(shape=tuple(shape[1:]), dtype=self.dtype, name=unique_name("input_layer"))
            self._graph_input, self._graph_outputs = inp.output, []
        keep = 0
        while keep < min(len(self._graph_outputs), len(self._layers)) and self._graph_outputs[keep][0] is self._layers[keep]:
            keep += 1
        del self._graph_outputs[keep:]
        x = self._graph_outputs[-1][1] if self._graph_outputs else self._graph_input
        for layer in self._layers[keep:]:
            x = layer(x)
            self._graph_outputs.append((layer, x))

    def _graph(self, what: str) -> None:
        if self._graph_input is None or len(self._graph_outputs) != len(self._layers) or not self._layers:
            raise AttributeError(f"Sequential model {self.name!r} has no defined {what} yet: give it an input shape "
                                 "(Input(shape) first) or build / call it on data")

    @property
    def inputs(self) -> list[KerasTensor]:
        """``[input KerasTensor]`` once the input shape is known (Keras's ``model.inputs``)."""
        self._graph("inputs")
        return [self._graph_input]

    @property
    def outputs(self) -> list[KerasTensor]:
        """``[output KerasTensor]`` of the last layer, once built."""
        self._graph("outputs")
        return [self._graph_outputs[-1][1]]

    @property
    def input(self) -> KerasTensor:
        return self.inputs[0]

    @property
    def output(self) -> KerasTensor:
        return self.outputs[0]

    def build(self, input_shape: Sequence[Any] | None = None) -> None:
        """Builds every layer for inputs of ``input_shape`` (batch first, e.g. ``(None, 784)``); default
        the shape given by an Input or the first layer's ``input_shape=``.

        Raises:
            ValueError: when no input shape is known, or a layer cannot take its input.
        """
        if input_shape is None:
            input_shape = self._known_input_shape()
            if input_shape is None:
                raise ValueError(
                    f"model {self.name!r}: no input shape is known; pass build((None, ...)), start the model with "
                    "Input(shape) or give the first layer input_shape=, or call the model on a batch of data"
                )
        input_shape = tuple(input_shape)
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers; add() some first")
        self._propagate(input_shape, self._layers)
        if self._batch_input_shape is None:
            self._batch_input_shape = (None, *input_shape[1:])
        self.built = True
        self.input_shape = (None, *input_shape[1:])
        self.output_shape = self._propagate(input_shape, self._layers)
        self._sync_graph()

    def _ensure_built(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def compute_output_shape(self, input_shape):
        return self._propagate(input_shape, self._layers)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return self._run(x, training, logits=False)

    def _run(self, x: Tensor, training: bool, logits: bool) -> Tensor:
        """Runs the layers in turn (the last one's pre-activation with ``logits``); collects the layers'
        loss terms (activity regularization, add_loss) into this model's :attr:`losses`."""
        self.losses = []
        last = len(self._layers) - 1
        for i, layer in enumerate(self._layers):
            if logits and i == last:
                x = layer.pre_activation(x, training=training)
            else:
                x = layer(x, training=training)
            if layer.losses:
                self.losses.extend(layer.losses)
        return x

    def __call__(self, x: Any, *args: Any, training: bool = False, **kwargs: Any) -> Any:
        """Tensor in, Tensor out (graph recorded unless inside ``no_grad``): ``Sequential(model.layers[:k])``
        shares the layer objects, so it is the encoder half of an autoencoder. On a KerasTensor, the model
        is one node of a functional graph."""
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers")
        return super().__call__(x, *args, training=training, **kwargs)

    # -------------------------------------------------------------- hooks of the trainer
    def _check_input(self, x: np.ndarray, what: str = "x") -> tuple:
        """Checks ``x`` against the model's input shape (building the model on first use); returns the output
        shape. Raises ValueError with the expected and received shapes."""
        if not self._layers:
            raise ValueError(f"model {self.name!r} has no layers; add() some before using it")
        expected = self._known_input_shape()
        got = (None, *x.shape[1:])
        if expected is not None and tuple(expected[1:]) != got[1:]:
            raise ValueError(
                f"{what} does not match the model's input: expected shape {_shape_str(expected)} (batch first), "
                f"got {_shape_str(got)}" + (" (a channel axis is missing? use x[..., None])"
                                           if len(got) == len(expected) - 1 else "")
            )
        if not self.built:
            self.build(got)
        return self.output_shape

    def _check_has_layers(self, what: str) -> None:
        if not self._layers:
            raise ValueError(f"{what}: model {self.name!r} has no layers; add() some first")

    def _output_layers(self) -> list[Layer | None]:
        return [self._layers[-1] if self._layers else None]

    def _all_layers(self) -> list[Layer]:
        return _tree(self._layers)

    def _forward_all(self, xs: list[Tensor], training: bool, logits: Sequence[bool]) -> list[Tensor]:
        return [self._run(xs[0], training, bool(logits[0]))]

    @property
    def input_names(self) -> list[str]:
        if self._graph_input is not None:
            return [self._graph_input._keras_history[0].name]
        return [self._input_layer.name if self._input_layer is not None else "input"]

    @property
    def output_names(self) -> list[str]:
        return [self._layers[-1].name] if self._layers else ["output"]

    # -------------------------------------------------------------- summary
    def summary(self, print_fn: Callable[[str], Any] = print, line_length: int = 65, show_macs: bool = False) -> None:
        """Prints the Keras table: layer (type), output shape, parameter count; then the totals.
        ``show_macs=True`` adds each layer's multiply-adds for one sample and their total.

        Works before any data once the input shape is known (Input or ``input_shape=``).

        Raises:
            ValueError: when the model cannot be built yet (no input shape known).
        """
        if not self.built:
            if self._known_input_shape() is None or not self._layers:
                raise ValueError(
                    f"model {self.name!r} has not yet been built: give it an input shape (Input(shape) first, or "
                    "input_shape= on the first layer), call build((None, ...)), or fit/call it on data"
                )
            self.build()
        summary_module.print_summary(self, print_fn, line_length, show_macs)

    # -------------------------------------------------------------- config and saving
    def get_config(self) -> dict[str, Any]:
        shape = self._known_input_shape()
        return {"name": self.name, "trainable": self._trainable,
                "input_shape": None if shape is None else list(shape[1:]),
                "layers": [layers_module.serialize(l) for l in self._layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> "Sequential":
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        if config.get("input_shape") is not None:
            model._batch_input_shape = (None, *config["input_shape"])
        # One scope for the whole (possibly nested) model, so that a DenseTranspose can be re-linked by
        # name to a Dense loaded before it, even in a sibling sub-model.
        with layers_module.loading_scope():
            for spec in config.get("layers", []):
                model.add(layers_module.deserialize(spec, custom_objects))
        return model

    def save(self, filepath: Any) -> None:
        """Saves architecture, weights, and optimizer (config and state) to one ``.npz`` file at exactly
        ``filepath`` (no extension added). :func:`load_model` restores it; training continues with the
        same optimizer state.

        Raises:
            ValueError: for a model that is not built yet (nothing to save).
        """
        weights_file.check_extension(filepath, "save")
        if not self.built:
            raise ValueError(f"save: model {self.name!r} is not built yet (no weights); build or fit it first")
        saving.save_model(self, filepath)
