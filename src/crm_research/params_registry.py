"""The declarations of every notebook parameter (the registry :mod:`crm_research.params` checks).

One :class:`Param` per parameter and group of notebooks: name, notebooks, type, range or
choices, default and meaning. :mod:`crm_research.params` resolves and checks a whole
parameter set against these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import DEFAULT_SEED

SEED_MAX = 2**32 - 1  # numpy's SeedSequence accepts any non-negative int; keep it portable


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
    _p(
        "snapshot_file",
        "path",
        "01",
        None,
        "the snapshot the run's input checks built (read, not built again)",
        runner=True,
        how="the run's input checks",
    ),
    # --- every notebook -----------------------------------------------------------------
    _p("seed", "int", ALL, DEFAULT_SEED, "the one seed of every random step", low=0, high=SEED_MAX),
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
