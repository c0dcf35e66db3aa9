"""Small realistic pages for the pure extraction tests (the full demo site
is tested end to end elsewhere)."""
from __future__ import annotations

from datetime import datetime, timezone

import zstandard

from ingest.models import FetchedPage, compress

PARAGRAPHS = [
    "أعلن وزير الخارجية الأذربيجاني في باكو اليوم عن جولة جديدة من المحادثات مع أرمينيا حول ترسيم الحدود في إقليم كاراباخ، مؤكدا أن بلاده تسعى إلى اتفاق سلام دائم.",
    "وقال الوزير في مؤتمر صحفي إن الجانبين اتفقا على تشكيل لجان فنية مشتركة تبدأ عملها مطلع الشهر المقبل، على أن ترفع تقاريرها إلى حكومتي البلدين.",
    "من جهته، رحب الاتحاد الأوروبي بالخطوة ودعا الطرفين إلى الامتناع عن أي تصعيد ميداني قد يعرقل المسار التفاوضي الذي انطلق منذ أشهر.",
]


def article_html(
    paragraphs: list[str] = PARAGRAPHS,
    *,
    title: str = "محادثات جديدة بين أذربيجان وأرمينيا",
    canonical: str | None = "https://news.example/news/2024/03/talks.html?utm_source=rss",
    published: str | None = "2024-03-05T10:20:00+03:00",
    charset: str = "utf-8",
) -> str:
    meta_date = f'<meta property="article:published_time" content="{published}">' if published else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="{charset}">
<title>{title} | أخبار المثال</title>{link}{meta_date}</head><body>
<header><nav><ul><li><a href="/">الرئيسية</a></li><li><a href="/politics">سياسة</a></li></ul></nav></header>
<main><article><h1>{title}</h1>{body}</article>
<aside class="sidebar"><h3>الأكثر قراءة</h3><ul><li><a href="/x">عنوان جانبي عن الطقس</a></li></ul></aside></main>
<footer><p>جميع الحقوق محفوظة 2024</p></footer></body></html>"""


def fetched_page(
    html: str | bytes,
    *,
    url: str = "https://news.example/news/2024/03/talks.html",
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    hint_published_at: datetime | None = None,
) -> FetchedPage:
    body = html.encode("utf-8") if isinstance(html, str) else html
    headers = {"content-type": content_type} if content_type else {}
    return FetchedPage(
        url=url,
        final_url=url,
        status=status,
        headers=headers,
        fetched_at=datetime(2024, 3, 5, 9, 0, tzinfo=timezone.utc),
        source="example",
        hint_published_at=hint_published_at,
        body_zstd=compress(body),
    )


def zstd_bomb(size: int, *, declared: bool) -> bytes:
    """``size`` bytes of HTML that compress to a few kilobytes, with the size
    in the frame header or (a streaming compressor) without it."""
    compressor = zstandard.ZstdCompressor(level=1, write_content_size=declared)
    if declared:
        return compressor.compress(b"<p>" + b"\0" * size)
    chunks = compressor.compressobj()
    block = b"\0" * (1 << 20)
    return b"".join([chunks.compress(block) for _ in range(size >> 20)] + [chunks.flush()])
