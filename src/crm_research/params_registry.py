"""The declarations of every notebook parameter (the registry :mod:`crm_research.params` checks).

One :class:`Param` per parameter: name, notebooks, type, range or choices, default and
meaning. The declarations are data, ``resources/parameters.toml`` (its header says what
each field means); this module reads them into :data:`PARAMETERS`.
:mod:`crm_research.params` resolves and checks a whole parameter set against them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import DEFAULT_SEED
from .resources import read_toml


@dataclass(frozen=True)
class Param:
    """One notebook parameter.

    Attributes
    ----------
    name : str
    kind : {"int", "float", "str", "date", "list", "matrix", "path"}
    notebooks : tuple of str
        Notebook numbers (``"01"``...) whose ``parameters`` cell declares it.
    default : object
        The notebooks' default (per notebook when they differ: a mapping).
    doc : str
    low, high : float, optional
        Bounds; ``low_open`` / ``high_open`` make them strict.
    choices : tuple, optional
        Allowed values (for ``str``) or allowed items (for ``list``).
    optional : bool
        ``None`` (YAML ``null``) is allowed.
    runner : bool
        Set by the runner from the command line, never by a parameters file.
    """

    name: str
    kind: str
    notebooks: tuple[str, ...]
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    optional: bool = False
    runner: bool = False
    how: str = ""

    def default_for(self, book: str) -> Any:
        if isinstance(self.default, Mapping):
            return self.default[book]
        return self.default

    def allowed(self) -> str:
        """What is allowed, in words."""
        if self.runner:
            return f"it is set by the runner ({self.how})"
        kind = {
            "int": "an integer",
            "float": "a number",
            "str": "one of",
            "date": "a date YYYY-MM-DD",
            "list": "a non-empty list of distinct items from",
            "matrix": "a 5 x 5 reciprocal matrix of positive numbers or fractions ('1/3')",
            "path": "a path",
        }[self.kind]
        if self.choices is not None:
            text = f"{kind} {list(self.choices)}"
        else:
            text = kind
        if self.low is not None and self.high is not None:
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            text += f" in {lo}{_num(self.low)}, {_num(self.high)}{hi}"
        elif self.low is not None:
            text += f" {'>' if self.low_open else '>='} {_num(self.low)}"
        elif self.high is not None:
            text += f" {'<' if self.high_open else '<='} {_num(self.high)}"
        if self.optional:
            text += ", or null"
        return text


class ParameterError(ValueError):
    """A parameter of the run is refused: the message names it, its value and what is allowed."""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_INTERVAL = re.compile(r"^([\[(])\s*([^,\s]+)\s*,\s*([^,\s]+)\s*([\])])$")


def _number(text: str) -> float:
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)


def _interval(text: str, name: str) -> dict[str, Any]:
    """``"(0.0, 1.0]"`` -> ``low``, ``high``, ``low_open``, ``high_open`` of :class:`Param`."""
    m = _INTERVAL.match(text)
    if m is None:
        raise ValueError(f"parameters.toml: [{name}] range = {text!r} is not '[low, high]'")
    return dict(low=_number(m[2]), high=_number(m[3]), low_open=m[1] == "(", high_open=m[4] == ")")


#: Defaults the data file leaves to the one place that defines them.
_DEFAULTS_FROM_CONFIG = {"seed": DEFAULT_SEED}
#: The notebooks of ``notebooks = "all"``.
ALL = "01 02 03 04 05 06"


def _param(name: str, decl: Mapping[str, Any]) -> Param:
    """One :class:`Param` from its table in ``resources/parameters.toml``."""
    decl = dict(decl)
    notebooks = decl.pop("notebooks")
    kw: dict[str, Any] = {
        "default": decl.pop("default", _DEFAULTS_FROM_CONFIG.get(name)),
        "notebooks": tuple((ALL if notebooks == "all" else notebooks).split()),
    }
    if "range" in decl:
        kw.update(_interval(decl.pop("range"), name))
    if "choices" in decl:
        kw["choices"] = tuple(decl.pop("choices"))
    if "set_by" in decl:
        kw.update(runner=True, how=decl.pop("set_by"))
    return Param(name=name, **kw, **decl)


#: Every notebook parameter, in the order of the data file.
PARAMETERS: tuple[Param, ...] = tuple(
    _param(name, decl) for name, decl in read_toml("parameters.toml").items()
)
#: The largest seed (2**32 - 1: numpy's SeedSequence takes any int >= 0; kept portable).
SEED_MAX = next(p.high for p in PARAMETERS if p.name == "seed")
#: The ranges of a fraction, open at both ends, and of a probability.
FRACTION = dict(low=0.0, high=1.0, low_open=True, high_open=True)
PROBABILITY = dict(low=0.0, high=1.0)
