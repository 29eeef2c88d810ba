"""Bad input, bad parameters and faults, as a careless or hostile user tries them.

Every case runs ``crm-research run`` (or ``data synth``) through the command line's
``main`` on tiny inputs and asserts: a non-zero exit code, a message that names the file,
column and rows (or the parameter and what is allowed), no traceback, nothing written
outside a ``failed-*`` run folder, and the previous complete run (its report folder,
``latest`` and its tables) left exactly as it was. The cases are grouped by kind:
structure, values, dates and encodings, parameters, faults, injection. Nearly all fail in
validation, before any notebook starts, so they are fast; the few that need a real run
are in ``test_runs_at_once.py``.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from crm_research import report as R
from crm_research.cli import main

# --------------------------------------------------------------------------------------
# a tiny valid flight log, and the world a previous complete run left behind
# --------------------------------------------------------------------------------------
N_MEMBERS = 12


def _flights_rows() -> list[str]:
    rows = []
    for m in range(1, N_MEMBERS + 1):
        for j in range(5):
            month = 1 + (m + 3 * j) % 12
            year = 2012 + j % 2
            rows.append(
                f"{m},{year}-{month:02d}-{1 + m:02d},{800 + 10 * m},0.{5 + j % 4},{300 + m}"
            )
    return rows


FLIGHTS_HEAD = "MEMBER_NO,FLIGHT_DATE,SEG_KM,DISCOUNT,REVENUE"
MEMBERS_HEAD = "MEMBER_NO,FFP_DATE,FFP_TIER,AGE,WORK_CITY"


def base_files() -> dict[str, str]:
    flights = "\n".join([FLIGHTS_HEAD, *_flights_rows()]) + "\n"
    members = (
        "\n".join(
            [MEMBERS_HEAD]
            + [
                f"{m},2011-0{1 + m % 9}-15,{4 + m % 3},{25 + m},city{m}"
                for m in range(1, N_MEMBERS + 1)
            ]
        )
        + "\n"
    )
    complaints = "MEMBER_NO,COMPLAINT_DATE\n1,2013-05-02\n2,2012-07-09\n"
    noshows = "MEMBER_NO,NOSHOW_DATE\n3,2013-02-02\n"
    return {
        "flights.csv": flights,
        "members.csv": members,
        "complaints.csv": complaints,
        "noshows.csv": noshows,
    }


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


class World:
    """tmp/in (the input), tmp/reports (a previous complete run + its tables), tmp/raw."""

    def __init__(self, root: Path):
        self.root = root
        self.inp = root / "in"
        self.out = root / "reports"
        self.raw = root / "raw"
        self.inp.mkdir()
        for name, text in base_files().items():
            (self.inp / name).write_text(text, encoding="utf-8")
        prev = self.out / "20200101-000000-prev"
        prev.mkdir(parents=True)
        (prev / "index.html").write_text("<p>the previous complete run</p>", encoding="utf-8")
        (prev / "manifest.json").write_text('{"run_id": "20200101-000000-prev"}', encoding="utf-8")
        (self.out / "latest.txt").write_text("20200101-000000-prev\n", encoding="utf-8")
        (self.out / "latest").symlink_to("20200101-000000-prev")
        tables = self.out / "processed"
        tables.mkdir()
        (tables / "dataset.json").write_text('{"tables": ["snapshot"]}', encoding="utf-8")
        pd.DataFrame({"MEMBER_NO": ["1", "2"], "FLIGHT_COUNT": [1, 2]}).to_parquet(
            tables / "snapshot.parquet"
        )
        self.raw.mkdir()
        self.before = _tree(root)

    def write(self, files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            p = self.inp / name
            if content is None:
                p.unlink()
            elif isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
        self.before = _tree(self.root)

    def args(self, *extra: str, data: str | None = None, only: str | None = "01") -> list[str]:
        a = ["run", "--data", data or str(self.inp), "--out", str(self.out)]
        a += ["--raw", str(self.raw), "--no-progress"]
        if only:
            a += ["--only", only]
        return a + list(extra)

    def assert_untouched(self) -> None:
        after = _tree(self.root)
        allowed = ("failed-",)
        new = {
            k
            for k in set(after) - set(self.before)
            if not Path(k).name == R.RunLock.NAME
            and not any(part.startswith(allowed) for part in Path(k).parts)
        }
        assert not new, f"written outside a failed-run folder: {sorted(new)}"
        changed = {k for k in self.before if after.get(k) != self.before[k]}
        assert not changed, f"changed or removed: {sorted(changed)}"


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def refused(world: World, argv: list[str], capsys, *fragments: str, rc: int | None = 2) -> str:
    """Run the command; check the refusal and return the message."""
    code = main(argv)
    cap = capsys.readouterr()
    err = cap.err
    assert code != 0, f"accepted: {argv}\n{cap.out}"
    if rc is not None:
        assert code == rc, err
    assert "Traceback" not in err and "Traceback" not in cap.out, err
    assert err.startswith(("error: ", "interrupted")), err
    low = err.lower()
    for f in fragments:
        assert f.lower() in low, f"{f!r} not in message:\n{err}"
    world.assert_untouched()
    return err


def csv_flights(*rows: str, head: str = FLIGHTS_HEAD) -> str:
    return "\n".join([head, *_flights_rows(), *rows]) + "\n"


# ======================================================================================
# structure
# ======================================================================================
#: A table refused for its structure: (the file, its content or None for no file, what the
#: message says besides the file's name).
STRUCTURE = {
    "no_flights_file": ("flights.csv", None, ["no flights.csv"]),
    "empty_flights_file": ("flights.csv", "", ["empty"]),
    "header_only": ("flights.csv", FLIGHTS_HEAD + "\n", ["no data rows"]),
    "blank_first_line": ("flights.csv", "\n" + csv_flights(), ["header"]),
    "missing_member_column": (
        "flights.csv",
        "FLIGHT_DATE,SEG_KM\n2013-01-01,800\n",
        ["MEMBER_NO", "missing required column"],
    ),
    "missing_date_column": ("flights.csv", "MEMBER_NO,SEG_KM\n1,800\n", ["FLIGHT_DATE"]),
    "duplicate_headers": (
        "flights.csv",
        "MEMBER_NO,FLIGHT_DATE,FLIGHT_DATE\n1,2013-01-01,2013-01-02\n",
        ["duplicate column names", "'FLIGHT_DATE' at positions [2, 3]"],
    ),
    "duplicate_headers_after_trimming": (
        "members.csv",
        "MEMBER_NO,FFP_DATE, FFP_DATE\n1,2011-01-01,2011-01-01\n",
        ["duplicate column names", "FFP_DATE"],
    ),
    "ragged_row": (
        "flights.csv",
        csv_flights("1,2013-01-05,800,0.5,300,EXTRA,MORE"),
        ["not a well-formed csv", "line"],
    ),
    "binary_file": ("flights.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, ["binary"]),
    "duplicate_member_ids": (
        "members.csv",
        MEMBERS_HEAD + "\n1,2011-01-01,4,30,a\n1,2011-02-01,4,31,b\n",
        ["MEMBER_NO", "duplicate ids", "rows: 1, 2"],
    ),
    "members_without_enrolment_column": ("members.csv", "MEMBER_NO,AGE\n1,30\n", ["FFP_DATE"]),
    "flights_of_unknown_members": (
        "flights.csv",
        csv_flights("999,2013-01-05,800,0.5,300"),
        ["MEMBER_NO", "missing from the member table", "row", "61", "999"],
    ),
    "complaints_of_unknown_members": (
        "complaints.csv",
        "MEMBER_NO,COMPLAINT_DATE\n1,2013-01-01\n777,2013-01-02\n",
        ["MEMBER_NO", "not in the member table", "rows: 2", "777"],
    ),
    "noshows_of_unknown_members": (
        "noshows.csv",
        "MEMBER_NO,NOSHOW_DATE\nX9,2013-01-02\n",
        ["MEMBER_NO", "rows: 1", "X9"],
    ),
    "complaints_without_date": (
        "complaints.csv",
        "MEMBER_NO,WHEN\n1,2013-01-01\n",
        ["COMPLAINT_DATE"],
    ),
    "blank_member_id": (
        "flights.csv",
        csv_flights(",2013-01-05,800,0.5,300"),
        ["MEMBER_NO", "missing member ids", "61"],
    ),
    "flight_before_enrolment": (
        "flights.csv",
        csv_flights("1,2010-01-05,800,0.5,300"),
        ["before the member's enrolment", "61"],
    ),
}


@pytest.mark.parametrize("case", sorted(STRUCTURE))
def test_structure(world, capsys, case):
    name, content, fragments = STRUCTURE[case]
    world.write({name: content})
    refused(world, world.args(), capsys, name, *fragments)


def test_structure_damaged_parquet(world, capsys):
    world.write({"flights.csv": None, "flights.parquet": b"PAR1 this is not parquet"})
    refused(world, world.args(), capsys, "flights.parquet", "not a readable parquet")


def test_structure_data_path_missing(world, capsys):
    refused(world, world.args(data=str(world.root / "nope")), capsys, "nope", "not found")


def test_structure_unsupported_file_type(world, capsys):
    bad = world.inp / "air_data.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    world.before = _tree(world.root)
    refused(world, world.args(data=str(bad)), capsys, "air_data.xlsx", "unsupported file type")


# ======================================================================================
# values
# ======================================================================================
VALUES = {
    "negative_distance": (csv_flights("1,2013-01-05,-800,0.5,300"), ["SEG_KM", "negative", "61"]),
    "absurd_distance_1e300": (
        csv_flights("1,2013-01-05,1e300,0.5,300"),
        ["SEG_KM", "absurd", "61"],
    ),
    "infinite_revenue": (csv_flights("1,2013-01-05,800,0.5,inf"), ["REVENUE", "infinite", "61"]),
    "negative_revenue": (csv_flights("2,2013-01-05,800,0.5,-1"), ["REVENUE", "negative", "61"]),
    "text_revenue": (csv_flights("1,2013-01-05,800,0.5,lots"), ["REVENUE", "non-numeric", "lots"]),
    "discount_above_two": (csv_flights("1,2013-01-05,800,5,300"), ["DISCOUNT", "61", "5"]),
    "flight_longer_than_any": (
        csv_flights("1,2013-01-05,30000,0.5,300"),
        ["SEG_KM", "longer than any flight"],
    ),
    "missing_distance": (csv_flights("1,2013-01-05,,0.5,300"), ["SEG_KM", "missing values", "61"]),
}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_values_flights(world, capsys, case):
    text, fragments = VALUES[case]
    world.write({"flights.csv": text})
    refused(world, world.args(), capsys, "flights.csv", *fragments)


@pytest.mark.parametrize(
    ("row", "fragments"),
    [
        ("1,2011-01-15,4,150,a", ["AGE", "150"]),
        ("1,2011-01-15,-1,30,a", ["FFP_TIER", "-1"]),
        ("1,2011-01-15,4,1e300,a", ["AGE", "absurd"]),
    ],
    ids=["age_150", "negative_tier", "absurd_age"],
)
def test_values_members(world, capsys, row, fragments):
    others = [f"{m},2011-01-15,4,30,c" for m in range(2, N_MEMBERS + 1)]
    world.write({"members.csv": "\n".join([MEMBERS_HEAD, row, *others]) + "\n"})
    refused(world, world.args(), capsys, "members.csv", "rows: 1", *fragments)


# ======================================================================================
# dates and encodings
# ======================================================================================
DATES = {
    "impossible_day": (
        csv_flights("1,2013-02-30,800,0.5,300"),
        ["cannot be parsed", "2013-02-30", "61"],
    ),
    "day_month_dots": (
        csv_flights("1,05.03.2013,800,0.5,300"),
        ["ambiguous", "05.03.2013", "date_format"],
    ),
    "day_month_slashes": (csv_flights("1,5/3/2013,800,0.5,300"), ["ambiguous", "5/3/2013"]),
    "year_1899": (
        csv_flights("1,1899-05-01,800,0.5,300"),
        ["implausible dates", "1899-05-01", "61"],
    ),
    "far_future": (csv_flights("1,2099-05-01,800,0.5,300"), ["implausible", "2099-05-01"]),
    "one_flight_far_after_the_rest": (
        csv_flights("4,2019-06-01,800,0.5,300"),
        ["more than 92 days after 99%", "2019-06-01", "61", "obs_end"],
    ),
    "relative_word": (csv_flights("1,today,800,0.5,300"), ["cannot be parsed", "today"]),
    "garbage_date": (csv_flights("1,soon,800,0.5,300"), ["cannot be parsed", "soon"]),
}


@pytest.mark.parametrize("case", sorted(DATES))
def test_dates(world, capsys, case):
    text, fragments = DATES[case]
    world.write({"flights.csv": text})
    refused(world, world.args(), capsys, "flights.csv", "FLIGHT_DATE", *fragments)


BIG5_MEMBERS = (
    MEMBERS_HEAD
    + "\n"
    + "\n".join(f"{m},2011-01-15,4,30,臺北市" for m in range(1, N_MEMBERS + 1))
    + "\n"
)


def test_encoding_latin1_is_refused_not_guessed(world, capsys):
    text = base_files()["members.csv"].replace("city1,", "Zürich,").replace("city1\n", "Zürich\n")
    world.write({"members.csv": text.encode("latin-1")})
    refused(world, world.args(), capsys, "members.csv", "cannot tell the encoding", "encoding")


def test_encoding_utf16_without_bom_is_named(world, capsys):
    world.write({"members.csv": base_files()["members.csv"].encode("utf-16-le")})
    refused(world, world.args(), capsys, "members.csv", "UTF-16", "utf-16-le")


def test_encoding_big5_is_detected_not_garbled(tmp_path):
    from crm_research.data.readers import read_table

    p = tmp_path / "m.csv"
    p.write_bytes(BIG5_MEMBERS.encode("big5"))
    df = read_table(p)
    assert df.attrs["encoding"] == "big5"
    assert set(df["WORK_CITY"]) == {"臺北市"}


def test_encoding_gb18030_is_still_read(tmp_path):
    from crm_research.data.readers import read_table

    p = tmp_path / "m.csv"
    p.write_bytes(BIG5_MEMBERS.replace("臺北市", "北京市").encode("gb18030"))
    df = read_table(p)
    assert df.attrs["encoding"] == "gb18030" and set(df["WORK_CITY"]) == {"北京市"}


def test_encoding_utf16_with_bom_is_read(tmp_path):
    from crm_research.data.readers import read_table

    p = tmp_path / "m.csv"
    p.write_bytes(BIG5_MEMBERS.encode("utf-16"))
    df = read_table(p)
    assert df.attrs["encoding"] == "utf-16" and len(df) == N_MEMBERS


def test_dates_with_time_zone_offsets_keep_their_local_date(tmp_path):
    from crm_research.data import schema as S

    df = pd.DataFrame(
        {"D": ["2013-01-05T23:30:00+08:00", "2013-01-06T01:00:00-05:00", "2013-01-07"]}
    )
    got = S.parse_dates(df, "D", "t.csv")
    assert list(got.dt.date.astype(str)) == ["2013-01-05", "2013-01-06", "2013-01-07"]


def test_dates_day_first_with_declared_format(tmp_path):
    from crm_research.data import schema as S

    df = pd.DataFrame({"D": ["05.03.2013", "25.12.2013"]})
    got = S.parse_dates(df, "D", "t.csv", date_format="%d.%m.%Y")
    assert list(got.dt.strftime("%Y-%m-%d")) == ["2013-03-05", "2013-12-25"]


def test_twenty_digit_ids_are_kept_as_text(tmp_path):
    from crm_research.data.readers import read_table
    from crm_research.data.snapshot import build_snapshot, validate_flights

    big = "98765432109876543210"
    p = tmp_path / "flights.csv"
    p.write_text(f"{FLIGHTS_HEAD}\n{big},2013-01-05,800,0.5,300\n00042,2013-01-06,800,0.5,300\n")
    f = validate_flights(read_table(p), str(p))
    snap = build_snapshot(f, None, "2013-12-31")
    assert set(snap["MEMBER_NO"]) == {big, "00042"}  # no wrap, no lost leading zeros


# ======================================================================================
# parameters
# ======================================================================================
PARAM_FILES = {
    "seed_float": ("seed: 7.9\n", ["'seed' = 7.9", "an integer"]),
    "seed_word": ("seed: seven\n", ["'seed' = 'seven'", "an integer"]),
    "seed_negative": ("seed: -1\n", ["'seed' = -1", "[0, 4294967295]"]),
    "seed_bool": ("seed: true\n", ["'seed' = True", "an integer"]),
    "unknown_name": (
        "horizon_month: 3\n",
        ["unknown parameter 'horizon_month'", "did you mean 'horizon_months'"],
    ),
    "section_of_no_notebook": ("9:\n  k: 4\n", ["section 9 names no notebook"]),
    "section_not_a_mapping": ("04: 5\n", ["section 4 must map parameter names"]),
    "k_one": ("04:\n  k: 1\n", ["section 04", "'k' = 1", "in [2, 50]"]),
    "k_min_above_k_max": (
        "04:\n  k_min: 8\n  k_max: 4\n",
        ["'k_min' = 8", "'k_max' = 4", "k_min <= k_max"],
    ),
    "discount_rate_5": ("discount_rate_annual: 5\n", ["'discount_rate_annual' = 5", "[0, 1)"]),
    "top_share_q_above_one": ("top_share_q: 1.5\n", ["'top_share_q' = 1.5", "(0, 1)"]),
    "negative_horizon": ("horizon_months: -12\n", ["'horizon_months' = -12", "[1, 240]"]),
    "obs_end_garbage": ("obs_end: garbage\n", ["'obs_end' = 'garbage'", "YYYY-MM-DD"]),
    "obs_end_impossible": ("obs_end: 2014-02-30\n", ["'obs_end' = '2014-02-30'"]),
    "unknown_cleaning_rule": (
        "cleaning: third_edition\n",
        ["'cleaning' = 'third_edition'", "first_edition"],
    ),
    "risk_band_reversed": ("risk_low: 0.7\nrisk_high: 0.4\n", ["risk_low < risk_high"]),
    "runner_owned_folder": (
        "processed_dir: /tmp/elsewhere\n",
        ["'processed_dir'", "set by the runner"],
    ),
    "unknown_model": ("models: [bgnbd, foo]\n", ["'models'", "bgnbd"]),
    "empty_model_list": ("models: []\n", ["'models' = []"]),
    "ahp_not_reciprocal": (
        "ahp_matrix: [[1,3,1,1,1],[3,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1],[1,1,1,1,1]]\n",
        ["'ahp_matrix'", "not reciprocal"],
    ),
    "ahp_wrong_shape": ("ahp_matrix: [[1, 2], [0.5, 1]]\n", ["'ahp_matrix'", "5 x 5"]),
    "unknown_codec": ("encoding: klingon-8\n", ["'encoding' = 'klingon-8'", "codec"]),
    "date_format_without_directives": ("date_format: dd.mm.yyyy\n", ["'date_format'", "strptime"]),
    "nan_margin": ("margin: .nan\n", ["'margin' = nan"]),
    "list_file": ("- seed\n- 7\n", ["expected a mapping", "list"]),
    "invalid_yaml": ("seed: [7\n", ["not valid yaml", "line"]),
    "test_size_zero": ("05:\n  test_size: 0\n", ["'test_size' = 0"]),
    "n_init_zero": ("04:\n  n_init: 0\n", ["'n_init' = 0"]),
}


@pytest.mark.parametrize("case", sorted(PARAM_FILES))
def test_parameters_file(world, capsys, case):
    text, fragments = PARAM_FILES[case]
    p = world.root / "params.yml"
    p.write_text(text, encoding="utf-8")
    world.before = _tree(world.root)
    refused(world, world.args("--params", str(p), only=None), capsys, *fragments)


class WithParams(NamedTuple):
    """A parameters file ``p.yml`` given with ``--params``, the input changed first."""

    params: str | bytes
    fragments: list[str]
    extra: tuple[str, ...] = ()  # options after --params
    data: str | None = None  # --data (None: the input folder)
    only: str | None = "01"
    files: dict[str, str | bytes] | None = None  # input files written first


_LOG_TO_DEC_20 = [r for r in _flights_rows() if r.split(",")[1] <= "2013-12-20"]

WITH_PARAMS = {
    "two_seeds": WithParams("seed: 7\n", ["two seeds given"], extra=("--seed", "8")),
    "cleaning_rule_for_a_flight_log": WithParams(
        "cleaning: first_edition\n", ["'cleaning' = 'first_edition'", "textbook member table"]
    ),
    "obs_end_for_the_simulation": WithParams(
        "obs_end: 2013-01-01\n", ["'obs_end'", "data synth --obs-end"], data="synthetic"
    ),
    "calibration_end_after_the_observation_end": WithParams(
        "02:\n  calibration_end: 2015-01-01\n",
        ["'calibration_end' = '2015-01-01'", "before the observation end"],
        only="01-02",
    ),
    "params_file_not_utf8": WithParams("seed: 7 # café\n".encode("utf-16"), ["p.yml", "not utf-8"]),
    "flights_after_explicit_observation_end": WithParams(
        "obs_end: 2013-06-30\n",
        ["flights.csv", "after the observation date 2013-06-30", "rows"],
    ),
    "complaints_after_observation_end": WithParams(
        "obs_end: 2013-12-20\n",
        ["complaints.csv", "after the observation end", "rows: 2"],
        # flights of the log reach December 2013: a log that ends before
        files={
            "complaints.csv": "MEMBER_NO,COMPLAINT_DATE\n1,2013-01-01\n2,2013-12-30\n",
            "flights.csv": "\n".join([FLIGHTS_HEAD, *_LOG_TO_DEC_20]) + "\n",
        },
    ),
    "dates_not_matching_the_declared_format": WithParams(
        "date_format: '%d.%m.%Y'\n", ["members.csv", "FFP_DATE", "with date_format '%d.%m.%Y'"]
    ),
    "encoding_declared_but_wrong": WithParams(
        "encoding: utf-8\n",
        ["members.csv", "not valid utf-8", "line 2"],
        files={"members.csv": BIG5_MEMBERS.encode("big5")},
    ),
}


@pytest.mark.parametrize("case", sorted(WITH_PARAMS))
def test_parameters_file_with_the_input(world, capsys, case):
    c = WITH_PARAMS[case]
    world.write(c.files or {})
    p = world.root / "p.yml"
    if isinstance(c.params, bytes):
        p.write_bytes(c.params)
    else:
        p.write_text(c.params, encoding="utf-8")
    world.before = _tree(world.root)
    argv = world.args("--params", str(p), *c.extra, data=c.data, only=c.only)
    refused(world, argv, capsys, *c.fragments)


def test_parameters_section_04_read_as_int_is_accepted(world):
    import yaml

    from crm_research.params import resolve
    from crm_research.report import list_notebooks, notebook_parameters

    declared = {b.stem: notebook_parameters(b) for b in list_notebooks()}
    res = resolve(declared, list(declared), yaml.safe_load("04:\n  k: 6\n"))
    assert res.per_book["04_lrfmc_segmentation"]["k"] == 6


CLI_OPTIONS = {
    "members_zero": (["--members", "0"], "synthetic", "01", ["--members = 0", ">= 100"]),
    "members_negative": (["--members", "-5"], "synthetic", "01", ["--members = -5"]),
    "members_tiny": (["--members", "5"], "synthetic", "01", ["--members = 5"]),
    "members_with_cdnow": (["--members", "2000"], "cdnow", "01", ["no meaning with --data cdnow"]),
    "seed_negative": (["--seed", "-3"], "synthetic", "01", ["'seed' = -3"]),
    "only_open_range": ([], "synthetic", "1-", ["--only = '1-'", "02-04"]),
    "only_backwards": ([], "synthetic", "04-02", ["runs backwards"]),
    "only_unknown": ([], "synthetic", "99", ["unknown notebook", "99"]),
    "only_word": ([], "synthetic", "abc", ["--only = 'abc'"]),
    "only_empty": ([], "synthetic", ",", ["--only = ','"]),
}


@pytest.mark.parametrize("case", sorted(CLI_OPTIONS))
def test_parameters_command_line(world, capsys, case):
    extra, data, only, fragments = CLI_OPTIONS[case]
    refused(world, world.args(*extra, data=data, only=only), capsys, *fragments)


#: ``--only`` a later notebook with the tables of notebook 01 missing or damaged in
#: ``--processed``: (the tables folder's files, None for no folder; --only; fragments, in
#: which ``{tables}`` stands for the folder).
TABLES_OF_01 = {
    "only_03_without_the_tables_of_01": (
        None,
        "03",
        [
            "notebook 03_clv_monetary_value reads the tables notebook 01 writes",
            "{tables}",
            "run notebook 01 first",
        ],
    ),
    "only_02_with_damaged_tables_of_01": (
        {"dataset.json": "{not json", "snapshot.parquet": pd.DataFrame({"MEMBER_NO": ["1"]})},
        "02",
        ["dataset.json", "not a readable"],
    ),
    "only_02_without_a_snapshot": (
        {"dataset.json": "{}"},
        "02",
        ["snapshot.parquet", "run notebook 01 first"],
    ),
}


@pytest.mark.parametrize("case", sorted(TABLES_OF_01))
def test_parameters_only_a_later_notebook(world, capsys, tmp_path, case):
    files, only, fragments = TABLES_OF_01[case]
    tables = tmp_path / case
    if files is not None:
        tables.mkdir()
        for name, content in files.items():
            if isinstance(content, pd.DataFrame):
                content.to_parquet(tables / name)
            else:
                (tables / name).write_text(content, encoding="utf-8")
    world.before = _tree(world.root)
    argv = world.args("--processed", str(tables), only=only)
    refused(world, argv, capsys, *(f.format(tables=tables) for f in fragments))
    if files is None:
        assert not tables.exists()


def test_parameters_k_larger_than_the_members(world, capsys):
    """k = 5 clusters of a 3-member log is refused before notebook 01 runs."""
    rows = [r for r in _flights_rows() if int(r.split(",")[0]) <= 3]
    world.write({"flights.csv": "\n".join([FLIGHTS_HEAD, *rows]) + "\n"})
    refused(
        world, world.args(only="01-04"), capsys, "'k' = 5", "number of members in the input (3)"
    )


def test_parameters_params_file_missing_or_a_folder(world, capsys):
    refused(
        world, world.args("--params", str(world.root / "nope.yml")), capsys, "nope.yml", "not found"
    )
    refused(world, world.args("--params", str(world.inp)), capsys, "is a folder")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["data", "synth", "--members", "0"], ["--members = 0"]),
        (["data", "synth", "--members", "10", "--seed", "-1"], ["--seed = -1"]),
        (["data", "synth", "--members", "10", "--obs-end", "garbage"], ["--obs-end = 'garbage'"]),
    ],
    ids=["synth_members_zero", "synth_seed_negative", "synth_obs_end_garbage"],
)
def test_parameters_data_synth(world, capsys, argv, fragments, monkeypatch):
    monkeypatch.chdir(world.root)
    world.before = _tree(world.root)
    refused(world, argv, capsys, *fragments)


# ======================================================================================
# faults: the operating system, other runs, signals
# ======================================================================================
#: A folder option pointing at a file (or below one): (the file's name, the option, the
#: part below the file, --data, fragments).
FOLDER_IS_A_FILE = {
    "out_is_a_file": ("a_file", "--out", "", None, ["--out", "a_file", "is a file, not a folder"]),
    "out_inside_a_file": ("a_file", "--out", "reports", None, ["a_file is a file, not a folder"]),
    "processed_is_a_file": ("tables", "--processed", "", None, ["--processed", "is a file"]),
    "raw_is_a_file": ("rawfile", "--raw", "", "synthetic", ["--raw", "is a file"]),
}


@pytest.mark.parametrize("case", sorted(FOLDER_IS_A_FILE))
def test_faults_folder_is_a_file(world, capsys, case):
    name, option, below, data, fragments = FOLDER_IS_A_FILE[case]
    f = world.root / name
    f.write_text("x")
    world.before = _tree(world.root)
    argv = world.args(data=data)
    if option in argv:
        argv[argv.index(option) + 1] = str(f / below)
    else:
        argv += [option, str(f / below)]
    refused(world, argv, capsys, *fragments)


def _deny(monkeypatch, target: Path, mode: int) -> None:
    real = os.access

    def access(path, m, *a, **k):
        if Path(path).resolve() == target.resolve() and m & mode:
            return False
        return real(path, m, *a, **k)

    monkeypatch.setattr(os, "access", access)


def test_faults_out_not_writable(world, capsys, monkeypatch):
    _deny(monkeypatch, world.out, os.W_OK)
    refused(world, world.args(), capsys, "--out", "permission denied")


def test_faults_unreadable_input(world, capsys, monkeypatch):
    _deny(monkeypatch, world.inp / "members.csv", os.R_OK)
    refused(world, world.args(), capsys, "members.csv", "permission denied")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_faults_unreadable_input_for_real(world, capsys):
    (world.inp / "flights.csv").chmod(0)
    world.before = _tree(world.root)
    try:
        refused(world, world.args(), capsys, "flights.csv", "permission denied")
    finally:
        (world.inp / "flights.csv").chmod(0o644)


def test_faults_simulation_on_a_full_disk(world, capsys, monkeypatch):
    from crm_research import io as cio

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(world.raw / "x.parquet"))

    monkeypatch.setattr(cio, "write_parquet", full)
    refused(world, world.args("--members", "200", data="synthetic"), capsys, "disk full", rc=1)
    assert not list(world.raw.iterdir()), "the partial simulation is removed"


def test_faults_existing_simulation_is_never_overwritten(world, capsys):
    sim = world.raw / "synthetic-200-seed42"
    sim.mkdir()
    (sim / "members.parquet").write_bytes(b"the user's own data")
    world.before = _tree(world.root)
    argv = world.args("--members", "200", data="synthetic")
    refused(world, argv, capsys, str(sim), "left as it is", rc=1)


@pytest.mark.parametrize("fmt", [[], ["--format", "parquet"]], ids=["tables", "parquet-parts"])
def test_faults_data_synth_never_overwrites(world, capsys, fmt):
    target = world.root / "mine"
    target.mkdir()
    (target / "flights.parquet").write_bytes(b"precious")
    world.before = _tree(world.root)
    argv = ["data", "synth", "--members", "50", "--out", str(target), *fmt]
    refused(world, argv, capsys, "already holds files", "another --out")


def test_faults_another_run_holds_the_folder(world, capsys):
    lock = R.RunLock(world.out, "reports folder").acquire()
    world.before = _tree(world.root)
    fragments = ["another run is using the reports folder", str(world.out)]
    try:
        refused(world, world.args(), capsys, *fragments, rc=1)
    finally:
        lock.release()


#: What the input's loader raises: (the exception, fragments, exit code, one line only).
LOAD_FAILURES = {
    "interrupt_during_validation": (
        KeyboardInterrupt(),
        ["interrupted (ctrl-c)", "nothing was written"],
        130,
        False,
    ),
    "unexpected_error_is_one_line": (
        ZeroDivisionError("division by zero"),
        ["unexpected ZeroDivisionError", "CRM_RESEARCH_DEBUG"],
        1,
        True,
    ),
    "os_error_is_one_line": (
        PermissionError(errno.EACCES, "Permission denied", "/somewhere/table.parquet"),
        ["/somewhere/table.parquet", "permission denied"],
        1,
        True,
    ),
}


@pytest.mark.parametrize("case", sorted(LOAD_FAILURES))
def test_faults_while_loading(world, capsys, monkeypatch, case):
    from crm_research.data import sources

    error, fragments, rc, one_line = LOAD_FAILURES[case]

    def load_source(*a, **k):
        raise error

    monkeypatch.setattr(sources, "load_source", load_source)
    err = refused(world, world.args(), capsys, *fragments, rc=rc)
    if one_line:
        assert len(err.strip().splitlines()) == 1


# ======================================================================================
# injection
# ======================================================================================
@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', "'=HYPERLINK"),
        ("+cmd|' /C calc'!A0", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM"),
        ("\tlead", "'\tlead"),
        ("\rlead", "'\rlead"),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "carriage_return"],
)
def test_injection_csv_cells_are_neutralised(tmp_path, cell, written):
    import csv

    from crm_research import io as cio

    p = cio.write_csv(
        pd.DataFrame({"MEMBER_NO": [cell, "ok"], "p": [-0.5, 1.0]}), tmp_path / "r.csv"
    )
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][0] == written + cell[len(written) - 1 :]
    assert rows[1][1] == "-0.5" and rows[2][0] == "ok"  # numbers and plain text unchanged


def test_injection_csv_header_is_neutralised(tmp_path):
    from crm_research import io as cio

    p = cio.write_csv(pd.DataFrame({"=1+1": ["a"]}), tmp_path / "r.csv")
    assert p.read_text(encoding="utf-8").splitlines()[0] == "'=1+1"


def test_injection_index_page_escapes_names(tmp_path):
    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    (run / "figures" / "<svg onload=alert(2)>.png").write_bytes(b"x")
    bad = "<img src=x onerror=alert(1)>.csv"
    rows = [{"name": bad, "ipynb": bad + ".ipynb", "html": bad + ".html", "seconds": 1.0}]
    manifest = {"data": f"/tmp/{bad}", "parameters": {"01": {"data_source": bad}}, "seed": 1}
    page = R._index_html("20260101-000000-x", run, rows, manifest)
    assert "<img" not in page and "<svg" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "20260101-000000-x" in page and ".staging" not in page


def test_injection_styler_tables_are_escaped():
    import crm_research.io  # noqa: F401  (sets the Styler's default escaping)

    df = pd.DataFrame({"member": ["<script>alert(1)</script>"], "risk": [0.5]})
    plain = df.style.hide(axis="index").to_html()
    assert "<script>alert" not in plain and "&lt;script&gt;" in plain


def test_injection_management_report_formats_with_escape():
    """The report's Styler tables pass escape="html" (a later .format() would drop it);
    notebook 06 builds them in crm_research.report.summary."""
    import inspect

    import nbformat

    from crm_research.report import summary

    nb = nbformat.read(R.NOTEBOOK_DIR / "06_management_report.ipynb", as_version=4)
    calls = [c.source for c in nb.cells if ".style.format(" in c.source]
    calls.append(inspect.getsource(summary))
    assert all(s.count(".style.format(") == s.count('escape="html"') for s in calls)
    assert inspect.getsource(summary).count(".style.format(") >= 1


def test_ids_agree_across_csv_and_parquet_tables(tmp_path, world):
    """A flight log whose tables mix CSV and Parquet: ids compare as text everywhere."""
    from crm_research.data.sources import load_flight_log_folder

    pd.DataFrame({"MEMBER_NO": [3, 1], "NOSHOW_DATE": ["2013-02-02", "2013-03-02"]}).to_parquet(
        world.inp / "noshows.parquet"
    )
    (world.inp / "noshows.csv").unlink()
    ds = load_flight_log_folder(world.inp)
    assert set(ds.noshows["MEMBER_NO"]) == {"3", "1"}
    assert ds.snapshot.set_index("MEMBER_NO").loc["3", "NOSHOW_COUNT"] == 1


# --------------------------------------------------------------------------------------
# the textbook member table (air_data.csv)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def textbook_text(tmp_path_factory):
    from crm_research.data.fixtures import write_textbook_csv
    from crm_research.data.simulate import simulate_programme
    from crm_research.data.snapshot import build_snapshot

    sim = simulate_programme(n_members=60, seed=1)
    snap = build_snapshot(sim.flights, sim.members, sim.obs_end)
    p = write_textbook_csv(snap, tmp_path_factory.mktemp("tb") / "air_data.csv", quirks=False)
    return p.read_text(encoding="utf-8")


def _textbook_cell(text: str, column: str, row: int, value: str) -> str:
    lines = text.splitlines()
    head = lines[0].split(",")
    cells = lines[row].split(",")
    cells[head.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("column", "value", "fragments"),
    [
        ("SEG_KM_SUM", "1e300", ["SEG_KM_SUM", "absurd", "rows: 3"]),
        ("FLIGHT_COUNT", "inf", ["FLIGHT_COUNT", "rows: 3"]),
        ("LOAD_TIME", "31.03.2014", ["LOAD_TIME", "ambiguous", "31.03.2014"]),
        ("FFP_DATE", "2013-13-01", ["FFP_DATE", "cannot be parsed", "2013-13-01"]),
    ],
    ids=["absurd_km", "infinite_count", "ambiguous_load_time", "impossible_month"],
)
def test_values_textbook_table(world, capsys, textbook_text, column, value, fragments):
    world.write({"air_data.csv": _textbook_cell(textbook_text, column, 3, value)})
    argv = world.args(data=str(world.inp / "air_data.csv"))
    refused(world, argv, capsys, "air_data.csv", *fragments)


def test_structure_textbook_duplicate_header(world, capsys, textbook_text):
    text = textbook_text.replace("SUM_YR_2,", "SUM_YR_1,", 1)
    world.write({"air_data.csv": text})
    argv = world.args(data=str(world.inp / "air_data.csv"))
    refused(world, argv, capsys, "air_data.csv", "duplicate column names", "SUM_YR_1")


def test_parameters_textbook_unknown_cleaning_rule(world, capsys, textbook_text):
    world.write({"air_data.csv": textbook_text})
    p = world.root / "p.yml"
    p.write_text("01:\n  cleaning: fourth_edition\n", encoding="utf-8")
    world.before = _tree(world.root)
    argv = world.args("--params", str(p), data=str(world.inp / "air_data.csv"))
    refused(world, argv, capsys, "'cleaning' = 'fourth_edition'", "second_edition")


# ======================================================================================
# a Parquet log: checked by the run's engine (SQL counts), never read into pandas
# ======================================================================================
def _as_parquet(world: World) -> None:
    """The input as Parquet tables (typed as a warehouse export would be)."""
    files = {}
    for name in ("flights", "members", "complaints", "noshows"):
        p = world.inp / f"{name}.csv"
        df = pd.read_csv(p)
        for c in df.columns:
            if c.endswith("_DATE"):
                df[c] = pd.to_datetime(df[c], errors="coerce")
        df.to_parquet(world.inp / f"{name}.parquet")
        files[f"{name}.csv"] = None
    world.write(files)


PARQUET_CASES = {
    "negative_distance": (
        lambda f: f.assign(SEG_KM=f["SEG_KM"].where(f.index != 7, -800.0)),
        ["flights.parquet", "SEG_KM", "negative", "rows: 8"],
    ),
    "flight_longer_than_any": (
        lambda f: f.assign(SEG_KM=f["SEG_KM"].where(f.index != 3, 30000.0)),
        ["flights.parquet", "longer than any flight", "rows: 4"],
    ),
    "unknown_member": (
        lambda f: f.assign(MEMBER_NO=f["MEMBER_NO"].where(f.index != 2, 999)),
        ["flights.parquet", "missing from the member table", "999"],
    ),
    "year_1899": (
        lambda f: f.assign(
            FLIGHT_DATE=f["FLIGHT_DATE"].where(f.index != 5, pd.Timestamp("1899-05-01"))
        ),
        ["flights.parquet", "implausible dates", "rows: 6"],
    ),
}


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
@pytest.mark.parametrize("case", sorted(PARQUET_CASES))
def test_values_parquet_log_under_each_engine(world, capsys, case, engine):
    world.write({})
    _as_parquet(world)
    change, fragments = PARQUET_CASES[case]
    p = world.inp / "flights.parquet"
    change(pd.read_parquet(p)).to_parquet(p)
    world.before = _tree(world.root)
    refused(world, world.args("--engine", engine), capsys, *fragments)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_structure_damaged_parquet_log_under_each_engine(world, capsys, engine):
    _as_parquet(world)
    world.write({"members.parquet": b"PAR1 this is not parquet"})
    refused(
        world, world.args("--engine", engine), capsys, "members.parquet", "not a readable parquet"
    )
