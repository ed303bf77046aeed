"""The package keeps the layers of DESIGN.md: imports point down, nothing imports in a circle,
only the facade looks up the current session, and no feature reaches into the Session's
private state.

Layers: L0 core data (errors, ledger, history, controller, experiment files), L1 the Session,
L2 features (watch, signals, evaluation, steering, tracking, serving, panels...), L3 the facade
(the package ``__init__``, ``api``) and the command-line entry point. Imports made only for type
checking (``if TYPE_CHECKING:``) do not run and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import weightslab_nb

PACKAGE = Path(weightslab_nb.__file__).parent

# module (or package prefix) -> layer; the longest matching prefix wins
LAYERS = {
    "weightslab_nb.errors": 0, "weightslab_nb.arguments": 0, "weightslab_nb.argtypes": 0,
    "weightslab_nb.control": 0,
    "weightslab_nb.experiment": 0, "weightslab_nb.crashpoints": 0, "weightslab_nb.ledger": 0,
    "weightslab_nb.two_means": 0, "weightslab_nb.access": 0,
    "weightslab_nb.history": 0,
    "weightslab_nb.session": 1, "weightslab_nb.persistence": 1, "weightslab_nb.grid_sort": 1,
    "weightslab_nb.watch": 2, "weightslab_nb.signals": 2, "weightslab_nb.evaluation": 2,
    "weightslab_nb.steering": 2, "weightslab_nb.loss_shapes": 2, "weightslab_nb.suspects": 2,
    "weightslab_nb.metrics": 2,
    "weightslab_nb.tracking": 2, "weightslab_nb.serving": 2, "weightslab_nb.panels": 2,
    "weightslab_nb.demo": 2, "weightslab_nb.commands": 2, "weightslab_nb.distributed": 2,
    "weightslab_nb.offline": 2, "weightslab_nb.data_state": 2,
    "weightslab_nb": 3, "weightslab_nb.api": 3, "weightslab_nb.cli": 3,
}
FACADE = {"weightslab_nb", "weightslab_nb.api"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len,
               default=None)
    assert best is not None, f"{module} has no layer: add it to LAYERS (see DESIGN.md)"
    return LAYERS[best]


def _runtime_nodes(tree: ast.AST):
    """Every node, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(module: str, path: Path) -> set[str]:
    """The package modules ``module`` imports (at module level or inside functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES}
            found |= subs
            if len(subs) < len(node.names) and base in MODULES:
                found.add(base)
    found.discard(module)
    return found


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_layers(module):
    upward = sorted(m for m in GRAPH[module] if _layer(m) > _layer(module))
    assert not upward, (f"{module} (L{_layer(module)}) imports {upward} from a higher layer: "
                        "hand the session (or a hook) down instead")


def test_there_is_no_import_circle():
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in GRAPH:
        if module not in index:
            visit(module)
    assert circles == []


def test_only_the_facade_looks_up_the_current_session():
    users = []
    for module, path in MODULES.items():
        if module in FACADE or module == "weightslab_nb.session":
            continue
        for node in _runtime_nodes(ast.parse(path.read_text())):
            name = node.id if isinstance(node, ast.Name) else \
                node.attr if isinstance(node, ast.Attribute) else \
                next((a.name for a in node.names if a.name == "current_session"), None) \
                if isinstance(node, ast.ImportFrom) else None
            if name == "current_session":
                users.append(f"{module}:{node.lineno}")
    assert users == []


def _session_private_names() -> set[str]:
    """Private attributes and methods the Session class defines in session.py."""
    tree = ast.parse(MODULES["weightslab_nb.session"].read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Session")
    names = {n.name for n in cls.body if isinstance(n, ast.FunctionDef) and n.name.startswith("_")
             and not n.name.startswith("__")}
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == "self" and isinstance(node.ctx, ast.Store) and \
                node.attr.startswith("_") and not node.attr.startswith("__"):
            names.add(node.attr)
    return names


def test_the_private_names_are_found():
    names = _session_private_names()
    assert {"_closed", "_hp", "_exp_hash", "_controller_changed"} <= names


def test_no_module_outside_session_py_touches_a_session_private_attribute():
    private = _session_private_names()
    mixins = {c.__module__ for c in weightslab_nb.Session.__mro__[1:]
              if c.__module__.startswith("weightslab_nb")}
    reach_ins = []
    for module, path in MODULES.items():
        if module == "weightslab_nb.session":
            continue
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if not isinstance(node, ast.Attribute) or node.attr not in private:
                continue
            on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            if module in mixins or not on_self:  # in a mixin, ``self`` is the session
                reach_ins.append(f"{module}:{node.lineno} .{node.attr}")
    assert reach_ins == []


def test_every_exception_class_derives_from_the_package_base():
    from weightslab_nb.errors import WeightslabError

    loose = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and any(
                    (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")).endswith(
                        ("Error", "Exception")) for b in node.bases):
                cls = getattr(__import__(module, fromlist=["_"]), node.name, None)
                if cls is not None and not issubclass(cls, WeightslabError):
                    loose.append(f"{module}.{node.name}")
    assert loose == []
