"""Building a :class:`~weightslab_nb.tracking.media.graph.Graph` from a PyTorch module: its
data flow traced with ``torch.fx``, or its tree of submodules when tracing fails."""

from __future__ import annotations

from weightslab_nb.errors import InvalidTypeError


def _check_module(model):
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidTypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _own_parameters(module) -> list:
    return [[name, list(p.shape)] for name, p in module.named_parameters(recurse=False)]


def _target_name(target) -> str:
    return getattr(target, "__name__", None) or str(target)


def traced_graph(graph_class, model):
    """The data-flow graph of ``model`` traced with ``torch.fx``, or None when fx cannot trace
    it (the caller falls back to :func:`module_tree`)."""
    _check_module(model)
    import torch.fx

    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001 - fx raises many kinds (TraceError, TypeError...)
        return None
    # results nothing uses (an LSTM's final states when only its output is used) are not part
    # of the data flow: fx drops them (calls with side effects stay)
    traced.graph.eliminate_dead_code()
    modules = dict(model.named_modules())
    graph = graph_class("torch-fx")
    found = {}
    for fx_node in traced.graph.nodes:
        if fx_node.op == "call_module":
            module = modules[fx_node.target]
            node = graph.add_node(id=fx_node.name, name=fx_node.target,
                                  class_name=type(module).__name__,
                                  num_parameters=_count(module),
                                  parameters=_own_parameters(module) or None)
        elif fx_node.op in ("call_function", "call_method"):
            node = graph.add_node(id=fx_node.name, name=fx_node.name,
                                  class_name=_target_name(fx_node.target), num_parameters=0)
        elif fx_node.op == "get_attr":
            node = graph.add_node(id=fx_node.name, name=str(fx_node.target),
                                  class_name="attribute", num_parameters=0)
        elif fx_node.op == "placeholder":
            node = graph.add_node(id=fx_node.name, name=fx_node.name, class_name="input",
                                  num_parameters=0)
        else:  # output
            node = graph.add_node(id=fx_node.name, name="output", class_name="output",
                                  num_parameters=0, is_output=True)
        found[fx_node] = node
        for source in fx_node.all_input_nodes:
            graph.add_edge(found[source], node)
    return graph


def module_tree(graph_class, model):
    """The tree of ``model``'s submodules: a node per module (id its qualified name, the root
    ``"model"``), an edge from each module to each direct child."""
    _check_module(model)
    graph = graph_class("torch-modules")
    by_module = {}
    for name, module in model.named_modules():
        if module in by_module:  # a module shared under two names is drawn once
            continue
        by_module[module] = graph.add_node(
            id=name or "model", name=name or type(model).__name__,
            class_name=type(module).__name__, num_parameters=_count(module),
            parameters=_own_parameters(module) or None)
    for module, node in by_module.items():
        for child in module.children():
            graph.add_edge(node, by_module[child])
    return graph
