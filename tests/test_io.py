"""Atomic outputs and value concentration."""

import os
import stat

import numpy as np
import pandas as pd
import pytest

from crm_research import io as cio
from crm_research.exploration import concentration_summary, gini, lorenz_curve, top_share


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "t.parquet"
    cio.write_parquet(pd.DataFrame({"a": [1, 2]}), p)

    class Boom(pd.DataFrame):
        def to_parquet(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        cio.write_parquet(Boom({"a": [3]}), p)
    assert pd.read_parquet(p)["a"].tolist() == [1, 2]
    assert [f.name for f in tmp_path.iterdir()] == ["t.parquet"]


def test_metrics_json_converts_numpy(tmp_path):
    cio.save_metrics({"a": np.float64(1.5), "b": np.int64(2), "c": float("nan")}, "01_x", tmp_path)
    assert cio.read_json(tmp_path / "01_x.json") == {"a": 1.5, "b": 2, "c": None}


def test_figure_names_must_say_what_they_show(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="must say what"):
        cio.save_figure(fig, "fig3", tmp_path)
    assert cio.save_figure(fig, "clv_by_segment", tmp_path).name == "clv_by_segment.png"


def test_gini_and_top_share_hand_cases():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 10]) == pytest.approx(0.75)  # (n-1)/n for one holder
    assert top_share([1] * 8 + [6, 6], q=0.2) == pytest.approx(12 / 20)
    lc = lorenz_curve([1, 3])
    assert lc["value_share"].tolist() == [0.0, 0.25, 1.0]
    s = concentration_summary([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    assert s["top_20pct_share"] == 1.0
    with pytest.raises(ValueError, match="negative"):
        gini([1, -1])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_mode_of_a_normal_file(tmp_path, umask):
    # mkstemp makes the temporary file 0600; the file the study leaves must be readable by
    # others as the umask allows, like any file the user creates (0644 with umask 022)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    old = os.umask(umask)
    try:
        fig, ax = plt.subplots()
        written = [
            cio.write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet"),
            cio.write_csv(pd.DataFrame({"a": [1]}), tmp_path / "t.csv"),
            cio.write_text("<html></html>", tmp_path / "index.html"),
            cio.write_json({"a": 1}, tmp_path / "manifest.json"),
            cio.save_figure(fig, "lorenz_curve", tmp_path),
        ]
        plt.close(fig)
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
    finally:
        os.umask(old)
    want = 0o666 & ~umask
    assert stat.S_IMODE(plain.stat().st_mode) == want
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in written} == {
        p.name: oct(want) for p in written
    }
