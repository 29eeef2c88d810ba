"""The report's vocabulary: every class of the segmentation is named in both languages."""

import pytest

from crm_research import vocabulary as V
from crm_research.segmentation import SEGMENTS


def test_every_segment_has_the_textbook_names():
    for key, row in SEGMENTS.iterrows():
        assert key in V.CLASSES
        assert V.class_name(key, "zh") == row["segment_zh"]
    assert [V.class_name(k, "zh") for k in list(V.CLASSES)[:5]] == [
        "重要保持客户",
        "重要发展客户",
        "重要挽留客户",
        "一般客户",
        "低价值客户",
    ]


def test_stages_actions_and_levels_in_both_languages():
    assert V.stage_name(V.CLASS_STAGE["important_winback"], "zh") == "衰退期"
    assert V.level_name("partnership", "en") == "partnership"
    assert list(V.INVESTMENT_LEVELS) == [
        "basic",
        "reactive",
        "accountable",
        "proactive",
        "partnership",
    ]
    for table in (V.CLASSES, V.ACTIONS, V.RISKS, V.INVESTMENT_LEVELS, V.INVESTMENT_CONTACT):
        for term in table.values():
            assert term.en and term.zh and term.en != term.zh or term.en == "-"
    assert V.class_name("something_else") == "something_else"
    assert V.currency("cdnow") == "USD" and V.currency("synthetic", "zh") == "元"


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language = 'fr' is not allowed"):
        V.class_name("general", "fr")
