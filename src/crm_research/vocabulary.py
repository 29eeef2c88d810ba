"""One vocabulary for the manager's report, in English and Chinese.

The value classes, lifecycle stages, actions, churn-risk bands and Kotler's levels of
relationship investment each have one key (the one the code uses) and a name per
language. The Chinese class names are the textbook's (``../shared/DOMAIN.md``, "The five
member classes"; the source documents write them in traditional characters, e.g.
重要保持客戶, the textbook and its data set in simplified ones, which are used here).
The class keys are those of :data:`crm_research.segmentation.SEGMENTS`, which is built
from this module (one vocabulary for segmentation, churn and the report).

References
----------
Kotler, P. (2003). *Marketing Management*, 11th ed., ch. "Building customer value,
satisfaction and loyalty": the five levels of investment in customer relationships.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Term:
    """A key with its English and Chinese names."""

    key: str
    en: str
    zh: str

    def name(self, language: str = "en") -> str:
        return getattr(self, check_language(language))


def check_language(language: str) -> str:
    """Return ``language`` if it is one of :data:`LANGUAGES`, else raise ``ValueError``."""
    if language not in LANGUAGES:
        raise ValueError(f"language = {language!r} is not allowed: one of {list(LANGUAGES)}")
    return language


def _terms(rows) -> dict[str, Term]:
    return {k: Term(k, en, zh) for k, en, zh in rows}


#: The member classes (keys of ``segmentation.SEGMENTS``) plus the report's own groups.
CLASSES = _terms(
    [
        ("important_retain", "Important - retain", "重要保持客户"),
        ("important_develop", "Important - develop", "重要发展客户"),
        ("important_winback", "Important - win back", "重要挽留客户"),
        ("general", "General", "一般客户"),
        ("low_value", "Low value", "低价值客户"),
        ("unassigned", "Unassigned", "未归类客户"),
        ("not_segmented", "Not segmented", "未参与细分的会员"),
        ("all members", "All members", "全部会员"),
    ]
)
#: The order a manager reads the classes in.
CLASS_ORDER = tuple(CLASSES)

#: The customer lifecycle (DOMAIN.md): identification, development, stability, decline.
STAGES = _terms(
    [
        ("identification", "identification", "识别期"),
        ("development", "development", "发展期"),
        ("stability", "stability", "稳定期"),
        ("decline", "decline", "衰退期"),
        ("n/a", "-", "-"),
    ]
)
#: The lifecycle stage of each class (the three "important" classes: DOMAIN.md).
CLASS_STAGE = {
    "important_retain": "stability",
    "important_develop": "development",
    "important_winback": "decline",
}

#: The recommended action of each class, short enough for a table cell.
ACTIONS = _terms(
    [
        (
            "important_retain",
            "Priority resources, one-to-one marketing; keep their high spend",
            "优先配置资源，一对一营销，尽量保持其高消费水平",
        ),
        (
            "important_develop",
            "Tier-upgrade nudges, first award redemption, co-branded cards",
            "促成会员升级与首次积分兑换，推广联名卡，提高钱包份额",
        ),
        (
            "important_winback",
            "Contact list ranked by churn risk; win back before they are lost",
            "按流失可能性排序的联系名单，在流失前挽回",
        ),
        ("general", "Standard service, nudge upward", "标准服务，引导其提升价值"),
        ("low_value", "Minimal spend", "尽量少投入"),
        ("unassigned", "No class fits; review the profile", "不属于任何一类，需复查其特征"),
        (
            "not_segmented",
            "Left out of the segmentation (e.g. no flight in the window): low-cost win-back",
            "未参与细分（如观察窗口内无航班）：低成本挽回",
        ),
        ("all members", "No segmentation available", "无细分结果"),
    ]
)

#: The strategy of each class in a sentence (the source paper's recommendations,
#: DOMAIN.md): the segments table of notebook 04; ``ACTIONS`` is its short form.
STRATEGIES = {
    "important_retain": (
        "the most valuable, a small share: priority resources, one-to-one marketing, "
        "keep their high spend as long as possible"
    ),
    "important_develop": (
        "growth potential: tier upgrade/retention nudges before the tier review, first "
        "award redemption, co-branded cards and partner earning to raise share of wallet"
    ),
    "important_winback": (
        "uncertain value: contact lists and visit plans ranked by churn likelihood; win "
        "them back before they are lost"
    ),
    "general": "standard service, nudge upward",
    "low_value": "minimal spend",
    "unassigned": "inspect the cluster: its centre fits none of the five profiles",
}

#: Churn-risk bands of the action matrix.
RISKS = _terms([("low", "low risk", "低风险"), ("medium", "medium risk", "中风险"),
                ("high", "high risk", "高风险")])  # fmt: skip

#: Kotler's five levels of investment in a customer relationship, from least to most.
INVESTMENT_LEVELS = _terms(
    [
        ("basic", "basic", "基本型"),
        ("reactive", "reactive", "被动型"),
        ("accountable", "accountable", "负责型"),
        ("proactive", "proactive", "能动型"),
        ("partnership", "partnership", "伙伴型"),
    ]
)
#: What each level means for the airline's contact with a member (DOMAIN.md).
INVESTMENT_CONTACT = _terms(
    [
        ("basic", "standard e-mail offers only", "仅发送标准的电子邮件优惠"),
        ("reactive", "offers, and an easy line for questions and complaints",
         "优惠信息，并提供便捷的咨询与投诉渠道"),
        ("accountable", "a call or survey after the flight to check it met expectations",
         "航班后回访或调查，了解是否满足期望"),
        ("proactive", "regular personal suggestions and new products",
         "定期主动推荐个性化产品与服务"),
        ("partnership", "a personal account manager (VIP agent) working with the member",
         "配备专属客户经理（VIP 代理），持续合作创造价值"),
    ]
)  # fmt: skip

#: Words of the size and margin scales of Kotler's rule of thumb.
SCALE = _terms(
    [
        ("many", "many members", "会员多"),
        ("medium_size", "a medium number of members", "会员数量中等"),
        ("few", "few members", "会员少"),
        ("high", "high value per member", "人均价值高"),
        ("medium_margin", "medium value per member", "人均价值中等"),
        ("low", "low value per member", "人均价值低"),
        ("unknown", "value per member unknown", "人均价值未知"),
    ]
)

#: Currency of the revenue columns, by data source (the textbook's fares are in yuan).
CURRENCIES = {"cdnow": Term("USD", "USD", "美元")}
DEFAULT_CURRENCY = Term("CNY", "CNY", "元")


def currency(source: str | None, language: str = "en") -> str:
    """Currency of the data source's revenue, named in ``language`` (CNY unless CDNOW)."""
    return CURRENCIES.get(str(source), DEFAULT_CURRENCY).name(language)


def _name(table: dict[str, Term], key, language: str) -> str:
    check_language(language)
    term = table.get(str(key))
    return term.name(language) if term is not None else str(key)


def class_name(key, language: str = "en") -> str:
    """The class's name in ``language`` (the key itself if it is not a known class)."""
    return _name(CLASSES, key, language)


def class_names(language: str = "en") -> dict[str, str]:
    """``{class key: name}`` in ``language``."""
    return {k: t.name(language) for k, t in CLASSES.items()}


def stage_name(key, language: str = "en") -> str:
    return _name(STAGES, key, language)


def action(key, language: str = "en") -> str:
    return _name(ACTIONS, key, language)


def risk_name(key, language: str = "en") -> str:
    return _name(RISKS, key, language)


def level_name(key, language: str = "en") -> str:
    return _name(INVESTMENT_LEVELS, key, language)
