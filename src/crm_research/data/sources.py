"""The study's inputs: the default simulation, CDNOW, a flight-log folder or a textbook file.

``load_source(data, raw_dir)`` returns a validated :class:`~crm_research.data.Dataset`:

- ``"synthetic"``: the simulated programme in ``raw_dir/synthetic/`` (written by
  ``crm-research data synth``; made on first use by the runner);
- ``"cdnow"``: the CDNOW 1/10 sample shipped with lifetimes (``"cdnow-master"`` for
  the full 23,570 customers);
- a folder: a flight log ``flights.csv|parquet`` with ``members.csv|parquet`` and
  optionally ``complaints`` and ``noshows`` tables;
- a file: the textbook member table (``air_data.csv``).

Nothing under ``raw_dir`` is ever modified.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from .. import io as _io
from ..config import ARTIFACTS, DEFAULT_OBS_END, DEFAULT_SEED
from . import Dataset
from . import schema as S
from .readers import read_table
from .schema import DataValidationError

SYNTH_TABLES = ("flights", "members", "complaints", "noshows", "truth")
DEFAULT_MEMBERS = 60_000


def synthetic_dir(raw_dir: str | os.PathLike) -> Path:
    """The simulation ``--data synthetic`` means when a notebook runs on its own:
    ``raw_dir/synthetic`` if it holds one, else the default run's
    ``raw_dir/synthetic-60000-seed42`` (what ``crm-research run`` simulates)."""
    plain = Path(raw_dir) / "synthetic"
    if synthetic_meta_in(plain) is not None:
        return plain
    return Path(raw_dir) / synthetic_folder_name(DEFAULT_MEMBERS, DEFAULT_SEED)


def write_synthetic(
    out_dir: str | os.PathLike,
    n_members: int = DEFAULT_MEMBERS,
    seed: int = DEFAULT_SEED,
    process: str = "bgnbd",
    obs_end: str = DEFAULT_OBS_END,
    *,
    chunk_members: int | None = None,
    log=None,
) -> Path:
    """Simulate a programme and write its tables as Parquet plus ``simulation.json``.

    By default each table is one file (``flights.parquet``, ...), simulated at once. With
    ``chunk_members``, each table is a folder of part files (``flights/part-00000.parquet``,
    ...), one per chunk of ``chunk_members`` members, so a log larger than memory can be
    made: only one chunk is in memory at a time. Chunk ``i`` is an independent simulation
    with the seed ``SeedSequence([seed, i])`` and member numbers following the previous
    chunk's, so the whole is deterministic in ``seed`` (and ``chunk_members``). Dates of
    the part files are stored in microseconds (read as they are by pandas, DuckDB and
    Spark); ``log`` (e.g. ``print``) is told the progress after each chunk.

    The tables are written to a temporary folder beside ``out_dir`` that is renamed to
    ``out_dir`` when complete. An existing ``out_dir`` with files in it is never
    overwritten (:class:`DataValidationError` says so): data in ``data/raw/`` is the
    user's.
    """
    if chunk_members is not None and (int(n_members) < 1 or int(chunk_members) < 1):
        raise ValueError("n_members and chunk_members must be at least 1")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "is a file" if not out.is_dir() else "already holds files"
        raise DataValidationError(
            f"{what}; a simulation never overwrites data: give another --out, or move "
            "the folder away",
            source=str(out),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        if chunk_members is None:
            meta = _write_whole(tmp, n_members, seed, process, obs_end)
        else:
            meta = _write_chunks(tmp, n_members, seed, process, obs_end, chunk_members, log)
        _io.write_json(meta, tmp / ARTIFACTS["simulation"])
        if out.exists():
            out.rmdir()  # empty (checked above)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_synthetic_parquet(out_dir, *, chunk_members: int = 250_000, log=None, **simulation):
    """:func:`write_synthetic` in chunks of ``chunk_members`` members (a partitioned
    Parquet log; ``simulation``: its ``n_members``, ``seed``, ``process``, ``obs_end``)."""
    return write_synthetic(out_dir, chunk_members=chunk_members, log=log, **simulation)


def _write_whole(tmp: Path, n_members, seed, process, obs_end) -> dict:
    """One simulation, one file per table in ``tmp``; returns ``simulation.json``'s content."""
    from .simulate import simulate_programme

    sim = simulate_programme(n_members=n_members, seed=seed, obs_end=obs_end, process=process)
    for name in SYNTH_TABLES:
        _io.write_parquet(getattr(sim, name), tmp / f"{name}.parquet")
    return {
        "n_members": int(n_members),
        "seed": int(seed),
        "process": process,
        "obs_end": str(sim.obs_end.date()),
        "params": {k: v for k, v in sim.params.as_dict().items() if not isinstance(v, dict)},
        "time_unit": "weeks",
    }


def _write_chunks(tmp: Path, n_members, seed, process, obs_end, chunk_members, log) -> dict:
    """Chunked simulations, a folder of part files per table in ``tmp``; returns
    ``simulation.json``'s content."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .simulate import SimulationParams, simulate_programme

    n_members, chunk_members = int(n_members), int(chunk_members)
    for name in SYNTH_TABLES:
        (tmp / name).mkdir(parents=True)
    n_flights, start, i, sim = 0, 0, 0, None
    while start < n_members:
        n = min(chunk_members, n_members - start)
        chunk_seed = int(np.random.SeedSequence([int(seed), i]).generate_state(1)[0])
        sim = simulate_programme(n_members=n, seed=chunk_seed, obs_end=obs_end, process=process)
        for name in SYNTH_TABLES:
            df = getattr(sim, name)
            df[S.MEMBER] += start
            pq.write_table(
                pa.Table.from_pandas(df, preserve_index=False),
                tmp / name / f"part-{i:05d}.parquet",
                coerce_timestamps="us",
                allow_truncated_timestamps=True,
            )
        n_flights += len(sim.flights)
        del sim
        start += n
        i += 1
        if log is not None:
            log(f"  {start:,} of {n_members:,} members, {n_flights:,} flights")
    return {
        "n_members": n_members,
        "n_flights": n_flights,
        "seed": int(seed),
        "process": process,
        "obs_end": str(pd.Timestamp(obs_end).date()),
        "format": "parquet",
        "chunk_members": chunk_members,
        "n_chunks": i,
        "params": {
            k: v for k, v in SimulationParams().as_dict().items() if not isinstance(v, dict)
        },
        "time_unit": "weeks",
    }


def synthetic_folder_name(n_members: int, seed: int, process: str = "bgnbd", obs_end=None) -> str:
    """The folder name of a simulation, made of its parameters."""
    name = f"synthetic-{int(n_members)}-seed{int(seed)}"
    if process != "bgnbd":
        name += f"-{process}"
    if obs_end and str(obs_end) != DEFAULT_OBS_END:
        name += f"-end{obs_end}"
    return name


def synthetic_meta_in(folder: str | os.PathLike) -> dict | None:
    """``simulation.json`` of a complete simulation folder, else None."""
    d = Path(folder)
    meta = d / ARTIFACTS["simulation"]
    if not meta.is_file():
        return None
    if not all((d / f"{t}.parquet").exists() for t in SYNTH_TABLES):
        return None
    try:
        return _io.read_json(meta)
    except ValueError:
        return None


def _snapshot(engine, spark_master, flights, members, as_of, **events):
    """The member snapshot by the chosen engine (pandas: :func:`build_snapshot`)."""
    from .engines import get_engine

    with get_engine(engine, spark_master=spark_master) as eng:
        ev = {k: v for k, v in events.items() if v is not None}
        return (
            eng.load(flights, members, ev.get("complaints"), ev.get("noshows"))
            .snapshot(as_of)
            .to_pandas()
        )


def _lazy_log(engine, spark_master, paths: dict, obs_end, *, validate: bool, snapshot=None):
    """A Parquet log checked and summarised by the engine, never read into pandas.

    ``paths`` holds the Parquet file or folder of ``flights`` (and of ``members``,
    ``complaints``, ``noshows`` where present). With ``validate`` the engine runs the
    checks of :func:`load_flight_log_folder` as SQL counts (same messages); with
    ``obs_end`` None the observation end is the last flight (``OUTLIER_DAYS`` rule).
    Returns the :class:`~.engines.flightlog.FlightLog`, the member snapshot and the end
    (``snapshot``: a Parquet file of it, already built from this input, read instead).
    """
    from .engines import get_engine
    from .engines.flightlog import FlightLog
    from .readers import check_parquet

    for p in paths.values():
        if p is not None:
            check_parquet(p)  # readable, distinct columns, rows: from the footers
    eng = get_engine(engine, spark_master=spark_master)
    try:
        eng.load(*(paths.get(k) for k in ("flights", "members", "complaints", "noshows")))
        if validate:
            end = eng.validate(obs_end=obs_end, infer_end_days=OUTLIER_DAYS)["obs_end"]
        else:
            end = pd.Timestamp(obs_end)
        log = FlightLog(paths["flights"], engine, spark_master=spark_master, eng=eng)
        snap = _prebuilt(snapshot) if snapshot is not None else eng.snapshot(end).to_pandas()
    except BaseException:
        eng.close()
        raise
    return log, snap, pd.Timestamp(end)


def _prebuilt(path) -> pd.DataFrame:
    """The member snapshot the run's input checks built from the same input (written by
    :func:`crm_research.report.runner.run_study`): read, not built a second time."""
    return pd.read_parquet(path)


def synthetic_meta(raw_dir: str | os.PathLike) -> dict | None:
    return synthetic_meta_in(synthetic_dir(raw_dir))


def load_synthetic(
    raw_dir: str | os.PathLike,
    *,
    folder: str | os.PathLike | None = None,
    engine: str = "pandas",
    spark_master: str | None = None,
    snapshot: str | os.PathLike | None = None,
) -> Dataset:
    """The simulation in ``folder`` (default ``raw_dir/synthetic``); ``snapshot`` as in
    :func:`load_source`."""
    d = Path(folder) if folder is not None else synthetic_dir(raw_dir)
    meta = synthetic_meta_in(d)
    if meta is None:
        raise DataValidationError(
            f"no complete simulation here: run `crm-research data synth --out {d}` "
            "(crm-research run --data synthetic does it for you)",
            source=str(d),
        )
    obs_end = pd.Timestamp(meta["obs_end"])
    if engine != "pandas":  # the log stays on disk, scanned by the engine
        t = {name: pd.read_parquet(d / f"{name}.parquet") for name in SYNTH_TABLES[1:]}
        paths = {n: d / f"{n}.parquet" for n in SYNTH_TABLES[:4]}
        t["flights"], snap, _ = _lazy_log(
            engine, spark_master, paths, obs_end, validate=False, snapshot=snapshot
        )
    else:
        t = {name: pd.read_parquet(d / f"{name}.parquet") for name in SYNTH_TABLES}
        snap = (
            _prebuilt(snapshot)
            if snapshot is not None
            else _snapshot(
                engine,
                spark_master,
                t["flights"],
                t["members"],
                obs_end,
                complaints=t["complaints"],
                noshows=t["noshows"],
            )
        )
    info = {
        "source": "synthetic",
        "obs_end": str(obs_end.date()),
        "has_ffp_columns": True,
        "time_unit": "weeks",
        "process": meta.get("process"),
        "seed": meta.get("seed"),
        "n_members": int(len(t["members"])),
        "n_flights": int(len(t["flights"])),
        "true_params": meta.get("params", {}),
        "input": str(d),
        "engine": engine,
    }
    return Dataset(snapshot=snap, info=info, **t)


def _find(folder: Path, stem: str) -> Path | None:
    for suffix in (".parquet", ".csv", ".pq", ".tsv", ".txt"):
        p = folder / f"{stem}{suffix}"
        if p.exists():
            return p
    p = folder / stem  # a folder of Parquet parts (`crm-research data synth --format parquet`)
    if p.is_dir() and any(p.glob("*.parquet")):
        return p
    return None


def _read(p: Path) -> pd.DataFrame:
    if p.is_dir():
        from .engines.pandas_engine import read_source

        return read_source(p)
    return read_table(p)


def _same_id_type(tables: dict[str, pd.DataFrame | None]) -> None:
    """A log may mix CSV tables (ids read as text) and Parquet ones (typed ids): when any
    table has text ids, all get text ids, so ``42`` and ``"42"`` are one member."""
    from .readers import _ids_as_text

    present = {k: t for k, t in tables.items() if t is not None and S.MEMBER in t.columns}
    kinds = {pd.api.types.is_numeric_dtype(t[S.MEMBER].dtype) for t in present.values()}
    if len(kinds) > 1:
        for k, t in present.items():
            _ids_as_text(t, k)


def load_flight_log_folder(
    folder: str | os.PathLike,
    obs_end=None,
    *,
    engine: str = "pandas",
    spark_master: str | None = None,
    snapshot: str | os.PathLike | None = None,
) -> Dataset:
    """Read and validate a flight-log folder (flights + members [+ complaints, noshows]).

    ``obs_end`` defaults to the last flight date in the log, under a sanity rule: flights
    in the future, or more than ``OUTLIER_DAYS`` days after 99% of the log, are refused
    with their rows (one mistyped year must not move the observation end and drop
    everyone else out of the window). With an explicit ``obs_end`` flights and events
    after it are refused. ``snapshot`` as in :func:`load_source`.
    """
    from .snapshot import validate_events, validate_flights, validate_members

    folder = Path(folder)
    fpath = _find(folder, "flights")
    if fpath is None:
        raise DataValidationError(
            "no flights.csv or flights.parquet in the folder (a flight log needs one)",
            source=str(folder),
        )
    mpath = _find(folder, "members")
    paths = {"flights": fpath, "members": mpath}
    paths.update({stem: _find(folder, stem) for stem in ("complaints", "noshows")})
    if engine != "pandas" and all(p is None or _parquet(p) for p in paths.values()):
        # Parquet tables: checked and summarised by the engine where they are; a CSV
        # table is read by our reader (encodings, date formats) and checked in pandas
        log, snap, end = _lazy_log(
            engine, spark_master, paths, obs_end, validate=True, snapshot=snapshot
        )
        tables = {k: _read_checked(k, p, log) for k, p in paths.items() if k != "flights"}
        info = _flightlog_info(folder, engine, obs_end, end, log, spark_master=spark_master)
        return Dataset(snapshot=snap, flights=log, info=info, **tables)
    raw = {"flights": _read(fpath), "members": _read(mpath) if mpath is not None else None}
    for stem in ("complaints", "noshows"):
        p = _find(folder, stem)
        raw[stem] = _read(p) if p is not None else None
    _same_id_type(raw)
    members = None
    if mpath is not None:
        members = _as_read(validate_members(raw["members"], source=str(mpath)), raw["members"])
    flights = validate_flights(raw["flights"], source=str(fpath), members=members)
    if obs_end:
        end = pd.Timestamp(obs_end)
    else:
        end = _inferred_end(flights, str(fpath))
    late = flights[S.FLIGHT_DATE] > end
    if late.any():
        validate_flights(flights, source=str(fpath), obs_end=end)
    known = members[S.MEMBER] if members is not None else flights[S.MEMBER]
    events = {}
    for stem, col in (("complaints", S.COMPLAINT_DATE), ("noshows", S.NOSHOW_DATE)):
        p = _find(folder, stem)
        events[stem] = (
            validate_events(raw[stem], col, str(p), known_ids=known, obs_end=end)
            if p is not None
            else None
        )
    if snapshot is not None:
        snap = _prebuilt(snapshot)
    else:
        snap = _snapshot(engine, spark_master, flights, members, end, **events)
    info = _flightlog_info(folder, engine, obs_end, end, flights)
    return Dataset(snapshot=snap, flights=flights, members=members, info=info, **events)


def _flightlog_info(folder, engine, obs_end, end, flights, **extra) -> dict:
    """``Dataset.info`` of a flight-log folder (``flights`` eager or lazy: its columns)."""
    return {
        "source": "flightlog",
        "obs_end": str(end.date()),
        "obs_end_from": "parameter" if obs_end else "last flight in the log",
        "has_ffp_columns": S.SEG_KM in flights.columns and S.DISCOUNT in flights.columns,
        "time_unit": "weeks",
        "input": str(folder),
        "engine": engine,
        **extra,
    }


OUTLIER_DAYS = 92


def _parquet(p: Path) -> bool:
    from .readers import _is_parquet

    if p.is_dir():
        return True  # a folder of Parquet parts (`_find` looks for *.parquet)
    return p.suffix.lower() in (".parquet", ".pq") or _is_parquet(p)


def _as_read(checked: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Numeric member attributes kept as read (whole tiers stay int), as every engine's
    snapshot carries them."""
    for c in ("AGE", "FFP_TIER"):
        if c in checked and pd.api.types.is_numeric_dtype(raw[c]):
            checked[c] = raw[c]
    return checked


def _read_checked(name: str, p: Path | None, log) -> pd.DataFrame | None:
    """A member or event table (checked by the engine) with the pandas checks' types."""
    from .snapshot import validate_events, validate_members

    if p is None:
        return None
    df = _read(p)
    if name == "members":
        return _as_read(validate_members(df, source=str(p)), df)
    col = S.COMPLAINT_DATE if name == "complaints" else S.NOSHOW_DATE
    return validate_events(df, col, str(p))


def _inferred_end(flights: pd.DataFrame, source: str) -> pd.Timestamp:
    """The last flight date, unless a few flights lie far after the rest of the log."""
    dates = flights[S.FLIGHT_DATE]
    cut = dates.quantile(0.99, interpolation="lower")
    far = dates > cut + pd.Timedelta(days=OUTLIER_DAYS)
    if far.any():
        raise DataValidationError(
            f"flights more than {OUTLIER_DAYS} days after 99% of the log (which ends by "
            f"{cut.date()}): the observation end cannot be inferred from the last flight",
            source=source,
            column=S.FLIGHT_DATE,
            rows=S.row_labels(flights, far),
            values=dates[far].tolist(),
            hint="Correct those dates, or give the parameter obs_end (flights after it are "
            "refused)",
        )
    return dates.max().normalize()


def load_source(
    data: str = "synthetic",
    raw_dir: str | os.PathLike = "data/raw",
    *,
    obs_end: str | None = None,
    cleaning: str = "none",
    date_format: str | None = None,
    encoding: str | None = None,
    engine: str = "pandas",
    spark_master: str | None = None,
    snapshot: str | os.PathLike | None = None,
) -> Dataset:
    """Load the study's input named by ``data`` (see the module docstring).

    A folder written by ``crm-research data synth`` (it has ``simulation.json``) is read
    as a simulation, with its ground truth. ``date_format`` and ``encoding`` describe CSV
    inputs (see :func:`crm_research.data.schema.parse_dates` and
    :func:`crm_research.data.readers.read_table`). A ``cleaning`` rule applies to the
    textbook member table only; for any other input it is refused. ``engine`` builds
    the member snapshot from a flight log: ``"pandas"``, ``"duckdb"`` or ``"spark"``
    (:mod:`crm_research.data.engines`; same result, tested). ``snapshot`` is a Parquet
    file of the member snapshot already built from this input and ``obs_end`` (the
    runner's input checks write it): a flight log is still checked, and the snapshot
    is read from that file instead of being built again (other inputs ignore it).
    """
    key = str(data).lower()
    if cleaning not in (None, "none"):
        p = Path(data)
        if key in ("synthetic", "cdnow", "cdnow-sample", "cdnow-master") or not p.is_file():
            raise DataValidationError(
                f"the cleaning rule {cleaning!r} applies to the textbook member table only; "
                "this input is not one (give cleaning 'none')",
                source=str(data),
            )
    with S.read_options(date_format=date_format, encoding=encoding):
        if key == "synthetic":
            return load_synthetic(
                raw_dir, engine=engine, spark_master=spark_master, snapshot=snapshot
            )
        if key in ("cdnow", "cdnow-sample", "cdnow-master"):
            from .cdnow import cdnow_dataset

            kwargs = {"obs_end": obs_end} if obs_end else {}
            return cdnow_dataset(sample=key != "cdnow-master", **kwargs)
        p = Path(data)
        if not p.exists():
            raise DataValidationError(
                "not found: give 'synthetic', 'cdnow', a flight-log folder or a textbook "
                "CSV/Parquet file",
                source=str(p),
            )
        if p.is_dir():
            if synthetic_meta_in(p) is not None:
                if obs_end:
                    raise DataValidationError(
                        f"a simulation fixes its observation end; obs_end {obs_end!r} cannot "
                        "move it (crm-research data synth --obs-end ...)",
                        source=str(p),
                    )
                return load_synthetic(
                    raw_dir, folder=p, engine=engine, spark_master=spark_master, snapshot=snapshot
                )
            return load_flight_log_folder(
                p, obs_end=obs_end, engine=engine, spark_master=spark_master, snapshot=snapshot
            )
        from .textbook import load_textbook

        return load_textbook(p, cleaning=cleaning)
