"""The modelling data for one churn definition: labels, features, split and baselines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import DAYS_PER_MONTH
from ..data import schema as S
from ..data.overview import log_span
from ..data.schema import DataValidationError
from .features import (
    LABEL_INGREDIENTS,
    TIME_VARYING_MEMBER_ATTRIBUTES,
    FeatureImputer,
    churn_features,
)
from .labels import (
    DEFINITIONS,
    check_two_classes,
    forward_label,
    observation_date,
    palive_label,
    palive_spec,
    purchase_scores,
    snapshot_as_of,
    textbook_label,
)
from .upstream import UPSTREAM_FILES


# ---------------------------------------------------------------------------------------
# the modelling data for one definition
# ---------------------------------------------------------------------------------------
@dataclass
class ChurnData:
    """Everything the models need for one churn definition.

    Attributes
    ----------
    definition : str
    X_train, X_test : DataFrame
        Imputed features of the training and the held-out members (index ``MEMBER_NO``).
    y_train, y_test : Series
        The label (1 = churned).
    baseline_test : Series or None
        ``1 - P(alive)`` of the held-out members (the model-based baseline score).
    X_now : DataFrame
        Imputed features of the members to score today (at ``obs_end``) for the retention
        list, built exactly like the training features.
    baseline_now : Series or None
    label_train, label_test : DataFrame
        The label tables (with the columns of the label definition).
    dates : dict
        ``features`` (observation date of the test features), ``train_features``,
        ``label_end``, ``now``.
    split : str
        ``"time"`` (train at an earlier date, test at the observation date, disjoint
        members) or ``"stratified"`` (one date, held-out members stratified by label).
    notes : list of str
        What was done and why (printed by the notebook).
    imputation : DataFrame
        The imputer's report.
    feature_sources : dict
        Where P(alive) came from at each date.
    no_flight_test, no_flight_now : Series or None
        The purchase model's probability of no flight in the horizon
        (:meth:`~crm_research.clv.models._PurchaseModel.prob_no_flight`) for the held-out
        members and for today's members: the model-based score that answers the churn
        question (``1 - P(alive)`` is 0 for every member without a repeat flight under
        the BG/NBD).
    """

    definition: str
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    baseline_test: pd.Series | None
    X_now: pd.DataFrame
    baseline_now: pd.Series | None
    label_train: pd.DataFrame
    label_test: pd.DataFrame
    dates: dict
    split: str
    notes: list[str] = field(default_factory=list)
    imputation: pd.DataFrame | None = None
    feature_sources: dict = field(default_factory=dict)
    no_flight_test: pd.Series | None = None
    no_flight_now: pd.Series | None = None

    def counts(self) -> pd.DataFrame:
        """Members and churners in the training and held-out parts."""
        rows = []
        for part, y in (("train", self.y_train), ("test (held out)", self.y_test)):
            rows.append(
                {
                    "part": part,
                    "members": len(y),
                    "churned": int(y.sum()),
                    "churn_rate": float(y.mean()),
                }
            )
        return pd.DataFrame(rows)


def p_alive_at(
    ds,
    as_of,
    upstream: Mapping[str, Any] | None = None,
    *,
    horizon_weeks: float = 52.0,
    no_flight_weeks: float | None = None,
    cache: dict | None = None,
) -> tuple[pd.DataFrame | None, str, dict | None]:
    """P(alive), expected flights and P(no flight) at ``as_of`` from the run's purchase model.

    The purchase model is the one notebook 02 chose (``upstream["purchase_model"]``, read
    from ``purchase_model.json``; else the BG/NBD), with its time unit and counting rule
    (flights, not flight days, for an airline log), all through :mod:`crm_research.clv`:

    - at the dataset's ``obs_end`` the saved model itself scores the members, so P(alive)
      is the same as in notebooks 02 and 03;
    - at an earlier date (the forward definition) the same model is refitted on the
      flights on or before ``as_of`` with the fit ladder
      (:func:`crm_research.clv.fit_ladder`), since the saved fit saw the future; its
      verdict is returned and kept in ``cache["model_checks"]``.

    Without a model file and without a flight log, P(alive) comes from notebook 02's or
    03's tables where they exist.

    Returns
    -------
    table : DataFrame or None
        ``MEMBER_NO, p_alive, expected_flights`` (+ ``p_no_flight``); None when impossible.
    note : str
    verdict : dict or None
        ``FitVerdict.to_dict()`` of the fit used (None for upstream tables).

    A ``cache`` dict (shared by the calls of one notebook) keeps each fit, so the same
    date is never fitted twice.
    """
    from .. import clv  # noqa: PLC0415

    upstream = upstream or {}
    as_of = pd.Timestamp(as_of).normalize()
    spec = palive_spec(upstream.get("purchase_model"))
    nf_weeks = horizon_weeks if no_flight_weeks is None else no_flight_weeks
    key = ("palive", spec["key"], as_of)
    model = spec["model"]
    if as_of == ds.obs_end and model is None:
        for tkey, exp_col, nb in (
            ("purchase_predictions", "expected_flights_next_year", "02"),
            ("clv", None, "03"),  # its expected_flights cover the CLV horizon, not a year
        ):
            t = upstream.get(tkey)
            if t is not None and "p_alive" in t.columns:
                out = pd.DataFrame(
                    {S.MEMBER: t[S.MEMBER].to_numpy(), "p_alive": t["p_alive"].to_numpy(float)}
                )
                if exp_col is not None and exp_col in t.columns:
                    out["expected_flights"] = t[exp_col].to_numpy(float)
                return (
                    out,
                    f"P(alive) at {as_of.date()} from notebook {nb} ({UPSTREAM_FILES[tkey]})",
                    None,
                )
    if cache is not None and key in cache:
        model, summ, where = cache[key]
    elif as_of == ds.obs_end and model is not None:
        where = "the run's purchase model (purchase_model.json, notebook 02)"
        summ = _upstream_histories(upstream, spec["time_unit"])
        if summ is None:
            summ = clv.purchase_summary(
                ds, time_unit=spec["time_unit"], counting_rule=spec["counting_rule"]
            )
        else:
            where += f" on the members' histories in {UPSTREAM_FILES[summ.attrs['table']]}"
    elif ds.flights is None:
        return None, "no flight log and no purchase model: P(alive) is not available", None
    else:
        summ = clv.purchase_summary(
            ds,
            time_unit=spec["time_unit"],
            counting_rule=spec["counting_rule"],
            observation_end=as_of,
        )
        model = clv.fit_ladder(
            spec["key"],
            summ,
            penalizer=spec["penalizer"],
            source=f"flights up to {as_of.date()}",
            context=f"notebook 05: {spec['name']} refitted on the flights up to {as_of.date()}",
        )
        where = f"{spec['name']} refitted on the flights up to that date"
        if cache is not None:
            cache.setdefault("model_checks", []).append(model.verdict_.to_dict())
    if cache is not None:
        cache[key] = (model, summ, where)
    verdict = model.verdict_
    # the scores too: notebook 05 asks for the same date and horizons twice (comparison
    # and modelling data), 2 s for 1,000,000 members
    skey = ("palive scores", spec["key"], as_of, float(horizon_weeks), float(nf_weeks))
    table = cache.get(skey) if cache is not None else None
    if table is None:
        table = purchase_scores(
            model, summ, horizon_days=7.0 * horizon_weeks, no_flight_days=7.0 * nf_weeks
        )
        if cache is not None:
            cache[skey] = table
    p = {k: float(v) for k, v in model.params_.items()}
    rule = spec["counting_rule"] or clv.counting_rule_for(ds)
    note = (
        f"P(alive) at {as_of.date()} from {where} ("
        + ", ".join(f"{k}={v:.3g}" for k, v in p.items())
        + f"; time unit {spec['time_unit']}, counting rule: {rule}; verdict: {verdict.status})"
    )
    return table[[S.MEMBER, "p_alive", "expected_flights", "p_no_flight"]], note, verdict.to_dict()


def _upstream_histories(upstream: Mapping[str, Any], time_unit: str) -> pd.DataFrame | None:
    """The members' histories at the end of the data (``frequency, recency, T``) as
    notebook 02 wrote them (``purchase_predictions.parquet``).

    They are the full-period purchase summary of the run's purchase model (the same
    data, time unit and counting rule as ``purchase_model.json``), so scoring them gives
    the P(alive) of notebooks 02 and 03 without scanning the flight log again (a
    summary of a 1,000,000-member log takes seconds); ``tests/test_churn.py`` checks the
    scores equal those of a fresh summary. None when the table is missing or incomplete.
    """
    from ..clv import days_per_unit  # noqa: PLC0415

    cols = ["frequency", "recency", "T"]
    t = upstream.get("purchase_predictions")
    if t is None or not {S.MEMBER, *cols} <= set(t.columns):
        return None
    h = t[[S.MEMBER, *cols]]
    if h[cols].isna().any().any() or not h[S.MEMBER].is_unique:
        return None
    out = h.set_index(S.MEMBER)
    out.attrs = {
        "time_unit": time_unit,
        "days_per_unit": days_per_unit(time_unit),
        "table": "purchase_predictions",
    }
    return out


def horizon_weeks_of(horizon_months: int) -> float:
    """A horizon in calendar months expressed in weeks (the BG/NBD time unit)."""
    return float(horizon_months) * DAYS_PER_MONTH / 7.0


def _as_features(pa: pd.DataFrame | None) -> pd.DataFrame | None:
    """The P(alive) columns used as features (not the no-flight probability, a score)."""
    if pa is None:
        return None
    return pa[[c for c in (S.MEMBER, "p_alive", "expected_flights") if c in pa.columns]]


def dataset_snapshot_at(ds, date, *, cache: dict | None = None) -> pd.DataFrame:
    """The dataset's member snapshot at ``date`` (:func:`snapshot_as_of`; cached)."""
    date = pd.Timestamp(date).normalize()
    if ds.flights is None:
        if date != ds.obs_end:
            raise DataValidationError(
                f"a snapshot at {date.date()} needs a flight log; this dataset has only the "
                f"member table at {ds.obs_end.date()}",
                source="dataset",
            )
        return ds.snapshot
    key = ("snapshot", date)
    if cache is not None and key in cache:
        return cache[key]
    snap = snapshot_as_of(
        ds.flights, ds.members, date, complaints=ds.complaints, noshows=ds.noshows
    )
    if cache is not None:
        cache[key] = snap
    return snap


def dataset_forward_label(ds, date, horizon_months: int, *, cache: dict | None = None):
    """:func:`forward_label` of the dataset's flight log at ``date`` (cached: notebook 05's
    comparison of the definitions and its modelling data ask for the same one)."""
    date = pd.Timestamp(date).normalize()
    key = ("forward_label", date, int(horizon_months))
    if cache is not None and key in cache:
        return cache[key]
    label = forward_label(ds.flights, date, horizon_months, data_end=ds.obs_end)
    if cache is not None:
        cache[key] = label
    return label


def forward_dataset(
    ds,
    obs_date,
    horizon_months: int,
    *,
    with_p_alive: bool = True,
    cache: dict | None = None,
    upstream: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None, str]:
    """Features and forward label at ``obs_date`` from the dataset's flight log.

    Features come from :func:`snapshot_as_of` (events up to ``obs_date`` only) without
    the member-table attributes recorded at the end of the data
    (:data:`TIME_VARYING_MEMBER_ATTRIBUTES`); P(alive) from the run's purchase model
    (``upstream["purchase_model"]``) refitted on the same truncated log
    (:func:`p_alive_at`).

    Returns
    -------
    X : DataFrame (not imputed), label : DataFrame, p_alive : DataFrame or None, note : str
    """
    if ds.flights is None:
        raise DataValidationError(
            "the forward-looking label needs a flight log; this dataset has a member table only",
            source="dataset",
        )
    label = dataset_forward_label(ds, obs_date, horizon_months, cache=cache)
    snap = dataset_snapshot_at(ds, obs_date, cache=cache)
    pa, note = None, "P(alive) not used"
    if with_p_alive:
        pa, note, _ = p_alive_at(
            ds,
            obs_date,
            upstream,
            no_flight_weeks=horizon_weeks_of(horizon_months),
            cache=cache,
        )
    X = churn_features(
        snap,
        extra=_as_features(pa),
        exclude=TIME_VARYING_MEMBER_ATTRIBUTES + LABEL_INGREDIENTS["forward"],
    )
    X = X.reindex(label[S.MEMBER].to_numpy())
    return X, label, pa, note


def build_churn_data(
    ds,
    definition: str,
    *,
    upstream: Mapping[str, Any] | None = None,
    horizon_months: int = 12,
    min_flights: int = 6,
    churn_below: float = 0.5,
    retain_from: float = 0.9,
    palive_threshold: float = 0.5,
    split: str = "auto",
    test_size: float = 0.3,
    impute: str = "median",
    seed: int = 42,
    cache: dict | None = None,
) -> ChurnData:
    """Labels, features, split and baseline for one churn definition.

    ``forward``: test features at ``obs_date = obs_end - H``, labels from the next H
    months. With ``split="time"`` (the default when the log reaches back far enough) the
    model is trained one horizon earlier (features at ``obs_date - H``, labels up to
    ``obs_date``) on a disjoint random half of the members and tested on the others at
    ``obs_date``: a true out-of-time, out-of-sample test. ``X_now`` are the features at
    ``obs_end`` for the retention list.

    ``textbook`` and ``palive``: features and label from the snapshot at ``obs_end``,
    held-out members drawn stratified by label.

    Missing feature values are imputed with the training medians (or the members
    dropped, ``impute="drop"``); the counts are in ``imputation``.
    """
    upstream = upstream or {}
    notes: list[str] = []
    rng_seed = int(seed)
    no_flight = no_flight_now = None
    obs_end = ds.obs_end
    sources: dict = {}
    if definition == "forward":
        t1 = observation_date(obs_end, horizon_months)
        t0 = observation_date(t1, horizon_months)
        X1, lab1, pa1, note1 = forward_dataset(
            ds, t1, horizon_months, cache=cache, upstream=upstream
        )
        sources["p_alive (test features)"] = note1
        want_time = split in ("auto", "time")
        use_time = False
        if want_time:
            first = log_span(ds.flights)[1]  # a DataFrame or the lazy FlightLog
            if t0 > first:
                X0, lab0, _, note0 = forward_dataset(
                    ds, t0, horizon_months, cache=cache, upstream=upstream
                )
                sources["p_alive (train features)"] = note0
                use_time = lab0["churn"].nunique() == 2 and len(lab0) >= 50
            if not use_time and split == "time":
                raise DataValidationError(
                    f"a time-based split needs flights before {t0.date()} (two horizons "
                    "before the end of the data) with churners and non-churners",
                    source="flights",
                    column=S.FLIGHT_DATE,
                    hint="Use split='stratified' or a shorter horizon",
                )
        check_two_classes(lab1["churn"], "forward", source=f"forward label at {t1.date()}")
        if use_time:
            rng = np.random.default_rng(rng_seed)
            ids = np.union1d(lab0[S.MEMBER].to_numpy(), lab1[S.MEMBER].to_numpy())
            test_ids = ids[rng.random(len(ids)) < test_size]
            tr = ~lab0[S.MEMBER].isin(test_ids).to_numpy()
            te = lab1[S.MEMBER].isin(test_ids).to_numpy()
            Xtr, ltr = X0.loc[tr], lab0.loc[tr]
            Xte, lte = X1.loc[te], lab1.loc[te]
            notes.append(
                f"time-based split: trained on features at {t0.date()} with churn in the "
                f"{horizon_months} months to {t1.date()} ({len(ltr):,} members), tested on "
                f"other members ({len(lte):,}) with features at {t1.date()} and churn up to "
                f"{(t1 + pd.DateOffset(months=horizon_months)).date()}"
            )
            split_used = "time"
            train_date = t0
        else:
            Xtr, Xte, ltr, lte = _stratified(X1, lab1, test_size, rng_seed)
            notes.append(
                f"stratified split at one observation date {t1.date()}: "
                f"{len(ltr):,} training and {len(lte):,} held-out members"
            )
            split_used = "stratified"
            train_date = t1
        check_two_classes(ltr["churn"], "forward", source="forward label (training part)")
        base_test = None
        if pa1 is not None:
            pa1_s = pa1.set_index(S.MEMBER)
            base_test = 1.0 - pa1_s["p_alive"].reindex(lte[S.MEMBER].to_numpy())
            if "p_no_flight" in pa1_s.columns:
                no_flight = pa1_s["p_no_flight"].reindex(lte[S.MEMBER].to_numpy())
        # features of today's members, for the retention list: the run's purchase model
        # (the one refitted above at the earlier dates, with the same time unit and
        # counting rule), so the classifier sees the same kind of input
        pa_now, note_now, _ = p_alive_at(
            ds, obs_end, upstream, no_flight_weeks=horizon_weeks_of(horizon_months), cache=cache
        )
        sources["p_alive (today)"] = note_now
        X_now = churn_features(
            ds.snapshot, extra=_as_features(pa_now), exclude=TIME_VARYING_MEMBER_ATTRIBUTES
        )
        base_now = (
            1.0 - pa_now.set_index(S.MEMBER)["p_alive"].reindex(X_now.index)
            if pa_now is not None
            else None
        )
        if pa_now is not None and "p_no_flight" in pa_now.columns:
            no_flight_now = pa_now.set_index(S.MEMBER)["p_no_flight"].reindex(X_now.index)
        dates = {
            "features": t1,
            "train_features": train_date,
            "label_end": t1 + pd.DateOffset(months=horizon_months),
            "now": obs_end,
        }
        notes.append(
            "features leave out FFP_TIER and Points_Sum: the member table records the tier "
            "at the end of the data, which would leak the future into earlier features"
        )
    elif definition in ("textbook", "palive"):
        pa_now, note_now, _ = p_alive_at(
            ds, obs_end, upstream, no_flight_weeks=horizon_weeks_of(horizon_months), cache=cache
        )
        sources["p_alive"] = note_now
        if definition == "textbook":
            lab = textbook_label(
                ds.snapshot,
                min_flights=min_flights,
                churn_below=churn_below,
                retain_from=retain_from,
            )
            notes.append(
                f"textbook label at {obs_end.date()}: {len(lab):,} established members "
                f"(more than {min_flights} flights); features leave out P1Y/L1Y and TREND, "
                "which define the label"
            )
        else:
            if pa_now is None:
                raise DataValidationError(
                    "the 'palive' definition needs P(alive): no flight log and no upstream "
                    "purchase_predictions.parquet / clv.parquet",
                    source="dataset",
                )
            lab = palive_label(pa_now, palive_threshold)
            notes.append(
                f"model-based label at {obs_end.date()}: churned when P(alive) < "
                f"{palive_threshold}; features leave out p_alive and expected_flights, which "
                "define the label"
            )
        check_two_classes(lab["churn"], definition, source=f"{definition} label")
        X = churn_features(
            ds.snapshot, extra=_as_features(pa_now), exclude=LABEL_INGREDIENTS[definition]
        ).reindex(lab[S.MEMBER].to_numpy())
        Xtr, Xte, ltr, lte = _stratified(X, lab, test_size, rng_seed)
        notes.append(
            f"stratified split at {obs_end.date()}: {len(ltr):,} training and {len(lte):,} "
            "held-out members"
        )
        split_used = "stratified"
        check_two_classes(ltr["churn"], definition, source=f"{definition} label (training part)")
        base_test = base_now = None
        if pa_now is not None:
            pa_s = pa_now.set_index(S.MEMBER)["p_alive"]
            base_test = 1.0 - pa_s.reindex(lte[S.MEMBER].to_numpy())
            base_now = 1.0 - pa_s.reindex(X.index)
            if "p_no_flight" in pa_now.columns:
                nf_s = pa_now.set_index(S.MEMBER)["p_no_flight"]
                no_flight = nf_s.reindex(lte[S.MEMBER].to_numpy())
                no_flight_now = nf_s.reindex(X.index)
        X_now = X
        dates = {
            "features": obs_end,
            "train_features": obs_end,
            "label_end": obs_end,
            "now": obs_end,
        }
    else:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")

    # members whose features are missing altogether (not in the snapshot)
    absent = Xtr.isna().all(axis=1)
    if absent.any():
        notes.append(f"{int(absent.sum())} training members have no features and are dropped")
        Xtr, ltr = Xtr.loc[~absent.to_numpy()], ltr.loc[~absent.to_numpy()]
    X_now = X_now[[c for c in Xtr.columns if c in X_now.columns]]
    Xte = Xte[Xtr.columns]
    imp = FeatureImputer(impute).fit(Xtr)
    Xtr_i = imp.transform(Xtr, "train")
    Xte_i = imp.transform(Xte, "test")
    missing_now = [c for c in Xtr.columns if c not in X_now.columns]
    for c in missing_now:
        X_now[c] = np.nan
    X_now_i = imp.transform(X_now[Xtr.columns], "now")
    ytr = ltr.set_index(S.MEMBER)["churn"].reindex(Xtr_i.index)
    yte = lte.set_index(S.MEMBER)["churn"].reindex(Xte_i.index)
    if base_test is not None:
        base_test = pd.Series(np.asarray(base_test, float), index=lte[S.MEMBER].to_numpy()).reindex(
            Xte_i.index
        )
        n_nan = int(base_test.isna().sum())
        if n_nan:
            notes.append(f"{n_nan} held-out members have no P(alive); baseline set to 0.5 for them")
            base_test = base_test.fillna(0.5)
    if no_flight is not None:
        no_flight = pd.Series(np.asarray(no_flight, float), index=lte[S.MEMBER].to_numpy()).reindex(
            Xte_i.index
        )
        no_flight = no_flight.fillna(no_flight.median())
    if base_now is not None:
        base_now = pd.Series(np.asarray(base_now, float), index=X_now.index).reindex(X_now_i.index)
    if no_flight_now is not None:
        no_flight_now = pd.Series(np.asarray(no_flight_now, float), index=X_now.index).reindex(
            X_now_i.index
        )
    n_imp = imp.report_["n_missing"].sum() if len(imp.report_) else 0
    notes.append(
        f"missing feature values: {int(n_imp):,} "
        + ("imputed with training medians" if impute == "median" else "-> members dropped")
        + " (details in the imputation table)"
    )
    return ChurnData(
        definition=definition,
        X_train=Xtr_i,
        X_test=Xte_i,
        y_train=ytr.astype(np.int64),
        y_test=yte.astype(np.int64),
        baseline_test=base_test,
        X_now=X_now_i,
        baseline_now=base_now,
        label_train=ltr.reset_index(drop=True),
        label_test=lte.reset_index(drop=True),
        dates=dates,
        split=split_used,
        notes=notes,
        imputation=imp.report_,
        feature_sources=sources,
        no_flight_test=no_flight,
        no_flight_now=no_flight_now,
    )


def _stratified(X, lab, test_size, seed):
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    idx = np.arange(len(lab))
    y = lab["churn"].to_numpy()
    if np.bincount(y, minlength=2).min() < 2:
        raise DataValidationError(
            "a stratified split needs at least 2 members of each class",
            source="churn label",
            column="churn",
            values=[f"churned: {int(y.sum())}", f"not churned: {int(len(y) - y.sum())}"],
        )
    tr, te = train_test_split(idx, test_size=test_size, stratify=y, random_state=seed)
    tr, te = np.sort(tr), np.sort(te)
    return X.iloc[tr], X.iloc[te], lab.iloc[tr], lab.iloc[te]


__all__ = [
    "ChurnData",
    "build_churn_data",
    "dataset_snapshot_at",
    "forward_dataset",
    "horizon_weeks_of",
    "p_alive_at",
]
