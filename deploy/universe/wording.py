"""Article bodies for the generated universe, built word by word.

The fixture sites' bodies come from a phrase grammar (``Lang.paragraph``):
a few dozen multi-word phrases, so any two articles share many three-word
runs. Real news does not: unrelated stories share a handful of common
word runs ("said in a statement"), and only copies of one story share
many. Story clustering compares articles by such runs (MinHash over word
shingles), so on phrase-grammar text every lookup finds a dozen false
candidates that real text would not (18 an article over 2,000 generated
pages, none on the evaluation set), and a benchmark on it measures the
grammar instead of the news.

Here each sentence joins single words and short word pairs drawn one by one
(a head noun, what it is about, a connective, a time, numbers), which keeps
the sentences news-like while two unrelated articles share almost no run
of three words (tests/deploy/test_universe.py checks both).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from deploy.universe.lang import AR, EN, FR, Lang


@dataclass(frozen=True)
class Lexicon:
    # Slots: {s} subject, {v} verb, {b} base-form verb, {h} head noun, {m}
    # what it is about, {x} connective, {t} time, {p} person, {city},
    # {num} an amount, {pct} a percentage. A template's first letter is
    # capitalised after filling.
    templates: tuple[str, ...]
    heads: tuple[str, ...]
    topics: tuple[str, ...]
    connectives: tuple[str, ...]
    times: tuple[str, ...]
    base_verbs: tuple[str, ...]
    decimal: str = "."


_AR = Lexicon(
    templates=(
        "{v} {s} {h} {m} {x} {h2} {m2} {t}.",
        "وقال {p} إن {s} {v} {h} {m} {x} {h2} {m2}.",
        "وبلغت قيمة {h} {m} نحو {num} مليون دولار {t}، بحسب {p}.",
        "وارتفعت أسعار {m} بنسبة {pct} في المئة {t} {x} {h2} {m2}.",
        "ومن المنتظر أن {v} {s} {h} {m} في {city} {t}.",
        "وأشار {p} إلى أن {h} {m} سيعرض على {s} {t}.",
    ),
    heads=(
        "مشروع", "خطة", "برنامج", "قانون", "ملف", "اتفاق", "تقرير", "قرار", "مقترح", "صندوق", "موازنة",
        "استراتيجية", "إصلاح", "دعم", "تطوير", "تمويل", "مراجعة", "هيئة", "مؤشر", "قطاع", "سوق", "عقود", "رسوم",
    ),
    topics=(
        "الطاقة", "المياه", "النقل", "الصحة", "التعليم", "الضرائب", "الاستثمار", "الإسكان", "التقاعد", "الصادرات",
        "الزراعة", "السياحة", "الصناعة", "الاتصالات", "الكهرباء", "الوقود", "الموانئ", "الطيران", "الحبوب",
        "الأدوية", "البلديات", "المصارف", "الجمارك", "العقارات", "التأمين",
    ),
    connectives=(
        "خلال مناقشة", "بعد تعثر", "قبل إقرار", "ضمن", "وسط خلاف حول", "في إطار", "بشأن", "لدعم", "لتعزيز",
        "عقب صدور", "بالتزامن مع", "رغم انتقادات", "استجابة لمطالب", "إلى جانب",
    ),
    times=(
        "يوم الأحد", "يوم الاثنين", "يوم الثلاثاء", "يوم الأربعاء", "يوم الخميس", "صباح اليوم", "مساء أمس",
        "الأسبوع المقبل", "الشهر الماضي", "مطلع العام", "خلال الربع الأخير",
    ),
    base_verbs=(),
)

_EN = Lexicon(
    templates=(
        "{s} {v} the {m} {h} {x} {m2} {h2} {t}.",
        "{p} said {s} {v} the {m} {h} {x} {m2} {h2}.",
        "The {m} {h} is worth about {num} million dollars, according to {p}.",
        "{m} prices rose by {pct} percent {t}, {x} {m2} {h2}.",
        "{s} is expected to {b} the {m} {h} in {city} {t}.",
        "{p} noted that the {m} {h} would go to {s} {t}.",
    ),
    heads=(
        "plan", "bill", "report", "programme", "agreement", "reform", "fund", "strategy", "review", "proposal",
        "budget", "contract", "tariff", "subsidy", "inquiry", "framework", "package", "scheme", "audit", "forecast",
        "timetable", "charter", "decree", "roadmap", "moratorium", "levy",
    ),
    topics=(
        "energy", "water", "transport", "health", "education", "tax", "investment", "housing", "pension", "export",
        "farming", "tourism", "steel", "telecoms", "electricity", "fuel", "port", "aviation", "grain", "medicine",
        "council", "banking", "customs", "property", "insurance", "fishing", "hospital", "freight", "research",
        "textile", "forestry", "film", "road", "childcare", "broadband",
    ),
    connectives=(
        "during talks on the", "after delays to the", "ahead of the", "amid a dispute over the", "under the",
        "as part of the", "following the", "despite criticism of the", "alongside the", "in response to the",
        "weeks before the", "in parallel with the",
    ),
    times=(
        "on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "this morning", "last week",
        "next month", "earlier this year", "in the last quarter",
    ),
    base_verbs=("discuss", "announce", "review", "reject", "back", "approve", "delay", "revise", "launch", "study"),
)

_FR = Lexicon(
    templates=(
        "{s} {v} {h} {m} {x} {h2} {m2} {t}.",
        "Selon {p}, {s} {v} {h} {m} {x} {h2} {m2}.",
        "{h} {m} représente environ {num} millions d'euros, a précisé {p}.",
        "Les prix {m} ont augmenté de {pct} % {t}, {x} {h2} {m2}.",
        "{s} doit présenter {h} {m} à {city} {t}.",
        "{p} a rappelé que {h} {m} serait soumis à {s} {t}.",
    ),
    heads=(
        "le plan", "le projet", "la réforme", "le rapport", "le programme", "l'accord", "la stratégie", "le budget",
        "le fonds", "la proposition", "le contrat", "la taxe", "l'aide", "l'enquête", "le cadre", "le dispositif",
        "l'audit", "la prévision", "le calendrier", "le bilan", "la charte", "le décret", "la feuille de route",
        "le schéma", "la mission", "le moratoire",
    ),
    topics=(
        "de l'énergie", "de l'eau", "des transports", "de la santé", "de l'éducation", "de l'investissement",
        "du logement", "des retraites", "des exportations", "de l'agriculture", "du tourisme", "de l'acier",
        "des télécoms", "de l'électricité", "du carburant", "des ports", "de l'aviation", "des céréales",
        "des médicaments", "des communes", "des banques", "des douanes", "de l'immobilier", "de l'assurance",
        "du numérique", "de la pêche", "des hôpitaux", "du fret", "de la recherche", "du textile", "des forêts",
        "du cinéma", "de la voirie", "des crèches",
    ),
    connectives=(
        "lors du débat sur", "après les critiques contre", "avant le vote sur", "en marge des discussions sur",
        "face aux réserves sur", "dans l'attente d'un avis sur", "après un accord sur", "pendant les négociations sur",
        "en même temps que", "sans attendre", "au lendemain du rapport sur", "quelques jours après",
        "pour accompagner", "en réponse aux questions sur",
    ),
    times=(
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "ce matin", "la semaine dernière", "le mois prochain",
        "en début d'année", "au dernier trimestre",
    ),
    base_verbs=(),
    decimal=",",
)

LEXICONS: dict[str, Lexicon] = {AR.code: _AR, EN.code: _EN, FR.code: _FR}


def has_lexicon(lang: Lang) -> bool:
    return lang.code in LEXICONS


def sentence(lang: Lang, rng: random.Random) -> str:
    lex = LEXICONS[lang.code]
    pick = rng.choice
    text = pick(lex.templates).format(
        s=pick(lang.subjects), v=pick(lang.verbs), b=pick(lex.base_verbs) if lex.base_verbs else "",
        h=pick(lex.heads), m=pick(lex.topics), h2=pick(lex.heads), m2=pick(lex.topics),
        x=pick(lex.connectives), t=pick(lex.times), p=pick(lang.people), city=pick(lang.cities),
        num=rng.randint(2, 950), pct=f"{rng.randint(1, 19)}{lex.decimal}{rng.randint(1, 9)}",
    )
    return text[:1].upper() + text[1:]


def paragraph(lang: Lang, rng: random.Random) -> str:
    """Two to four sentences in ``lang`` (which must have a lexicon)."""
    return " ".join(sentence(lang, rng) for _ in range(2 + int(rng.random() * 3)))
