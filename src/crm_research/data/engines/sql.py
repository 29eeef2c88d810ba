"""The flight-log scans as SQL, one text for DuckDB and Spark SQL.

Every query reads the typed views that an engine registers when it loads a log
(:meth:`crm_research.data.engines.base.SQLEngine.load`):

``flights_t``
    ``MEMBER_NO``, ``day`` (whole days since 1970-01-01, NULL when the date is missing
    or cannot be parsed), ``SEG_KM``, ``DISCOUNT``, ``REVENUE`` (DOUBLE, where the log has
    them) and ``_ord`` (the row's position in the log: file number * 2^32 + row in file,
    used for row numbers in error messages and to break ties in the same order as
    pandas' stable sort).
``members_t``
    ``MEMBER_NO``, ``ffp_day`` and the member attributes as read.
``complaints_t``, ``noshows_t``
    ``MEMBER_NO``, ``day``.

All dates are whole day numbers inside the queries: comparisons and differences are
integer arithmetic, identical in both engines and in the pandas reference. The few
functions whose names differ between the two dialects are filled in from
:data:`DIALECTS` (``{round_even}``, ``{row}``, ``{date}``); nothing else differs.
"""

from __future__ import annotations

#: Functions whose names differ between DuckDB and Spark SQL.
DIALECTS = {
    "duckdb": {
        # numpy rounds half to even (np.round); DuckDB's round() rounds half away from 0
        "round_even": "round_even",
        "row": "row",  # a comparable tuple (ordered field by field)
        "date": "CAST(DATE '1970-01-01' + CAST({x} AS INTEGER) AS DATE)",
    },
    "spark": {
        "round_even": "bround",
        "row": "struct",
        "date": "date_add(DATE '1970-01-01', CAST({x} AS INT))",
    },
}


def date_of(dialect: str, expr: str) -> str:
    """SQL for the DATE of a day number."""
    return DIALECTS[dialect]["date"].format(x=expr)


def snapshot_sql(
    dialect: str,
    *,
    end_d: int,
    window_days: int,
    year_days: int,
    has_km: bool,
    has_disc: bool,
    has_rev: bool,
    member_attrs: list[str] | None,
    complaints: bool,
    noshows: bool,
    order: list[str],
    where: str = "TRUE",
) -> str:
    """The member snapshot (see :func:`crm_research.data.snapshot.build_snapshot`).

    ``order`` is the output column order (computed by the caller as pandas does);
    ``member_attrs`` the member-table columns joined on (None: no member table);
    ``where`` a condition on ``MEMBER_NO`` (one range of members, see
    :meth:`~crm_research.data.engines.base.SQLEngine.member_parts`).
    """
    d = DIALECTS[dialect]
    ws, mid = end_d - window_days, end_d - year_days
    km = "SEG_KM" if has_km else "CAST(NULL AS DOUBLE)"
    disc = "DISCOUNT" if has_disc else "CAST(NULL AS DOUBLE)"
    rev = "REVENUE" if has_rev else "CAST(NULL AS DOUBLE)"
    cols = {
        "MEMBER_NO": "a.MEMBER_NO",
        "FIRST_FLIGHT_DATE": date_of(dialect, "a.first_day"),
        "LOAD_TIME": date_of(dialect, str(end_d)),
        "FLIGHT_COUNT": "a.fc",
        "LAST_FLIGHT_DATE": date_of(dialect, "a.last_day"),
        "LAST_TO_END": f"CAST({end_d} - a.last_day AS BIGINT)",
        # the gaps between consecutive flights in the window add up: their mean is the
        # span of the window's flights over their number less one
        "AVG_INTERVAL": "CASE WHEN a.fc >= 2 THEN "
        "CAST(a.last_day - a.first_win AS DOUBLE) / (a.fc - 1) END",
        "MAX_INTERVAL": "CASE WHEN a.fc >= 2 THEN CAST(g.max_gap AS DOUBLE) END",
        "P1Y_Flight_Count": "a.p1y",
        "L1Y_Flight_Count": "a.l1y",
    }
    if has_rev:
        cols["SUM_YR_1"] = "a.rev_py"
        cols["SUM_YR_2"] = "a.rev_ly"
    if has_km:
        cols["SEG_KM_SUM"] = "a.km_w"
    if has_km and has_disc:
        cols["avg_discount"] = "CASE WHEN a.km_w > 0 THEN a.kd / a.km_w END"
        cols["BP_SUM"] = f"{d['round_even']}(a.kd, 0)"
    elif has_disc:
        cols["avg_discount"] = "CASE WHEN a.fc > 0 THEN a.disc_w / a.fc END"
    joins = []
    for flag, table, name, alias in (
        (complaints, "complaints_t", "COMPLAINT_COUNT", "c"),
        (noshows, "noshows_t", "NOSHOW_COUNT", "n"),
    ):
        if flag:
            cols[name] = f"CAST(COALESCE({alias}.n, 0) AS BIGINT)"
            joins.append(
                f"LEFT JOIN (SELECT MEMBER_NO, COUNT(*) AS n FROM {table} "
                f"WHERE day > {ws} AND day <= {end_d} AND {where} GROUP BY MEMBER_NO) {alias} "
                f"ON {alias}.MEMBER_NO = a.MEMBER_NO"
            )
    if member_attrs is not None:
        mt = "members_t" if where == "TRUE" else f"(SELECT * FROM members_t WHERE {where})"
        joins.append(f"LEFT JOIN {mt} m ON m.MEMBER_NO = a.MEMBER_NO")
        for c in member_attrs:
            cols[c] = date_of(dialect, "m.ffp_day") if c == "FFP_DATE" else f"m.{c}"
    else:
        cols["FFP_DATE"] = cols["FIRST_FLIGHT_DATE"]
    if "BP_SUM" in cols:
        tier = "COALESCE(CAST(m.FFP_TIER AS DOUBLE), 4.0)" if "FFP_TIER" in cols else "4.0"
        cols["Points_Sum"] = (
            f"{d['round_even']}({cols['BP_SUM']} * (1.0 + 0.25 * ({tier} - 4.0)), 0)"
        )
    select = ",\n       ".join(f"{cols[c]} AS {c}" for c in order)
    join_sql = "\n".join(joins)
    return f"""
WITH f AS (
  SELECT MEMBER_NO, day, {km} AS km, {disc} AS disc, {rev} AS rev,
         day > {ws} AS in_win, day > {mid} AS in_ly
  FROM flights_t WHERE day <= {end_d} AND {where}
),
gaps AS (
  SELECT MEMBER_NO, MAX(gap) AS max_gap FROM (
    SELECT MEMBER_NO, day - LAG(day) OVER (PARTITION BY MEMBER_NO ORDER BY day) AS gap
    FROM f WHERE in_win
  ) w GROUP BY MEMBER_NO
),
a AS (
  SELECT MEMBER_NO,
         MIN(day) AS first_day,
         MAX(day) AS last_day,
         MIN(CASE WHEN in_win THEN day END) AS first_win,
         CAST(SUM(CASE WHEN in_win THEN 1 ELSE 0 END) AS BIGINT) AS fc,
         CAST(SUM(CASE WHEN in_win AND NOT in_ly THEN 1 ELSE 0 END) AS BIGINT) AS p1y,
         CAST(SUM(CASE WHEN in_ly THEN 1 ELSE 0 END) AS BIGINT) AS l1y,
         SUM(CASE WHEN in_win AND NOT in_ly THEN rev ELSE 0.0 END) AS rev_py,
         SUM(CASE WHEN in_ly THEN rev ELSE 0.0 END) AS rev_ly,
         SUM(CASE WHEN in_win THEN km ELSE 0.0 END) AS km_w,
         SUM(CASE WHEN in_win THEN km * disc ELSE 0.0 END) AS kd,
         SUM(CASE WHEN in_win THEN disc ELSE 0.0 END) AS disc_w
  FROM f GROUP BY MEMBER_NO
)
SELECT {select}
FROM a LEFT JOIN gaps g ON g.MEMBER_NO = a.MEMBER_NO
{join_sql}
ORDER BY a.MEMBER_NO
"""


def summary_members_sql(
    dialect: str,
    *,
    obs_d: int,
    cal_d: int,
    merge_same_day: bool,
    has_rev: bool,
    where: str = "TRUE",
) -> str:
    """Per-member day-number aggregates behind :func:`clv.flight_summary`.

    One row per member with a flight on or before ``obs_d``: ``first_day``, ``n_cal``,
    ``last_cal``, revenue of the positive-revenue flights in the calibration period
    (``n_ok_cal``, ``s_ok_cal``) and the code of the first flight's revenue
    (``first_rev``: the revenue if positive, -1 not positive, -2 missing; the first
    flight is the earliest, and among flights on that day the first in the log, as in
    pandas' stable sort), holdout counts and revenue, ``n_rows`` (flights) and
    ``n_nonpos_cal``; ``where`` a condition on ``MEMBER_NO`` (one range of members).
    """
    d = DIALECTS[dialect]
    rev = "REVENUE" if has_rev else "CAST(NULL AS DOUBLE)"
    if merge_same_day:
        # purchases on one day are one transaction; its revenue is the day's sum
        # (NULL when every revenue of the day is missing, like pandas' min_count=1)
        base = f"""SELECT MEMBER_NO, day, SUM({rev}) AS rev, MIN(_ord) AS _ord,
                  COUNT(*) AS n_rows
           FROM flights_t WHERE day <= {obs_d} AND {where} GROUP BY MEMBER_NO, day"""
    else:
        base = f"""SELECT MEMBER_NO, day, {rev} AS rev, _ord, 1 AS n_rows
           FROM flights_t WHERE day <= {obs_d} AND {where}"""
    return f"""
WITH b AS ({base})
SELECT MEMBER_NO,
       MIN(day) AS first_day,
       CAST(SUM(CASE WHEN day <= {cal_d} THEN 1 ELSE 0 END) AS BIGINT) AS n_cal,
       MAX(CASE WHEN day <= {cal_d} THEN day END) AS last_cal,
       CAST(SUM(CASE WHEN day <= {cal_d} AND rev > 0 THEN 1 ELSE 0 END) AS BIGINT) AS n_ok_cal,
       SUM(CASE WHEN day <= {cal_d} AND rev > 0 THEN rev ELSE 0.0 END) AS s_ok_cal,
       CAST(SUM(CASE WHEN day <= {cal_d} AND rev <= 0 THEN 1 ELSE 0 END) AS BIGINT)
         AS n_nonpos_cal,
       MIN_BY(CASE WHEN rev > 0 THEN rev WHEN rev <= 0 THEN -1.0 ELSE -2.0 END,
              {d["row"]}(day, _ord)) AS first_rev,
       CAST(SUM(CASE WHEN day > {cal_d} THEN 1 ELSE 0 END) AS BIGINT) AS n_hold,
       SUM(CASE WHEN day > {cal_d} THEN COALESCE(rev, 0.0) ELSE 0.0 END) AS rev_hold,
       CAST(SUM(n_rows) AS BIGINT) AS n_rows,
       CAST(COUNT(*) AS BIGINT) AS n_tx,
       CAST(SUM(CASE WHEN rev <= 0 THEN 1 ELSE 0 END) AS BIGINT) AS n_nonpos,
       CAST(SUM(CASE WHEN rev IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS n_missing
FROM b GROUP BY MEMBER_NO
"""


def summary_totals_sql(table: str, cal_d: int) -> str:
    """Totals over the per-member aggregates (the summary's ``attrs``)."""
    return f"""
SELECT CAST(COUNT(*) AS BIGINT) AS n_all,
       CAST(SUM(CASE WHEN first_day > {cal_d} THEN 1 ELSE 0 END) AS BIGINT) AS n_late,
       CAST(SUM(n_rows) AS BIGINT) AS n_rows,
       CAST(SUM(n_tx) AS BIGINT) AS n_tx,
       CAST(SUM(n_nonpos) AS BIGINT) AS n_nonpos,
       CAST(SUM(n_missing) AS BIGINT) AS n_missing,
       CAST(SUM(n_nonpos_cal) - SUM(CASE WHEN first_rev = -1.0 AND first_day <= {cal_d}
                                    THEN 1 ELSE 0 END) AS BIGINT) AS n_nonpos_rep
FROM {table}
"""


def summary_sql(
    dialect: str,
    table: str,
    *,
    cal_d: int,
    unit_days: float,
    holdout_days: int,
    has_rev: bool,
    where: str = "TRUE",
) -> str:
    """The summary (frequency, recency, T, ...) from the per-member aggregates."""
    u = repr(float(unit_days))
    # the first flight is never a repeat: its revenue leaves the repeat mean
    n_ok = "(n_ok_cal - CASE WHEN first_rev > 0 THEN 1 ELSE 0 END)"
    s_ok = "(s_ok_cal - CASE WHEN first_rev > 0 THEN first_rev ELSE 0.0 END)"
    cols = [
        "MEMBER_NO",
        "n_cal - 1 AS frequency",
        f"CAST(last_cal - first_day AS DOUBLE) / {u} AS recency",
        f"CAST({cal_d} - first_day AS DOUBLE) / {u} AS T",
    ]
    if has_rev:
        cols += [
            f"CASE WHEN {n_ok} > 0 THEN {s_ok} / {n_ok} END AS monetary_value",
            f"CAST({n_ok} AS BIGINT) AS n_monetary",
        ]
    cols.append(f"{date_of(dialect, 'first_day')} AS first_flight")
    if holdout_days > 0:
        cols.append("n_hold AS frequency_holdout")
        if has_rev:
            cols.append("rev_hold AS revenue_holdout")
        cols.append(f"CAST({holdout_days} AS DOUBLE) / {u} AS duration_holdout")
    sel = ",\n       ".join(cols)
    return f"SELECT {sel}\nFROM {table} WHERE first_day <= {cal_d} AND {where} ORDER BY MEMBER_NO"


def histories_sql(table: str, cal_d: int) -> str:
    """Distinct calibration histories (x, t_x, T in days) with their member counts."""
    return f"""
SELECT n_cal - 1 AS frequency, last_cal - first_day AS recency_d,
       {cal_d} - first_day AS T_d, CAST(COUNT(*) AS BIGINT) AS weights
FROM {table} WHERE first_day <= {cal_d}
GROUP BY n_cal - 1, last_cal - first_day, {cal_d} - first_day
ORDER BY frequency, recency_d, T_d
"""


def forward_label_sql(obs_d: int, horizon_d: int, where: str = "TRUE") -> str:
    """Members with a flight on or before ``obs_d`` and their flights in the horizon."""
    return f"""
SELECT MEMBER_NO,
       CAST(SUM(CASE WHEN day > {obs_d} AND day <= {horizon_d} THEN 1 ELSE 0 END) AS BIGINT)
         AS flights_in_horizon
FROM flights_t WHERE {where} GROUP BY MEMBER_NO HAVING MIN(day) <= {obs_d}
ORDER BY MEMBER_NO
"""


def log_stats_sql() -> str:
    """Rows, dates and missing ids of the log (the checks before any scan)."""
    return """
SELECT CAST(COUNT(*) AS BIGINT) AS n, MIN(day) AS first_day, MAX(day) AS last_day,
       CAST(SUM(CASE WHEN MEMBER_NO IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS n_null_member
FROM flights_t
"""
