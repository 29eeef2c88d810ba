"""Every notebook parameter of the study, declared once, and the check of a parameter set.

The runner (``crm-research run``) builds the parameters of a run from three layers, the
notebooks' defaults, a YAML file (``--params``) and the command line (``--seed``,
``--members``), and checks the *whole* set here before the first notebook starts: a bad
value is refused with a message naming the parameter, the value, where it came from and
what is allowed, instead of failing inside a notebook after the earlier ones ran.

``PARAMETERS`` lists each parameter once: its name, the notebooks that take it, its
type, its range or choices, its default and what it does. A test
(``tests/test_params.py``) checks that this registry and the notebooks' ``parameters``
cells agree, so a parameter added to a notebook without being declared here is caught.

A YAML parameters file holds ``name: value`` pairs (for every notebook that has the
parameter) and sections for one notebook, keyed by its number or name::

    seed: 7
    04:                 # YAML reads 04 as the integer 4: both mean notebook 04
      k: 6
    05_churn_analysis:
      horizon_months: 6
"""

from __future__ import annotations

import ast
import datetime as _dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .params_registry import (  # noqa: F401  (re-exported: the public names of params)
    ALL,
    FRACTION,
    PARAMETERS,
    PROBABILITY,
    SEED_MAX,
    Param,
    ParameterError,
)


def registry() -> dict[str, list[Param]]:
    """``{name: [Param, ...]}`` (one name may have one entry per group of notebooks)."""
    out: dict[str, list[Param]] = {}
    for p in PARAMETERS:
        out.setdefault(p.name, []).append(p)
    return out


def spec(name: str, book: str) -> Param | None:
    """The declaration of ``name`` for notebook ``book`` (``"04"``), or None."""
    for p in registry().get(name, []):
        if book in p.notebooks:
            return p
    return None


def names_for(book: str) -> list[str]:
    return [p.name for p in PARAMETERS if book in p.notebooks]


# --- checking one value -----------------------------------------------------------------


def _refuse(name: str, value: Any, allowed: str, where: str) -> ParameterError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return ParameterError(f"{where}parameter {name!r} = {shown} is not allowed: {allowed}")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_value(p: Param, value: Any, where: str = "") -> Any:
    """Return ``value`` checked (and normalised: dates as ISO text) or raise ParameterError."""
    if value is None:
        if p.optional:
            return None
        raise _refuse(p.name, value, p.allowed(), where)
    bad = _refuse(p.name, value, p.allowed(), where)
    if p.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        _bounds(p, value, bad)
        return int(value)
    if p.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        if not math.isfinite(float(value)):
            raise bad
        _bounds(p, float(value), bad)
        return float(value)
    if p.kind == "str":
        if not isinstance(value, str) or (p.choices is not None and value not in p.choices):
            if p.choices is not None and isinstance(value, str):
                close = difflib.get_close_matches(value, [str(c) for c in p.choices], n=1)
                if close:
                    raise ParameterError(f"{bad}; did you mean {close[0]!r}?")
            raise bad
        if p.name == "date_format" and "%" not in value:
            raise _refuse(p.name, value, "a strptime format such as '%d.%m.%Y'", where)
        if p.name == "encoding":
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise _refuse(
                    p.name, value, "a Python codec name ('utf-8', 'big5')", where
                ) from None
        return value
    if p.kind == "date":
        if isinstance(value, _dt.datetime):
            value = value.date()
        if isinstance(value, _dt.date):
            return value.isoformat()
        if not isinstance(value, str) or not _DATE.match(value.strip()):
            raise bad
        try:
            return _dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise bad from None
    if p.kind == "list":
        if not isinstance(value, list) or not value or len(set(map(str, value))) < len(value):
            raise bad
        if p.choices is not None and any(v not in p.choices for v in value):
            raise bad
        return list(value)
    if p.kind == "matrix":
        return _check_matrix(p, value, bad, where)
    return value


def _bounds(p: Param, x: float, bad: ParameterError) -> None:
    if p.low is not None and (x < p.low or (p.low_open and x == p.low)):
        raise bad
    if p.high is not None and (x > p.high or (p.high_open and x == p.high)):
        raise bad


def _check_matrix(p: Param, value: Any, bad: ParameterError, where: str) -> Any:
    if not isinstance(value, list) or len(value) != 5:
        raise bad
    nums = []
    for row in value:
        if not isinstance(row, list) or len(row) != 5:
            raise bad
        r = []
        for v in row:
            try:
                if isinstance(v, bool):
                    raise ValueError
                f = Fraction(str(v).strip()) if not isinstance(v, float) else Fraction(v)
            except (ValueError, ZeroDivisionError):
                raise bad from None
            if f <= 0:
                raise bad
            r.append(float(f))
        nums.append(r)
    for i in range(5):
        for j in range(5):
            if abs(nums[i][j] * nums[j][i] - 1.0) > 0.02:
                raise _refuse(
                    p.name,
                    value,
                    f"{p.allowed()}; entries ({i + 1},{j + 1}) = {value[i][j]!r} and "
                    f"({j + 1},{i + 1}) = {value[j][i]!r} are not reciprocal",
                    where,
                )
    return value


def parse_cli_int(name: str, text: str, *, low: int | None = None) -> int:
    """An integer option from the command line, refused with a clear message."""
    try:
        v = int(str(text).strip())
    except ValueError:
        raise ParameterError(
            f"option --{name} = {text!r} is not allowed: an integer"
            + (f" >= {low}" if low is not None else "")
        ) from None
    if low is not None and v < low:
        raise ParameterError(f"option --{name} = {v} is not allowed: an integer >= {low}")
    return v


# --- a whole parameter set --------------------------------------------------------------


@dataclass
class Resolved:
    """The checked parameters of a run: per selected notebook, and the run-wide ones."""

    per_book: dict[str, dict[str, Any]]
    seed: int
    values: dict[str, Any] = field(default_factory=dict)  # name -> value (first notebook)


def section_key(key: Any, stems: Iterable[str]) -> str | None:
    """The notebook a YAML section key names (``4``, ``"04"``, ``"04_lrfmc_segmentation"``)."""
    stems = list(stems)
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        key = f"{key:02d}"
    key = str(key).strip()
    for s in stems:
        if key == s or key == s[:2] or (key.isdigit() and key.zfill(2) == s[:2]):
            return s
    return None


def _literal(text: str | None) -> Any:
    try:
        return ast.literal_eval(text) if text is not None else None
    except (ValueError, SyntaxError):
        return None


def resolve(
    declared: dict[str, dict[str, dict]],
    selected: Iterable[str],
    user: Mapping,
    *,
    source: str = "parameters",
    seed: int | None = None,
) -> Resolved:
    """Check a user parameter set against the registry and the notebooks; split it by notebook.

    A value in a notebook's section wins over a top-level one for that notebook; what the
    file does not give keeps the notebook's default. The seed is ``seed`` (the command
    line's), else the file's top-level ``seed``, else the registry's default
    (:data:`~crm_research.config.DEFAULT_SEED`); two different seeds are refused. Every
    section is checked, also those of notebooks this run does not execute, and all
    refusals are reported together, before any notebook runs.

    Parameters
    ----------
    declared : dict
        ``{notebook stem: papermill's parameter inspection}`` for *every* notebook of the
        study (unselected ones too: their sections are checked as well).
    selected : iterable of str
        Stems of the notebooks this run executes.
    user : mapping
        The parameters file's content (top-level names and per-notebook sections).
    source : str
        Where ``user`` came from, for the messages.
    seed : int, optional
        The command line's ``--seed``.

    Returns
    -------
    Resolved
        The checked values per selected notebook (``per_book``: only what the file or
        the command line gave, plus the seed), the seed, and the effective value of each
        parameter (``values``: in the first selected notebook that takes it, defaults
        included).

    Raises
    ------
    ParameterError
        Naming every refused parameter with its value and what is allowed.
    """
    selected = list(selected)
    stems = list(declared)
    errors: list[str] = []
    per_book: dict[str, dict[str, Any]] = {s: {} for s in selected}

    def where_of(name: str, book: str | None) -> str:
        return f"{source}: " + (f"section {book[:2]}: " if book else "")

    def check(book: str, name: str, value: Any, section: bool) -> Any:
        code = book[:2]
        p = spec(name, code)
        where = where_of(name, book if section else None)
        if p is not None:
            if p.runner:
                errors.append(f"{where}parameter {name!r} is {p.allowed()}, not a parameters file")
                return _MISSING
            try:
                return check_value(p, value, where)
            except ParameterError as exc:
                errors.append(str(exc))
                return _MISSING
        # declared by the notebook but not (yet) in the registry: the notebook's default
        # gives the type (tests/test_params.py reports the missing declaration)
        default = _literal(declared[book].get(name, {}).get("default"))
        if default is not None and value is not None:
            ok = isinstance(value, type(default)) and not (
                isinstance(value, bool) and not isinstance(default, bool)
            )
            if isinstance(default, float) and isinstance(value, int):
                ok = not isinstance(value, bool)
            if not ok:
                errors.append(
                    f"{where}parameter {name!r} = {value!r} is not allowed: "
                    f"a {type(default).__name__} like its default {default!r}"
                )
                return _MISSING
        return value

    def known_in(book: str) -> set[str]:
        return set(declared[book]) | set(names_for(book[:2]))

    user = dict(user or {})
    for key, value in user.items():
        book = section_key(key, stems)
        if isinstance(value, Mapping) or book is not None:
            if book is None:
                errors.append(
                    f"{source}: section {key!r} names no notebook; the study has "
                    f"{[s[:2] for s in stems]}"
                )
                continue
            if not isinstance(value, Mapping):
                errors.append(
                    f"{source}: section {key!r} must map parameter names to values, got {value!r}"
                )
                continue
            for name, v in value.items():
                name = str(name)
                if name not in known_in(book):
                    close = difflib.get_close_matches(name, sorted(known_in(book)), n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    errors.append(
                        f"{source}: section {book[:2]}: unknown parameter {name!r}; notebook "
                        f"{book} takes {sorted(known_in(book) - _runner_names())}{hint}"
                    )
                    continue
                checked = check(book, name, v, True)
                if checked is not _MISSING and book in per_book:
                    per_book[book][name] = checked
            continue
        name = str(key)
        holders = [s for s in stems if name in known_in(s)]
        if not holders:
            every = sorted({n for s in stems for n in known_in(s)} - _runner_names())
            close = difflib.get_close_matches(name, every, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(f"{source}: unknown parameter {name!r}; the notebooks take {every}{hint}")
            continue
        for book in holders:
            checked = check(book, name, value, False)
            if checked is _MISSING:
                break  # one message per top-level name
            if book in per_book and name not in _section_names(user, book, stems):
                per_book[book][name] = checked

    # the seed: --seed, else the file's top-level seed, else the notebooks' default
    file_seed = user.get("seed")
    if seed is not None:
        p = spec("seed", "01")
        try:
            seed = check_value(p, seed, "command line: ")
        except ParameterError as exc:
            errors.append(str(exc))
            seed = None
        if file_seed is not None and seed is not None and file_seed != seed:
            errors.append(
                f"two seeds given: {seed} (command line) and {file_seed!r} ({source}); give one"
            )
    if errors:
        raise ParameterError(_join(errors))
    if seed is None:
        seed = file_seed if isinstance(file_seed, int) else spec("seed", "01").default
    for s in selected:
        if "seed" in declared[s] or spec("seed", s[:2]):
            per_book[s]["seed"] = int(seed)

    # values that only make sense together
    eff = {s: _effective(s, declared[s], per_book.get(s, {})) for s in stems}
    errors += _check_together(eff, source)
    if errors:
        raise ParameterError(_join(errors))
    values: dict[str, Any] = {}
    for s in selected:
        for k, v in eff[s].items():
            values.setdefault(k, v)
    return Resolved(per_book, int(seed), values)


_MISSING = object()


def _runner_names() -> set[str]:
    return {p.name for p in PARAMETERS if p.runner}


def _section_names(user: Mapping, book: str, stems: list[str]) -> set[str]:
    """Names set in ``book``'s own section (they win over top-level values)."""
    for key, value in user.items():
        if isinstance(value, Mapping) and section_key(key, stems) == book:
            return {str(k) for k in value}
    return set()


def _effective(book: str, declared: dict, given: dict) -> dict[str, Any]:
    out = {}
    for name, info in declared.items():
        out[name] = _literal(info.get("default"))
    for p in PARAMETERS:
        if book[:2] in p.notebooks and p.name not in out:
            out[p.name] = p.default_for(book[:2])
    out.update(given)
    return out


def _check_together(eff: dict[str, dict[str, Any]], source: str) -> list[str]:
    errors = []
    for book, v in eff.items():
        code = book[:2]
        if code == "04" and all(isinstance(v.get(n), int) for n in ("k_min", "k_max")):
            if v["k_min"] > v["k_max"]:
                errors.append(
                    f"{source}: parameters 'k_min' = {v['k_min']} and 'k_max' = {v['k_max']} "
                    "are not allowed: k_min <= k_max"
                )
        if code == "06" and all(isinstance(v.get(n), float) for n in ("risk_low", "risk_high")):
            if not v["risk_low"] < v["risk_high"]:
                errors.append(
                    f"{source}: parameters 'risk_low' = {v['risk_low']} and 'risk_high' = "
                    f"{v['risk_high']} are not allowed: risk_low < risk_high"
                )
        if code == "05" and all(
            isinstance(v.get(n), int | float) for n in ("churn_below", "retain_from")
        ):
            if v["churn_below"] > v["retain_from"]:
                errors.append(
                    f"{source}: parameters 'churn_below' = {v['churn_below']} and "
                    f"'retain_from' = {v['retain_from']} are not allowed: "
                    "churn_below <= retain_from"
                )
    return errors


def check_against_data(
    values_by_book: dict[str, dict[str, Any]], n_members: int, obs_end: str | None = None
) -> None:
    """Refuse parameters that the input makes impossible: more clusters than members, a
    calibration period that ends on or after the observation end."""
    errors = []
    for book, v in values_by_book.items():
        cal = v.get("calibration_end")
        if book[:2] == "02" and cal and obs_end and str(cal) >= str(obs_end)[:10]:
            errors.append(
                f"parameter 'calibration_end' = {cal!r} is not allowed: a date before the "
                f"observation end of the input ({str(obs_end)[:10]})"
            )
        if book[:2] != "04":
            continue
        for name in ("k", "k_max"):
            k = v.get(name)
            if isinstance(k, int) and k > n_members:
                errors.append(
                    f"parameter {name!r} = {k} is not allowed: at most the number of members "
                    f"in the input ({n_members:,})"
                )
    if errors:
        raise ParameterError(_join(errors))


def _join(errors: list[str]) -> str:
    if len(errors) == 1:
        return errors[0]
    return f"{len(errors)} parameters refused:\n  " + "\n  ".join(errors)
