"""The wandb sweep configuration, checked and read into a :class:`SweepSpec` (no Optuna here).

Accepted keys (anything else is refused, naming the key and what is accepted)::

    method:          "grid" | "random" | "bayes"                       (required)
    metric:          {name: str, goal: "minimize" | "maximize", target: number}
    parameters:      {name: <parameter>, ...}                           (required)
    early_terminate: {type: "hyperband", min_iter, max_iter, eta, s, strict}
    run_cap:         int >= 1 (the most trials the sweep runs, all agents together)
    name, description, project, entity: str (entity is ignored)

A parameter is one of ``{value: v}``, ``{values: [...]}``, ``{min: a, max: b}`` (ints:
``int_uniform``, otherwise ``uniform``), any of them with a ``distribution`` (``constant``,
``categorical``, ``int_uniform``, ``uniform``, ``q_uniform`` with ``q``, ``log_uniform``
whose ``min``/``max`` are natural logs, ``log_uniform_values`` whose bounds are the values),
or ``{parameters: {...}}``: a nested group, which the run's config holds as a nested dict.
``grid`` needs finite choices: ``value``, ``values`` or an ``int_uniform`` range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from weightslab_nb.errors import InvalidTypeError, InvalidValueError

METHODS = ("grid", "random", "bayes")
GOALS = ("minimize", "maximize")
TOP_KEYS = ("method", "metric", "parameters", "early_terminate", "run_cap", "name",
            "description", "project", "entity")
METRIC_KEYS = ("name", "goal", "target")
PARAM_KEYS = ("value", "values", "min", "max", "distribution", "q", "parameters")
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "eta", "s", "strict")
DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "uniform", "q_uniform",
                 "log_uniform", "log_uniform_values")
GRID_LIMIT = 100_000  # grid points at most (an int range is expanded into its values)


@dataclass(frozen=True)
class Parameter:
    """One leaf of the search space.

    ``path`` is the key path in the run's config (``("optimizer", "lr")``), ``name`` its
    dotted form (the Optuna parameter name). ``kind`` is a distribution of
    :data:`DISTRIBUTIONS`; ``low``/``high`` are the value bounds (``log_uniform`` already
    exponentiated); ``choices`` the values of ``constant``/``categorical``.
    """

    path: tuple[str, ...]
    kind: str
    choices: tuple = ()
    low: float | int | None = None
    high: float | int | None = None
    q: float | None = None

    @property
    def name(self) -> str:
        """The dotted path (``"optimizer.lr"``): the parameter's name in the Optuna study."""
        return ".".join(self.path)

    def grid_values(self) -> list:
        """The finite values a grid visits (``int_uniform``: every int of the range)."""
        if self.kind == "int_uniform":
            return list(range(self.low, self.high + 1))
        return list(self.choices)


@dataclass(frozen=True)
class SweepSpec:
    """A checked sweep configuration (see the module docstring); ``config`` is the dict as
    given, ``parameters`` the leaves in the order given."""

    config: dict
    method: str
    parameters: tuple[Parameter, ...]
    metric: str | None = None
    goal: str = "minimize"
    target: float | None = None
    hyperband: dict | None = None
    run_cap: int | None = None
    name: str | None = None
    project: str | None = None
    constants: dict = field(default_factory=dict)

    @property
    def grid_size(self) -> int | None:
        """How many points a grid sweep has (None for the other methods)."""
        if self.method != "grid":
            return None
        return math.prod(len(p.grid_values()) for p in self.parameters)

    @property
    def expected_run_count(self) -> int | None:
        """The trials the sweep runs in all: the grid size or ``run_cap`` (the smaller),
        None when unbounded."""
        counts = [n for n in (self.grid_size, self.run_cap) if n is not None]
        return min(counts) if counts else None


def parse_sweep_config(config) -> SweepSpec:
    """Check a wandb sweep configuration and read it.

    Parameters
    ----------
    config : dict
        See the module docstring.

    Returns
    -------
    SweepSpec

    Raises
    ------
    InvalidTypeError
        ``config`` (or a part of it) is not a dict where one is expected.
    InvalidValueError
        An unknown key, a missing required key, a bad value or range, a distribution that is
        not supported, a grid over a continuous range; the message names the key path (such
        as ``parameters.lr.max``) and what is accepted.
    """
    config = _mapping(config, "sweep config")
    _known(config, TOP_KEYS, "sweep config")
    method = config.get("method")
    if method not in METHODS:
        raise InvalidValueError(f"method: expected one of {list(METHODS)}, got {method!r}")
    metric, goal, target = _metric(config.get("metric"))
    if method == "bayes" and metric is None:
        raise InvalidValueError("metric: method 'bayes' needs a metric to optimize "
                                "({'name': ..., 'goal': 'minimize' | 'maximize'})")
    if "parameters" not in config:
        raise InvalidValueError("parameters: required (a dict of parameter name -> spec)")
    leaves, constants = [], {}
    _parameters(config["parameters"], (), method, leaves, constants)
    if not leaves and method != "grid":
        raise InvalidValueError("parameters: nothing to search (every parameter is a constant "
                                "'value')")
    hyperband = _hyperband(config.get("early_terminate"), metric)
    run_cap = config.get("run_cap")
    if run_cap is not None and (isinstance(run_cap, bool) or not isinstance(run_cap, int)
                                or run_cap < 1):
        raise InvalidValueError(f"run_cap: expected an int >= 1, got {run_cap!r}")
    for key in ("name", "description", "project", "entity"):
        if key in config and (not isinstance(config[key], str) or not config[key].strip()):
            raise InvalidValueError(f"{key}: expected a non-empty string, got {config[key]!r}")
    spec = SweepSpec(dict(config), method, tuple(leaves), metric, goal, target, hyperband,
                     run_cap, config.get("name"), config.get("project"), constants)
    if spec.grid_size is not None and spec.grid_size > GRID_LIMIT:
        raise InvalidValueError(f"parameters: the grid has {spec.grid_size} points, more than "
                                f"{GRID_LIMIT}; use fewer values or method 'random'/'bayes'")
    return spec


def _mapping(value, where: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"{where}: expected a dict, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str) or not key:
            raise InvalidValueError(f"{where}: keys must be non-empty strings, got {key!r}")
    return value


def _known(mapping: Mapping, accepted: tuple, where: str) -> None:
    unknown = [k for k in mapping if k not in accepted]
    if unknown:
        raise InvalidValueError(f"{where}: unknown key {unknown[0]!r}; accepted: "
                                f"{', '.join(accepted)}")


def _number(value, where: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise InvalidValueError(f"{where}: expected a finite number, got {value!r}")
    return value


def _metric(metric) -> tuple[str | None, str, float | None]:
    if metric is None:
        return None, "minimize", None
    metric = _mapping(metric, "metric")
    _known(metric, METRIC_KEYS, "metric")
    name = metric.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueError(f"metric.name: expected the logged key to optimize (a "
                                f"non-empty string), got {name!r}")
    goal = metric.get("goal", "minimize")
    if goal not in GOALS:
        raise InvalidValueError(f"metric.goal: expected one of {list(GOALS)}, got {goal!r}")
    target = metric.get("target")
    if target is not None:
        target = _number(target, "metric.target")
    return name, goal, target


def _parameters(params, prefix: tuple, method: str, leaves: list, constants: dict) -> None:
    where = "parameters" if not prefix else f"parameters.{'.parameters.'.join(prefix)}" \
        ".parameters"
    params = _mapping(params, where)
    if not params:
        raise InvalidValueError(f"{where}: expected at least one parameter")
    for name, spec in params.items():
        if "." in name or "/" in name:
            raise InvalidValueError(f"{where}: parameter name {name!r} must not hold '.' or "
                                    "'/' (nest a group with 'parameters' instead)")
        path = (*prefix, name)
        here = f"{where}.{name}"
        spec = _mapping(spec, here)
        _known(spec, PARAM_KEYS, here)
        if "parameters" in spec:
            others = [k for k in spec if k != "parameters"]
            if others:
                raise InvalidValueError(f"{here}: a nested group holds only 'parameters', got "
                                        f"also {others}")
            _parameters(spec["parameters"], path, method, leaves, constants)
            continue
        leaf = _leaf(spec, path, here)
        if method == "grid" and leaf.kind not in ("constant", "categorical", "int_uniform"):
            raise InvalidValueError(f"{here}: method 'grid' needs finite choices ('values', "
                                    f"'value' or an int range), got the continuous "
                                    f"distribution {leaf.kind!r}")
        if leaf.kind == "constant":
            constants[path] = leaf.choices[0]
        else:
            leaves.append(leaf)


def _leaf(spec: Mapping, path: tuple, here: str) -> Parameter:
    distribution = spec.get("distribution")
    if distribution is not None and distribution not in DISTRIBUTIONS:
        raise InvalidValueError(f"{here}.distribution: {distribution!r} is not supported; "
                                f"accepted: {', '.join(DISTRIBUTIONS)}")
    if distribution is None:
        if "value" in spec:
            distribution = "constant"
        elif "values" in spec:
            distribution = "categorical"
        elif "min" in spec and "max" in spec:
            ints = all(isinstance(spec[k], int) and not isinstance(spec[k], bool)
                       for k in ("min", "max"))
            distribution = "int_uniform" if ints else "uniform"
        else:
            raise InvalidValueError(f"{here}: expected 'value', 'values', 'min' and 'max', or "
                                    "a nested 'parameters' group")
    if distribution == "constant":
        _only(spec, ("value", "distribution"), here, distribution)
        if "value" not in spec:
            raise InvalidValueError(f"{here}.value: required by distribution 'constant'")
        return Parameter(path, "constant", (spec["value"],))
    if distribution == "categorical":
        _only(spec, ("values", "distribution"), here, distribution)
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise InvalidValueError(f"{here}.values: expected a non-empty list, got {values!r}")
        return Parameter(path, "categorical", tuple(values))
    _only(spec, ("min", "max", "distribution", "q"), here, distribution)
    for key in ("min", "max"):
        if key not in spec:
            raise InvalidValueError(f"{here}.{key}: required by distribution {distribution!r}")
    low, high = _number(spec["min"], f"{here}.min"), _number(spec["max"], f"{here}.max")
    if not low < high:
        raise InvalidValueError(f"{here}: expected min < max, got min={low!r}, max={high!r}")
    q = None
    if distribution == "q_uniform":
        q = _number(spec.get("q", 1.0), f"{here}.q")
        if q <= 0 or q > high - low:
            raise InvalidValueError(f"{here}.q: expected 0 < q <= max - min, got {q!r}")
    elif "q" in spec:
        raise InvalidValueError(f"{here}.q: only distribution 'q_uniform' takes 'q'")
    if distribution == "int_uniform":
        if not all(isinstance(v, int) for v in (low, high)):
            raise InvalidValueError(f"{here}: distribution 'int_uniform' needs int min and max,"
                                    f" got min={low!r}, max={high!r}")
    elif distribution == "log_uniform":  # wandb: min and max are natural logs of the bounds
        low, high = math.exp(low), math.exp(high)
    elif distribution == "log_uniform_values" and low <= 0:
        raise InvalidValueError(f"{here}.min: distribution 'log_uniform_values' needs min > 0, "
                                f"got {low!r}")
    if distribution in ("uniform", "q_uniform", "log_uniform", "log_uniform_values"):
        low, high = float(low), float(high)
    return Parameter(path, distribution, (), low, high, q)


def _only(spec: Mapping, accepted: tuple, here: str, distribution: str) -> None:
    extra = [k for k in spec if k not in accepted]
    if extra:
        raise InvalidValueError(f"{here}.{extra[0]}: not used by distribution "
                                f"{distribution!r} (it takes {', '.join(accepted)})")


def _hyperband(early, metric: str | None) -> dict | None:
    if early is None:
        return None
    early = _mapping(early, "early_terminate")
    _known(early, HYPERBAND_KEYS, "early_terminate")
    if early.get("type") != "hyperband":
        raise InvalidValueError(f"early_terminate.type: expected 'hyperband', got "
                                f"{early.get('type')!r}")
    if metric is None:
        raise InvalidValueError("early_terminate: needs a metric ({'name': ..., 'goal': ...})"
                                " whose logged values decide which runs stop")
    out = {"min_iter": 1, "max_iter": None, "eta": 3}
    for key in ("min_iter", "max_iter", "s"):
        value = early.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise InvalidValueError(f"early_terminate.{key}: expected an int >= 1, got "
                                    f"{value!r}")
        if value is not None and key != "s":
            out[key] = value
    if out["max_iter"] is not None and out["max_iter"] <= out["min_iter"]:
        raise InvalidValueError(f"early_terminate: expected min_iter < max_iter, got "
                                f"min_iter={out['min_iter']}, max_iter={out['max_iter']}")
    eta = early.get("eta", 3)
    if _number(eta, "early_terminate.eta") <= 1:
        raise InvalidValueError(f"early_terminate.eta: expected a number > 1, got {eta!r}")
    out["eta"] = eta
    if "strict" in early and not isinstance(early["strict"], bool):
        raise InvalidValueError(f"early_terminate.strict: expected True or False, got "
                                f"{early['strict']!r}")
    return out
