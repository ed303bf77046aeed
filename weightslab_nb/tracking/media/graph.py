""":class:`Graph`, :class:`Node` and :class:`Edge`: a network drawn as nodes and edges.

:meth:`Graph.from_torch` builds one from a PyTorch module: its data flow traced with
``torch.fx`` when the module can be traced, otherwise its tree of submodules. torch is imported
only by that method. A graph is saved as one JSON file under ``media/graph/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from weightslab_nb.errors import InvalidTypeError, InvalidValueError
from weightslab_nb.tracking.media._checks import _check_int
from weightslab_nb.tracking.media.base import _FileMedia, _stored_bytes
from weightslab_nb.tracking.media.json_metadata import _json_bytes

_NODE_FIELDS = ("id", "name", "class_name", "size", "parameters", "output_shape", "is_output",
                "num_parameters")


class Node:
    """A node of a :class:`Graph`.

    Parameters
    ----------
    id : str or int, optional
        Unique within its graph; :meth:`Graph.add_node` numbers nodes without one.
    name : str, optional
        Shown on the node (defaults to the id).
    class_name : str, optional
        The kind of node (``"Linear"``, ``"relu"``...).
    size : int or list of int, optional
        A size to draw with (e.g. the output width).
    parameters : list, optional
        ``[(name, shape), ...]`` of the node's own parameters.
    output_shape : list, optional
    is_output : bool, optional
    num_parameters : int, optional
        How many parameters the node holds (>= 0).
    node : Node, optional
        Another node to copy every field from (the other arguments are then ignored).

    Raises
    ------
    TypeError, ValueError
        A field of the wrong type, a negative parameter count, or fields JSON cannot hold.
    """

    def __init__(self, id=None, name=None, class_name=None, size=None, parameters=None,
                 output_shape=None, is_output=None, num_parameters=None, node=None):
        if node is not None:
            if not isinstance(node, Node):
                raise InvalidTypeError(f"node: expected a Node to copy, got {type(node).__name__}")
            id, name, class_name, size, parameters, output_shape, is_output, num_parameters = (
                getattr(node, f) for f in _NODE_FIELDS)
        if id is not None and (isinstance(id, bool) or not isinstance(id, (str, int))):
            raise InvalidTypeError(f"id: expected a str or int, got {type(id).__name__}")
        for argument, value in (("name", name), ("class_name", class_name)):
            if value is not None and not isinstance(value, str):
                raise InvalidTypeError(f"{argument}: expected a str, got {type(value).__name__}")
        if num_parameters is not None:
            num_parameters = _check_int(num_parameters, "num_parameters")
            if num_parameters < 0:
                raise InvalidValueError(f"num_parameters: expected >= 0, got {num_parameters}")
        if is_output is not None and not isinstance(is_output, bool):
            raise InvalidTypeError(f"is_output: expected True or False, got {is_output!r}")
        self.id, self.name, self.class_name, self.size = id, name, class_name, size
        self.parameters, self.output_shape = parameters, output_shape
        self.is_output, self.num_parameters = is_output, num_parameters
        _json_bytes(self.to_dict(), f"node {id!r}")  # sizes, shapes, parameters: JSON-able

    def to_dict(self) -> dict:
        """The node's fields that are set, as a JSON-able dict."""
        out = {f: getattr(self, f) for f in _NODE_FIELDS if getattr(self, f) is not None}
        if isinstance(out.get("parameters"), tuple):
            out["parameters"] = list(out["parameters"])
        return out

    def __eq__(self, other) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        return f"<Node {self.id!r} {self.class_name or ''} {self.num_parameters or 0} params>"


class Edge:
    """A directed edge of a :class:`Graph`, from ``from_node`` to ``to_node`` (two Nodes)."""

    def __init__(self, from_node: Node, to_node: Node):
        for argument, value in (("from_node", from_node), ("to_node", to_node)):
            if not isinstance(value, Node):
                raise InvalidTypeError(f"{argument}: expected a Node, got {type(value).__name__}")
        self.from_node, self.to_node = from_node, to_node

    def __iter__(self):
        return iter((self.from_node, self.to_node))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Edge):
            return NotImplemented
        return (self.from_node.id, self.to_node.id) == (other.from_node.id, other.to_node.id)

    __hash__ = None

    def __repr__(self) -> str:
        return f"<Edge {self.from_node.id!r} -> {self.to_node.id!r}>"


class Graph(_FileMedia):
    """A graph of :class:`Node` and :class:`Edge`, typically a network's layers and data flow.

    Parameters
    ----------
    format : str, default "torch"
        A hint for drawing it. :meth:`from_torch` sets ``"torch-fx"`` (traced data flow) or
        ``"torch-modules"`` (the module tree, when tracing failed).

    Attributes
    ----------
    format : str
    nodes : list[Node]
    nodes_by_id : dict
        Id -> node.
    edges : list[Edge]
        Each is iterable as the pair ``(from_node, to_node)``.
    loaded : bool
        True once the graph is complete (set by :meth:`from_torch` and :meth:`from_json`).
    root : Node or None
        The first node added.

    Raises
    ------
    TypeError
        ``format`` is not a string.
    """

    _type = "graph-file"
    _kind_dir = "graph"
    _ext = "graph.json"

    def __init__(self, format: str = "torch"):
        if not isinstance(format, str) or not format:
            raise InvalidTypeError(f"format: expected a non-empty str, got {format!r}")
        self.format = format
        self.nodes: list[Node] = []
        self.nodes_by_id: dict = {}
        self.edges: list[Edge] = []
        self.loaded = False

    @property
    def root(self) -> Node | None:
        """The first node added, or None for an empty graph."""
        return self.nodes[0] if self.nodes else None

    def add_node(self, node: Node | None = None, **kwargs) -> Node:
        """Add ``node`` (or ``Node(**kwargs)``) and return it; a node without an id gets the
        next free number.

        Raises
        ------
        ValueError
            Another node already has its id.
        """
        node = Node(**kwargs) if node is None else node
        if not isinstance(node, Node):
            raise InvalidTypeError(f"node: expected a Node, got {type(node).__name__}")
        if node.id is None:
            node.id = len(self.nodes)
            while node.id in self.nodes_by_id:
                node.id += 1
        if node.id in self.nodes_by_id:
            raise InvalidValueError(f"node: the graph already has a node with id {node.id!r}")
        self.nodes.append(node)
        self.nodes_by_id[node.id] = node
        return node

    def add_edge(self, from_node: Node, to_node: Node) -> Edge:
        """Add and return the edge ``from_node -> to_node`` (both nodes of this graph).

        Raises
        ------
        ValueError
            A node that is not in this graph (add it first).
        """
        edge = Edge(from_node, to_node)
        for argument, node in (("from_node", from_node), ("to_node", to_node)):
            if self.nodes_by_id.get(node.id) is not node:
                raise InvalidValueError(f"{argument}: node {node.id!r} is not in this graph; "
                                        "add it with add_node first")
        self.edges.append(edge)
        return edge

    def to_dict(self) -> dict:
        """``{"format", "nodes": [node dicts], "edges": [[from id, to id], ...]}``."""
        return {"format": self.format, "nodes": [n.to_dict() for n in self.nodes],
                "edges": [[e.from_node.id, e.to_node.id] for e in self.edges]}

    @property
    def _payload(self) -> bytes:
        return _json_bytes(self.to_dict(), "graph")

    def _fields(self) -> dict:
        return {"format": self.format, "nodes": len(self.nodes), "edges": len(self.edges)}

    @classmethod
    def _from_descriptor(cls, descriptor: dict, run_dir: Path) -> "Graph":
        content = json.loads(_stored_bytes(descriptor, run_dir))
        graph = cls(content["format"])
        for fields in content["nodes"]:
            graph.add_node(Node(**fields))
        for from_id, to_id in content["edges"]:
            graph.add_edge(graph.nodes_by_id[from_id], graph.nodes_by_id[to_id])
        graph.loaded = True
        return graph

    @classmethod
    def from_torch(cls, model, trace: bool = True) -> "Graph":
        """The graph of a ``torch.nn.Module``.

        With ``trace`` (the default) the module is traced with ``torch.fx.symbolic_trace``:
        nodes are the inputs, each submodule call (``class_name`` its class, ``num_parameters``
        its parameter count), each function or method applied (``relu``, ``flatten``, ``add``)
        and the output; edges follow the data. A module fx cannot trace (data-dependent
        control flow, untraceable calls) falls back to the module tree: one node per module,
        edges from parent to child (``format`` ``"torch-modules"``).

        Parameters
        ----------
        model : torch.nn.Module
        trace : bool, default True
            False goes straight to the module tree.

        Raises
        ------
        TypeError
            ``model`` is not a ``torch.nn.Module``.
        """
        from weightslab_nb.tracking.media._graph_torch import module_tree, traced_graph

        graph = traced_graph(cls, model) if trace else None
        if graph is None:
            graph = module_tree(cls, model)
        graph.loaded = True
        return graph

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None

    def __repr__(self) -> str:
        return f"<Graph {self.format} {len(self.nodes)} nodes, {len(self.edges)} edges>"

