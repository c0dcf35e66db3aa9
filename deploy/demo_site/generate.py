"""Large synthetic sites for benchmarks: n distinct articles recombined from
the bundled ones (same sections, authors and writing), each with its own
slug, headline, date and a unique dateline paragraph so no two bodies are
identical."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from deploy.demo_site.content import DemoArticle, load_articles

_CAIRO = timezone(timedelta(hours=3))
# Newest generated article; fixed so a given seed always yields the same site.
_ANCHOR = datetime(2024, 6, 30, 23, 0, tzinfo=_CAIRO)

_ANGLES = (
    "تفاصيل جديدة",
    "ردود فعل واسعة",
    "قراءة في الأرقام",
    "ماذا بعد؟",
    "خلفيات القرار",
    "شهادات من الميدان",
    "ما الذي نعرفه حتى الآن",
    "أسئلة مفتوحة",
    "تحليل",
    "الصورة الكاملة",
    "أبرز المحطات",
    "كواليس",
)
_CITIES = (
    "القاهرة", "الإسكندرية", "عمان", "بيروت", "الرباط", "تونس", "الدوحة", "دبي",
    "الرياض", "الكويت", "مسقط", "بغداد", "باكو", "إسطنبول", "طهران", "الجزائر",
    "الخرطوم", "طرابلس", "نواكشوط", "المنامة",
)
_MONTHS_AR = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)
_WEEKDAYS_AR = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")


def _dateline(city: str, moment: datetime, number: int) -> str:
    return (
        f"تابع مراسلنا في {city} يوم {_WEEKDAYS_AR[moment.weekday()]} الموافق {moment.day} "
        f"{_MONTHS_AR[moment.month - 1]} {moment.year} تطورات هذا الملف، ضمن التغطية رقم {number} "
        "من سلسلة التقارير الميدانية التي يعدها فريق الموقع، وفيما يلي أبرز ما رصده."
    )


def _pick_paragraphs(rng: random.Random, paragraphs: list[str]) -> list[str]:
    """A contiguous run for long pieces (keeps an interview readable), the
    whole piece in shuffled order for short news items."""
    if len(paragraphs) > 8:
        size = rng.randint(5, 8)
        start = rng.randrange(len(paragraphs) - size + 1)
        return paragraphs[start:start + size]
    picked = list(paragraphs)
    rng.shuffle(picked)
    return picked[: max(4, len(picked) - rng.randint(0, 2))]


def generate_articles(n: int, seed: int = 0) -> list[DemoArticle]:
    """``n`` distinct articles (unique slugs, titles, paths and publication
    times), deterministic for a given ``seed``."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    bases = load_articles()
    combos = len(bases) * len(_ANGLES) * len(_CITIES)
    articles: list[DemoArticle] = []
    moment = _ANCHOR
    for i in range(n):
        base = bases[i % len(bases)]
        angle = _ANGLES[(i // len(bases)) % len(_ANGLES)]
        city = _CITIES[(i // (len(bases) * len(_ANGLES))) % len(_CITIES)]
        title = f"{angle} من {city}: {base.title}"
        if i >= combos:  # the combinations ran out: number the rerun
            title = f"{title} ({i // combos + 1})"
        # strictly decreasing, so every article has its own timestamp
        moment -= timedelta(minutes=rng.randint(7, 90), seconds=rng.randint(0, 59))
        number = i + 1
        articles.append(
            DemoArticle(
                slug=f"{base.slug}-{number}",
                section=base.section,
                title=title,
                paragraphs=[_dateline(city, moment, number), *_pick_paragraphs(rng, base.paragraphs)],
                published_at=moment,
                author=base.author,
                encoding=base.encoding,
                summary=base.summary,
                tags=base.tags,
                image_caption=base.image_caption,
            )
        )
    return articles
