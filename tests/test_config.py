"""The one configuration module: month, artifact names, project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_research import churn, config, segmentation


def test_one_month_everywhere():
    # a calendar month of the Gregorian mean year; 12 of them make one year
    assert config.DAYS_PER_MONTH * 12 == pytest.approx(365.25)
    assert churn.DAYS_PER_MONTH is config.DAYS_PER_MONTH
    assert segmentation.DAYS_PER_MONTH is config.DAYS_PER_MONTH


def test_artifact_names_are_the_modules_names():
    from crm_research.clv import modelfile

    assert modelfile.FILE_NAME == config.artifact("purchase_model")
    assert churn.UPSTREAM_FILES["clv"] == config.artifact("clv")
    with pytest.raises(KeyError, match="known"):
        config.artifact("nope.parquet")


def test_project_dir_from_env_or_the_clone_around_the_cwd(tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    (clone / "notebooks").mkdir(parents=True)
    (clone / "notebooks" / "01_data_exploration.ipynb").write_text("{}")
    sub = clone / "reports" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.delenv(config.HOME_ENV, raising=False)
    assert config.project_dir(sub) == clone
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # away from any clone: the clone this (editable) package lives in, which has notebooks
    source_clone = Path(config.__file__).resolve().parents[2]
    assert config.project_dir(elsewhere) == source_clone
    monkeypatch.setattr(config, "__file__", str(elsewhere / "src" / "crm_research" / "config.py"))
    assert config.project_dir(elsewhere) == elsewhere  # an installed package: start itself
    monkeypatch.setenv(config.HOME_ENV, str(elsewhere))
    assert config.project_dir(sub) == elsewhere
