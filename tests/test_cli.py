"""The command line as a user runs it."""

import subprocess
import sys

import pandas as pd

from crm_research.cli import main


def test_data_synth_writes_parquet(tmp_path, capsys):
    assert main(["data", "synth", "--members", "500", "--seed", "5", "--out", str(tmp_path)]) == 0
    assert "500 simulated members" in capsys.readouterr().out
    m = pd.read_parquet(tmp_path / "members.parquet")
    assert len(m) == 500
    assert (tmp_path / "simulation.json").exists()


def test_bad_flight_log_folder_gives_clear_error_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / "flights.csv").write_text(
        "MEMBER_NO,FLIGHT_DATE,SEG_KM,DISCOUNT,REVENUE\n1,2013-01-05,800,0.7,560\n2,2013-02-30,900,0.8,700\n",
        encoding="utf-8",
    )
    out = tmp_path / "reports"
    rc = main(
        [
            "run",
            "--data",
            str(folder),
            "--only",
            "01",
            "--out",
            str(out),
            "--processed",
            str(tmp_path / "p"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert rc != 0
    assert "flights.csv" in err and "FLIGHT_DATE" in err and "2013-02-30" in err
    assert not any(out.glob("*/manifest.json"))


def test_not_a_table_file(tmp_path, capsys):
    bad = tmp_path / "air_data.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    rc = main(
        [
            "run",
            "--data",
            str(bad),
            "--only",
            "01",
            "--out",
            str(tmp_path / "r"),
            "--processed",
            str(tmp_path / "p"),
            "--no-progress",
        ]
    )
    assert rc == 2
    assert "air_data.xlsx" in capsys.readouterr().err


def test_entry_point_help():
    r = subprocess.run(
        [sys.executable, "-m", "crm_research.cli", "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "run" in r.stdout


def test_run_only_01_from_the_command_line(tmp_path, capsys):
    rc = main(
        [
            "run",
            "--only",
            "01",
            "--members",
            "800",
            "--seed",
            "2",
            "--raw",
            str(tmp_path / "raw"),
            "--processed",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "reports"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "study done: 1 notebook(s)" in out and "index.html" in out
    assert (tmp_path / "p" / "snapshot.parquet").exists()
    assert len(pd.read_parquet(tmp_path / "raw" / "synthetic-800-seed2" / "members.parquet")) == 800
