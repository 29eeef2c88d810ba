"""The checks of a flight log as SQL counts, run by the engine where the log is.

:class:`SQLChecks` gives DuckDB and Spark the checks of
:func:`~crm_research.data.snapshot.validate_members`,
:func:`~crm_research.data.snapshot.validate_flights` and
:func:`~crm_research.data.snapshot.validate_events` (and the observation end's rule of
:func:`~crm_research.data.sources.load_flight_log_folder`), in the same order and with
the same messages: file, column, the first :data:`~crm_research.data.schema.MAX_LISTED`
offending rows and values and how many there are. Each check is a ``COUNT`` over the
log (the checks of one table share one scan); only when a count is not zero are the
first offending rows fetched. Nothing of the log is collected to the driver but those
rows, the counts, and the histogram of flight days (a few thousand rows) for the
observation end.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import schema as S
from ..schema import MAX_LISTED, DataValidationError

#: ``_ord`` = file number * FILE_STRIDE + row in the file.
FILE_STRIDE = 4_294_967_296
NS_PER_DAY = 86_400_000_000_000


def day_of(ts) -> int:
    """Whole days since 1970-01-01 of a date."""
    return int(pd.Timestamp(ts).normalize().value // NS_PER_DAY)


def date_of_day(d: int) -> pd.Timestamp:
    return pd.Timestamp(int(d) * NS_PER_DAY)


def counted_error(
    problem: str,
    *,
    source: str,
    column,
    rows: list | None = None,
    n_rows: int | None = None,
    values: list | None = None,
    n_values: int | None = None,
    hint: str | None = None,
) -> DataValidationError:
    """A :class:`DataValidationError` from the first offending rows and their count.

    The message is the one pandas' checks give with every offending row listed: the
    engines fetch only the first :data:`MAX_LISTED` rows and count the rest.
    """
    err = DataValidationError(
        problem, source=source, column=column, rows=rows, values=values, hint=hint
    )
    msg = str(err)
    if rows and n_rows and n_rows > len(rows):
        msg = msg.replace("; rows: ", f"; rows (first {MAX_LISTED} of {n_rows}): ", 1)
    if values and n_values and n_values > len(values):
        msg = msg.replace("; values: ", f"; values (first {MAX_LISTED} of {n_values}): ", 1)
    err.args = (msg,)
    err.n_rows = n_rows
    return err


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _regex(dialect: str, expr: str, pattern: str) -> str:
    """SQL for ``expr`` matching ``pattern`` (a Python regex without quotes)."""
    if dialect == "spark":  # Spark SQL string literals treat the backslash as an escape
        return f"({expr} RLIKE '{pattern.replace(chr(92), chr(92) * 2)}')"
    return f"regexp_matches({expr}, '{pattern}')"


class SQLChecks:
    """The validation half of :class:`~crm_research.data.engines.base.SQLEngine`."""

    dialect = ""

    # --- row numbers and offending rows ----------------------------------------------------
    def _labels(self, table: str, ords) -> list[int]:
        """1-based row numbers of ``_ord`` values (rows of earlier files come first)."""
        ords = [int(o) for o in ords]
        files = {o // FILE_STRIDE for o in ords}
        if files != {0}:
            if table not in self._offsets:
                n = self._collect(
                    f"SELECT CAST(FLOOR(_ord / {FILE_STRIDE}) AS BIGINT) AS f, "
                    f"CAST(COUNT(*) AS BIGINT) AS n FROM {table}_t GROUP BY 1"
                )
                n = n.sort_values("f")
                off = np.r_[0, np.cumsum(n["n"].to_numpy())[:-1]]
                self._offsets[table] = dict(zip(n["f"].astype(int), off.astype(int), strict=True))
            offs = self._offsets[table]
        else:
            offs = {0: 0}
        return [offs[o // FILE_STRIDE] + o % FILE_STRIDE + 1 for o in ords]

    def _offending(self, table: str, where: str, value: str | None = None):
        """(count, first rows, their values) of the rows of ``table`` matching ``where``."""
        n = int(self._collect(f"SELECT COUNT(*) AS n FROM {table}_t WHERE {where}")["n"].iloc[0])
        if n == 0:
            return 0, [], []
        v = f", {value} AS v" if value else ""
        first = self._collect(
            f"SELECT _ord{v} FROM {table}_t WHERE {where} ORDER BY _ord LIMIT {MAX_LISTED}"
        )
        vals = first["v"].tolist() if value else None
        return n, self._labels(table, first["_ord"]), vals

    def _raise_if(
        self, table, where, problem, *, column, value=None, hint=None, fmt=None, defer=False
    ):
        """Raise when rows of ``table`` match ``where`` (``defer``: at :meth:`_flush`)."""
        args = (table, where, problem, column, value, hint, fmt)
        if defer:
            self._pending.append(args)
        else:
            self._raise_for(*args)

    def _flush(self) -> None:
        """Run the deferred checks of one table in one scan; raise for the first that fails."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        table = pending[0][0]
        assert all(p[0] == table for p in pending)
        sums = ", ".join(
            f"CAST(SUM(CASE WHEN {p[1]} THEN 1 ELSE 0 END) AS BIGINT) AS c{i}"
            for i, p in enumerate(pending)
        )
        counts = self._collect(f"SELECT {sums} FROM {table}_t").iloc[0]
        for i, p in enumerate(pending):
            if not pd.isna(counts[f"c{i}"]) and int(counts[f"c{i}"]) > 0:
                self._raise_for(*p)

    def _raise_for(self, table, where, problem, column, value, hint, fmt):
        n, rows, vals = self._offending(table, where, value)
        if n:
            if fmt is not None and vals is not None:
                vals = [fmt(v) for v in vals]
            raise self._error(
                table, problem, column, (rows, n), (vals, n if vals is not None else None), hint
            )

    def _raise_ids(self, table: str, where: str, problem: str, column: str = S.MEMBER):
        """Raise with the offending rows and the distinct ids among them (first seen first)."""
        n, rows, _ = self._offending(table, where)
        if not n:
            return
        ids = self._collect(
            f"SELECT MEMBER_NO, MIN(_ord) AS o FROM {table}_t WHERE {where} "
            f"GROUP BY MEMBER_NO ORDER BY o LIMIT {MAX_LISTED}"
        )
        n_ids = self._collect(f"SELECT COUNT(DISTINCT MEMBER_NO) AS n FROM {table}_t WHERE {where}")
        values = [_py(v) for v in ids["MEMBER_NO"]]
        raise self._error(table, problem, column, (rows, n), (values, int(n_ids["n"].iloc[0])))

    def _error(self, table, problem, column, rows, values, hint=None) -> DataValidationError:
        """:func:`counted_error` for ``table``: ``rows`` and ``values`` are (first, count)."""
        return counted_error(
            problem,
            source=self.sources[table],
            column=column,
            rows=rows[0],
            n_rows=rows[1],
            values=values[0],
            n_values=values[1],
            hint=hint,
        )

    # --- the checks of one column ----------------------------------------------------------
    def _check_present(self, table: str, required) -> None:
        src = self.sources[table]
        kinds = self.columns[table]
        n = int(self._collect(f"SELECT COUNT(*) AS n FROM {table}_raw")["n"].iloc[0])
        if n == 0:
            raise DataValidationError("the table has no rows", source=src)
        missing = [c for c in required if c not in kinds]
        if missing:
            found = [c for c in kinds if c != "_ord"]
            raise DataValidationError(
                f"missing required column(s) {missing}; found {found}",
                source=src,
                column=missing,
            )

    def _check_ids(self, table: str) -> None:
        """Member ids present and not blank (:func:`crm_research.data.snapshot._check_ids`)."""
        blank = "MEMBER_NO IS NULL"
        if self.columns[table].get(S.MEMBER) == "string":
            blank += " OR TRIM(MEMBER_NO) = ''"
        self._raise_if(table, blank, "missing member ids", column=S.MEMBER, defer=True)

    def _check_dates(self, table: str, date_col: str, day_col: str) -> None:
        """:func:`crm_research.data.schema.parse_dates` with ``plausible=True``."""
        raw = f"raw_{date_col}"
        text = self.columns[table][date_col] == "string"
        if text:
            self._raise_if(
                table,
                f"{raw} IS NOT NULL AND " + _regex(self.dialect, f"TRIM({raw})", S.AMBIGUOUS_DATE),
                "dates whose day/month order is ambiguous (05.03.2013 is 5 March or 3 May)",
                column=date_col,
                value=raw,
                hint="Give the parameter date_format (e.g. '%d.%m.%Y' or '%m/%d/%Y') or "
                "write dates as YYYY-MM-DD",
                defer=True,
            )
            self._raise_if(
                table,
                f"{day_col} IS NULL AND {raw} IS NOT NULL AND TRIM({raw}) <> ''",
                "dates that cannot be parsed",
                column=date_col,
                value=raw,
                hint="Write dates as YYYY-MM-DD or YYYY/M/D",
                defer=True,
            )
        self._raise_if(table, f"{day_col} IS NULL", "missing dates", column=date_col, defer=True)
        today = pd.Timestamp.today().normalize() + pd.Timedelta(days=1)
        self._raise_if(
            table,
            f"{day_col} < {day_of(S.EARLIEST_DATE)} OR {day_col} >= {day_of(today)}",
            f"implausible dates (before {S.EARLIEST_DATE.date()} or in the future)",
            column=date_col,
            value=raw if text else day_col,
            fmt=None if text else date_of_day,
            defer=True,
        )

    def _check_numeric(self, table, col, *, low=None, high=None, what=None, allow_missing=False):
        """:func:`crm_research.data.schema.numeric` then :func:`~.schema.check_range`."""
        if not self._has(table, col):
            return
        num, raw = f"num_{col}", f"raw_{col}"
        if self.columns[table][col] == "string":
            self._raise_if(
                table,
                f"{num} IS NULL AND {raw} IS NOT NULL AND TRIM({raw}) <> ''",
                "non-numeric values",
                column=col,
                value=raw,
                defer=True,
            )
        # +-inf compare above any bound; NaN is read as missing (as pandas does)
        self._raise_if(
            table,
            f"ABS({num}) > {S.ABSURD!r}",
            f"infinite or absurd values (beyond {S.ABSURD:g})",
            column=col,
            value=raw,
            defer=True,
        )
        if not allow_missing:
            self._raise_if(table, f"{num} IS NULL", "missing values", column=col, defer=True)
        self._check_range(table, col, low=low, high=high, what=what)

    def _check_range(self, table, col, *, low=None, high=None, what=None):
        if not self._has(table, col):
            return
        num = f"num_{col}"
        conds = [f"{num} {op} {b!r}" for op, b in (("<", low), (">", high)) if b is not None]
        rng = (
            what
            or f"outside [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        )
        self._raise_if(
            table, " OR ".join(conds), f"values {rng}", column=col, value=num, defer=True
        )

    # --- the tables ------------------------------------------------------------------------
    def validate(self, *, obs_end=None, infer_end_days: int | None = None) -> dict:
        """Check the member table, the log and the event tables; raise on the first problem.

        With ``infer_end_days`` and no ``obs_end``, the observation end is the last
        flight day under the rule of :meth:`inferred_end`. Returns ``n_flights``,
        ``first_date``, ``last_date`` and ``obs_end`` (None when neither is given).
        """
        from ..snapshot import MAX_SEGMENT_KM

        if "members" in self.columns:
            self._check_present("members", S.MEMBER_REQUIRED)
            self._check_ids("members")
            self._flush()
            self._raise_ids(
                "members",
                "MEMBER_NO IN (SELECT MEMBER_NO FROM members_t GROUP BY MEMBER_NO "
                "HAVING COUNT(*) > 1)",
                "duplicate ids",
            )
            self._check_dates("members", S.FFP_DATE, "ffp_day")
            for col, high in (("AGE", 120), ("FFP_TIER", 10)):
                self._check_numeric("members", col, low=0, high=high, allow_missing=True)
            self._flush()
        self._check_present("flights", S.FLIGHT_REQUIRED)
        self._check_dates("flights", S.FLIGHT_DATE, "day")
        for col in (S.SEG_KM, S.REVENUE):
            self._check_numeric("flights", col, low=0, what="that are negative")
        self._check_range(
            "flights",
            S.SEG_KM,
            high=MAX_SEGMENT_KM,
            what=f"longer than any flight (> {MAX_SEGMENT_KM:,} km)",
        )
        self._check_numeric("flights", S.DISCOUNT, low=0, high=2)
        self._check_ids("flights")
        if obs_end is not None:
            self._check_late("flights", obs_end)
        self._flush()
        if "members" in self.columns:
            self._check_against_members()
        if obs_end is None and infer_end_days is not None:
            obs_end = self.inferred_end(infer_end_days)
        for name, col in (("complaints", S.COMPLAINT_DATE), ("noshows", S.NOSHOW_DATE)):
            if name in self.columns:
                self._check_events(name, col, obs_end)
        st = self.stats()
        return {
            "n_flights": st["n"],
            "first_date": date_of_day(st["first_day"]),
            "last_date": date_of_day(st["last_day"]),
            "obs_end": None if obs_end is None else pd.Timestamp(obs_end),
        }

    def _check_late(self, table: str, obs_end) -> None:
        end = pd.Timestamp(obs_end)
        self._raise_if(
            table,
            f"day > {day_of(end)}",
            f"flights after the observation date {end.date()}",
            column=S.FLIGHT_DATE,
            value="day",
            fmt=date_of_day,
            hint="Set the observation date later or remove those flights",
            defer=True,
        )

    def _check_against_members(self) -> None:
        """Flights by unknown members, and flights before the member's enrolment."""
        # one join for both counts; the offending rows are looked up only if any
        both = self._collect(
            "SELECT CAST(SUM(CASE WHEN e.MEMBER_NO IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS u, "
            "CAST(SUM(CASE WHEN f.day < e.ffp_day THEN 1 ELSE 0 END) AS BIGINT) AS e "
            "FROM flights_t f LEFT JOIN members_t e ON e.MEMBER_NO = f.MEMBER_NO"
        ).iloc[0]
        if not pd.isna(both["u"]) and int(both["u"]) > 0:
            self._raise_ids(
                "flights",
                "MEMBER_NO NOT IN (SELECT MEMBER_NO FROM members_t)",
                "flights by members missing from the member table",
            )
        if pd.isna(both["e"]) or int(both["e"]) == 0:
            return
        early = self._collect(
            "SELECT f._ord AS _ord, f.MEMBER_NO AS m, f.day AS d, e.ffp_day AS e "
            "FROM flights_t f JOIN members_t e ON e.MEMBER_NO = f.MEMBER_NO "
            f"WHERE f.day < e.ffp_day ORDER BY f._ord LIMIT {MAX_LISTED}"
        )
        n = int(both["e"])
        raise counted_error(
            "flights before the member's enrolment date (FFP_DATE)",
            source=self.sources["flights"],
            column=S.FLIGHT_DATE,
            rows=self._labels("flights", early["_ord"]),
            n_rows=n,
            values=[
                f"member {_py(m)}: flight {date_of_day(d).date()} < enrolment "
                f"{date_of_day(e).date()}"
                for m, d, e in zip(early["m"], early["d"], early["e"], strict=True)
            ],
            n_values=n,
        )

    def _check_events(self, name: str, col: str, obs_end) -> None:
        """:func:`crm_research.data.snapshot.validate_events` with the known ids and end."""
        missing = [c for c in (S.MEMBER, col) if c not in self.columns[name]]
        if missing:
            raise DataValidationError(
                f"missing required column(s) {missing}; found "
                f"{[c for c in self.columns[name] if c != '_ord']}",
                source=self.sources[name],
                column=missing,
            )
        n = int(self._collect(f"SELECT COUNT(*) AS n FROM {name}_t")["n"].iloc[0])
        if n == 0:
            return
        self._check_ids(name)
        self._check_dates(name, col, "day")
        self._flush()
        known = "members_t" if "members" in self.columns else "flights_t"
        self._raise_ids(
            name,
            f"MEMBER_NO NOT IN (SELECT MEMBER_NO FROM {known})",
            "events of members that are not in the member table or the flight log",
        )
        if obs_end is not None:
            end = pd.Timestamp(obs_end)
            self._raise_if(
                name,
                f"day > {day_of(end)}",
                f"events after the observation end {end.date()}",
                column=col,
                value="day",
                fmt=date_of_day,
            )

    def inferred_end(self, outlier_days: int) -> pd.Timestamp:
        """The last flight day, unless flights lie far after 99% of the log (then raise).

        The rule of :func:`crm_research.data.sources._inferred_end`: the 99% quantile
        ("lower", as pandas) is read from the histogram of flight days.
        """
        h = self._collect("SELECT day, CAST(COUNT(*) AS BIGINT) AS n FROM flights_t GROUP BY day")
        h = h.sort_values("day")
        cum = np.cumsum(h["n"].to_numpy())
        k = math.floor((int(cum[-1]) - 1) * 0.99)
        cut = int(h["day"].to_numpy()[np.searchsorted(cum, k + 1)])
        far = f"day > {cut + outlier_days}"
        n, rows, vals = self._offending("flights", far, "day")
        if n:
            raise counted_error(
                f"flights more than {outlier_days} days after 99% of the log (which ends by "
                f"{date_of_day(cut).date()}): the observation end cannot be inferred from the "
                "last flight",
                source=self.sources["flights"],
                column=S.FLIGHT_DATE,
                rows=rows,
                n_rows=n,
                values=[date_of_day(v) for v in vals],
                n_values=n,
                hint="Correct those dates, or give the parameter obs_end (flights after it are "
                "refused)",
            )
        return date_of_day(int(h["day"].max()))
