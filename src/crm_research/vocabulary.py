"""One vocabulary for the manager's report, in English and Chinese.

The value classes, lifecycle stages, actions, churn-risk bands and Kotler's levels of
relationship investment each have one key (the one the code uses) and a name per
language. The tables themselves are data: ``resources/vocabulary.toml`` (read once, on
import); this module gives them their Python names and the lookups. The Chinese class names are the textbook's (``../shared/DOMAIN.md``, "The five
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

from .resources import read_toml

_TABLES = read_toml("vocabulary.toml")

#: The report's languages, in the order the data file gives each term's names.
LANGUAGES = tuple(_TABLES["languages"])


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


def _terms(table: str) -> dict[str, Term]:
    """The terms of a table of ``vocabulary.toml`` (``{key: [English, Chinese]}``)."""
    return {
        k: Term(k, **dict(zip(LANGUAGES, names, strict=True)))
        for k, names in _TABLES[table].items()
    }


#: The member classes (keys of ``segmentation.SEGMENTS``) plus the report's own groups.
CLASSES = _terms("classes")
#: The order a manager reads the classes in.
CLASS_ORDER = tuple(CLASSES)
#: The customer lifecycle (DOMAIN.md): identification, development, stability, decline.
STAGES = _terms("stages")
#: The lifecycle stage of each class (the three "important" classes: DOMAIN.md).
CLASS_STAGE: dict[str, str] = dict(_TABLES["class_stage"])
#: The recommended action of each class, short enough for a table cell.
ACTIONS = _terms("actions")
#: The strategy of each class in a sentence (the source paper's recommendations,
#: DOMAIN.md): the segments table of notebook 04; ``ACTIONS`` is its short form.
STRATEGIES: dict[str, str] = dict(_TABLES["strategies"])
#: Churn-risk bands of the action matrix.
RISKS = _terms("risks")
#: Kotler's five levels of investment in a customer relationship, from least to most.
INVESTMENT_LEVELS = _terms("investment_levels")
#: What each level means for the airline's contact with a member (DOMAIN.md).
INVESTMENT_CONTACT = _terms("investment_contact")
#: Words of the size and margin scales of Kotler's rule of thumb.
SCALE = _terms("scale")

#: Currency of the revenue columns, by data source (the textbook's fares are in yuan).
_CURRENCY_TERMS = _terms("currencies")
CURRENCIES = {src: _CURRENCY_TERMS[code] for src, code in _TABLES["currency_of_source"].items()}
DEFAULT_CURRENCY = _CURRENCY_TERMS[_TABLES["default_currency"]]


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
