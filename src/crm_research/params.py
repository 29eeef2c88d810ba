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

SEED_MAX = 2**32 - 1  # numpy's SeedSequence accepts any non-negative int; keep it portable


class ParameterError(ValueError):
    """A parameter of the run is refused: the message names it, its value and what is allowed."""


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


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _p(name, kind, notebooks, default, doc, **kw) -> Param:
    return Param(name, kind, tuple(notebooks.split()), default, doc, **kw)


ALL = "01 02 03 04 05 06"
FRACTION = dict(low=0.0, high=1.0, low_open=True, high_open=True)
PROBABILITY = dict(low=0.0, high=1.0)

PARAMETERS: tuple[Param, ...] = (
    # --- set by the runner --------------------------------------------------------------
    _p("data_source", "path", "01", "synthetic", "the input", runner=True, how="--data"),
    _p("raw_dir", "path", "01", "../data/raw", "raw input folder", runner=True, how="--raw"),
    _p(
        "processed_dir",
        "path",
        ALL,
        "../data/processed",
        "tables exchanged by notebooks",
        runner=True,
        how="--processed; each run works on its own copy",
    ),
    _p(
        "figures_dir",
        "path",
        ALL,
        "../figures",
        "figures of the run",
        runner=True,
        how="the run folder's figures/",
    ),
    _p(
        "metrics_dir",
        "path",
        ALL,
        "../reports/metrics",
        "metrics of the run",
        runner=True,
        how="the run folder's metrics/",
    ),
    _p("reports_dir", "path", "01 05 06", "../reports", "run folder", runner=True, how="--out"),
    _p(
        "engine",
        "str",
        "01",
        "duckdb",
        "what scans the flight log into the snapshot",
        runner=True,
        how="--engine",
    ),
    _p(
        "spark_master",
        "str",
        "01",
        None,
        "Spark master URL with --engine spark",
        runner=True,
        how="--spark-master",
    ),
    # --- every notebook -----------------------------------------------------------------
    _p("seed", "int", ALL, 42, "the one seed of every random step", low=0, high=SEED_MAX),
    # --- 01 data ------------------------------------------------------------------------
    _p(
        "obs_end",
        "date",
        "01",
        None,
        "observation end (default: inferred from the log, with a sanity rule)",
        optional=True,
    ),
    _p(
        "cleaning",
        "str",
        "01",
        "none",
        "the textbook's cleaning rule (textbook table only)",
        choices=("none", "first_edition", "second_edition"),
    ),
    _p(
        "date_format",
        "str",
        "01",
        None,
        "strptime format of the input's dates when they are ambiguous (day/month), e.g. '%d.%m.%Y'",
        optional=True,
    ),
    _p(
        "encoding",
        "str",
        "01",
        None,
        "encoding of CSV inputs (default: detected; UTF-8, UTF-16 with BOM, GB18030 or Big5)",
        optional=True,
    ),
    _p("top_share_q", "float", "01 06", 0.2, "share of top members in the 80/20 check", **FRACTION),
    # --- 02 purchase models --------------------------------------------------------------
    _p("calibration_end", "date", "02", None, "end of the calibration period", optional=True),
    _p("holdout_weeks", "int", "02", 52, "length of the holdout period", low=1, high=520),
    _p(
        "time_unit",
        "str",
        "02",
        "weeks",
        "time unit of the purchase models",
        choices=("days", "weeks", "months"),
    ),
    _p(
        "penalizer",
        "float",
        "02 03",
        0.0,
        "L2 penalty of the lifetimes fitters",
        low=0.0,
        high=100.0,
    ),
    _p(
        "models",
        "list",
        "02",
        ["bgnbd", "mbgnbd", "pareto"],
        "purchase models to fit",
        choices=("bgnbd", "mbgnbd", "pareto"),
    ),
    _p("max_frequency_plot", "int", "02", 7, "largest frequency in the fit plot", low=1, high=100),
    # --- 03 monetary value and CLV --------------------------------------------------------
    _p(
        "purchase_model",
        "str",
        "02",
        "auto",
        "purchase model carried to CLV and churn (auto: the best-validated one)",
        choices=("auto", "bgnbd", "mbgnbd", "pareto"),
    ),
    _p(
        "margin",
        "float",
        "03 05",
        {"03": 0.1, "05": 0.3},
        "profit margin on revenue",
        low=0.0,
        high=1.0,
        low_open=True,
    ),
    _p(
        "discount_rate_annual",
        "float",
        "03",
        0.1,
        "annual discount rate of CLV",
        low=0.0,
        high=1.0,
        high_open=True,
    ),
    _p(
        "horizon_months",
        "int",
        "03 05",
        {"03": 36, "05": 12},
        "CLV horizon (03), churn horizon (05) in months",
        low=1,
        high=240,
    ),
    _p(
        "n_bootstrap",
        "int",
        "03",
        50,
        "bootstrap replicates of customer equity",
        low=0,
        high=10_000,
    ),
    _p("top_share", "float", "03 04", 0.2, "share of top members by value", **FRACTION),
    _p(
        "spend_independence_threshold",
        "float",
        "03",
        0.2,
        "|Spearman rho| between frequency and spend beyond which Gamma-Gamma's "
        "independence assumption is refused (clv.spend)",
        low=0.0,
        high=1.0,
        high_open=True,
    ),
    # --- 04 segmentation -----------------------------------------------------------------
    _p(
        "cleaning_rule",
        "str",
        "04",
        "first_edition",
        "member cleaning before LRFMC",
        choices=("first_edition", "second_edition", "none"),
    ),
    _p(
        "standardize",
        "str",
        "04",
        "zscore",
        "scaling of the LRFMC variables",
        choices=("zscore", "log_zscore", "none"),
    ),
    _p("ddof", "int", "04", 1, "degrees of freedom of the z-score", low=0, high=1),
    _p("k", "int", "04", 5, "number of clusters", low=2, high=50),
    _p("n_init", "int", "04", 10, "k-means restarts", low=1, high=1000),
    _p("k_min", "int", "04", 2, "smallest k of the k selection", low=2, high=50),
    _p("k_max", "int", "04", 10, "largest k of the k selection", low=2, high=50),
    _p(
        "silhouette_sample",
        "int",
        "04",
        5000,
        "members sampled for the silhouette",
        low=100,
        high=1_000_000,
    ),
    _p("stability_seeds", "int", "04", 3, "seeds of the stability check", low=1, high=100),
    _p(
        "stability_bootstrap",
        "int",
        "04",
        3,
        "bootstrap samples of the stability check",
        low=0,
        high=100,
    ),
    _p(
        "naming_threshold",
        "float",
        "04",
        0.25,
        "z above which a centre is 'high'",
        low=0.0,
        high=3.0,
        low_open=True,
    ),
    _p("ahp_matrix", "matrix", "04", None, "AHP pairwise comparisons of L, R, F, M, C"),
    _p(
        "value_normalisation",
        "str",
        "04",
        "minmax",
        "normalisation of the value score",
        choices=("minmax", "rank"),
    ),
    _p(
        "truth_horizon_weeks",
        "int",
        "04",
        52,
        "horizon of the simulator's true value",
        low=1,
        high=520,
    ),
    # --- 05 churn ------------------------------------------------------------------------
    _p(
        "definition",
        "str",
        "05",
        "auto",
        "churn definition",
        choices=("auto", "textbook", "forward", "palive"),
    ),
    _p(
        "min_flights",
        "int",
        "05",
        6,
        "flights needed for the textbook definition",
        low=0,
        high=1000,
    ),
    _p(
        "churn_below",
        "float",
        "05",
        0.5,
        "textbook: churned below this L1Y/P1Y ratio",
        low=0.0,
        high=1.0,
    ),
    _p(
        "retain_from",
        "float",
        "05",
        0.9,
        "textbook: retained from this L1Y/P1Y ratio",
        low=0.0,
        high=10.0,
    ),
    _p(
        "palive_threshold",
        "float",
        "05",
        0.5,
        "P(alive) below which a member is churned",
        **FRACTION,
    ),
    _p("split", "str", "05", "auto", "train/test split", choices=("auto", "time", "stratified")),
    _p("test_size", "float", "05", 0.3, "share of members held out", low=0.05, high=0.9),
    _p("impute", "str", "05", "median", "missing features", choices=("median", "drop")),
    _p("threshold", "float", "05", 0.5, "P(churn) classification threshold", **FRACTION),
    _p(
        "inactive_days",
        "int",
        "05",
        365,
        "days without a flight that count as inactive",
        low=1,
        high=3650,
    ),
    _p(
        "list_model",
        "str",
        "05",
        "gbm",
        "model behind the retention list",
        choices=("gbm", "logit", "baseline"),
    ),
    _p("contact_cost", "float", "05", 50.0, "cost of one retention contact", low=0.0, high=1e9),
    _p(
        "acceptance_rate", "float", "05", 0.25, "share of contacted members who stay", **PROBABILITY
    ),
    _p(
        "proxy_clv_years",
        "float",
        "05",
        3.0,
        "years of the CLV proxy",
        low=0.0,
        high=50.0,
        low_open=True,
    ),
    _p("top_list", "int", "05", 15, "rows of the retention list shown", low=1, high=10_000),
    # --- 06 management report ------------------------------------------------------------
    _p("risk_low", "float", "06", 0.3, "churn risk from which a member is 'medium'", **FRACTION),
    _p("risk_high", "float", "06", 0.6, "churn risk from which a member is 'high'", **FRACTION),
    _p("retention_rows", "int", "06", 200, "rows of the retention table", low=1, high=10_000),
    _p("language", "str", "06", "en", "language of the management report", choices=("en", "zh")),
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
        seed = file_seed if isinstance(file_seed, int) else 42
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
