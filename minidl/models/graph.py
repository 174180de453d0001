"""The graph behind a functional :class:`~minidl.models.Model`: which nodes to run, in which order
(Keras's ``map_graph``, written without recursion so that deep graphs have no depth limit), and the
re-wiring of a graph onto new Inputs when a model's inputs are intermediate tensors."""
from __future__ import annotations

from typing import Any

from ..layers import InputLayer, Layer, _shape_str, unique_name
from ..symbolic import KerasTensor, Node, flatten, map_structure

__all__ = ["map_graph"]


def _check_struct(struct: Any, what: str) -> list[KerasTensor]:
    flat = flatten(struct)
    if not flat:
        raise ValueError(f"Model: {what} is empty; pass the KerasTensor(s) from Input(...) / the layers")
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise TypeError(f"Model: every entry of {what} must be a KerasTensor (from Input(...) or a layer called "
                            f"on one), got {type(t).__name__}: {t!r}")
    if len({id(t) for t in flat}) != len(flat):
        raise ValueError(f"Model: {what} holds the same tensor twice: {[t.name for t in flat]}")
    return flat


def _node_of(t: KerasTensor) -> Node:
    layer, i, _ = t._keras_history
    return layer._inbound_nodes[i]


def _map_graph(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> tuple[list[Node], list[Layer], dict]:
    """(nodes to run in order, layers in Keras's order, node depths) of the graph from inputs to outputs.

    Raises:
        ValueError: when an output needs an Input that is not among ``inputs`` (naming it), when an input
            does not reach any output, or when two layers share a name.
    """
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    order: list[Node] = []  # post-order: every node after the nodes it depends on
    layer_index: dict[int, int] = {}
    layers_by_id: dict[int, Layer] = {}
    for out in outputs:
        stack: list[tuple[KerasTensor, bool, Any]] = [(out, False, None)]
        while stack:
            tensor, expanded, consumer = stack.pop()
            if tensor._keras_history is None:
                raise ValueError(f"Model: {tensor!r} was not produced by Input(...) or a layer")
            node = _node_of(tensor)
            if expanded:
                finished.add(id(node))
                order.append(node)
                continue
            if id(node) in finished:
                continue
            layer = node.layer
            if id(layer) not in layer_index:
                layer_index[id(layer)] = len(layer_index)
                layers_by_id[id(layer)] = layer
            is_input = id(tensor) in input_ids
            if node.is_input and not is_input:
                given = ", ".join(repr(t.name) for t in inputs)
                needed_by = f" needed by layer {consumer.name!r}" if consumer is not None else ""
                raise ValueError(
                    f"Graph disconnected: cannot obtain the value of tensor {tensor.name!r} (the Input "
                    f"{layer.name!r}, shape {_shape_str(tensor.shape)}){needed_by}: it is not among the "
                    f"model's inputs [{given}]; add it to inputs=")
            stack.append((tensor, True, consumer))
            if not is_input:
                for t in reversed(node.input_tensors):
                    stack.append((t, False, layer))
    # Depths, as Keras: a node is deeper than every node that consumes its outputs.
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(order):
        d = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = d
        node_depth[id(node)] = d
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(d + 1, node_depth.get(id(parent), 0))
    used = {id(t) for node in order for t in node.output_tensors}
    for t in inputs:
        if id(t) not in used:
            raise ValueError(f"Model: the input {t.name!r} (shape {_shape_str(t.shape)}) is not connected to any "
                             f"output: no output depends on it; remove it from inputs= or use it")
    position = {id(n): i for i, n in enumerate(order)}
    nodes = sorted(order, key=lambda n: (-node_depth[id(n)], position[id(n)]))
    layers = sorted(layers_by_id.values(), key=lambda l: (-layer_depth[id(l)], layer_index[id(l)]))
    names: dict[str, Layer] = {}
    for l in layers:
        if l.name in names and names[l.name] is not l:
            raise ValueError(f"Model: the name {l.name!r} is used by two layers ({type(names[l.name]).__name__} and "
                             f"{type(l).__name__}); all layer names in a model must be unique: pass name= to one")
        names[l.name] = l
    return [n for n in nodes if not n.is_input], layers, node_depth


def _clone_from(inputs: Any, outputs: Any) -> tuple[Any, Any]:
    """Inputs that are not Input tensors (``Model(encoded, decoded)``): new Inputs of the same shapes, and the
    layers between them and the outputs called again on them (shared layers, new nodes), as Keras does."""
    flat_in = flatten(inputs)
    new_in = {}
    for t in flat_in:
        if isinstance(t._keras_history[0], InputLayer):
            new_in[id(t)] = t
        else:
            new_in[id(t)] = InputLayer(shape=t.shape[1:], dtype=t.dtype, name=unique_name("input_layer")).output
    mapping = dict(new_in)
    # the nodes between the given inputs and the outputs, in dependency order (iterative post-order)
    input_ids = {id(t) for t in flat_in}
    order, seen = [], set()
    for out in flatten(outputs):
        stack = [(out, False)]
        while stack:
            t, expanded = stack.pop()
            if id(t) in input_ids:
                continue
            node = _node_of(t)
            if expanded:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
                continue
            if id(node) in seen:
                continue
            stack.append((t, True))
            for s in reversed(node.input_tensors):
                stack.append((s, False))
    for node in order:
        if node.is_input:
            for t in node.output_tensors:
                mapping.setdefault(id(t), t)
            continue
        args, kwargs = map_structure(lambda v: mapping.get(id(v), v) if isinstance(v, KerasTensor) else v,
                                     (list(node.args), dict(node.kwargs)))
        out = node.layer(*args, **kwargs)
        for old, new in zip(node.output_tensors, flatten(out)):
            mapping[id(old)] = new
    remap = lambda v: mapping[id(v)]  # noqa: E731
    return map_structure(remap, inputs), map_structure(remap, outputs)


map_graph = _map_graph
