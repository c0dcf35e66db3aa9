"""HTML/XML rendering of the demo news site.

Pages imitate the markup of large Arabic news portals: a cookie banner,
navigation, breaking-news ticker, breadcrumb, share buttons, inline ads,
"read also" boxes, tags, related stories, a "most read" sidebar, newsletter
box, reader comments and a footer around the article body. The class names
are the ones such CMSs use, which is also what lets a boilerplate remover
tell the article from the furniture."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from deploy.demo_site.content import DemoArticle, SiteFurniture

_MONTHS_AR = (
    "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو",
    "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
)
_WEEKDAYS_AR = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")

_STYLESHEET = "/static/site.css"


@dataclass
class SiteView:
    """What every page needs to know about the site it belongs to."""

    base_url: str
    furniture: SiteFurniture
    # newest first
    articles: list[DemoArticle]
    private_path: str
    by_section: dict[str, list[DemoArticle]] = field(init=False)

    def __post_init__(self) -> None:
        self.by_section = {name: [] for name in self.furniture.sections}
        for article in self.articles:
            self.by_section.setdefault(article.section, []).append(article)

    def url(self, path: str) -> str:
        return self.base_url + path


def arabic_date(moment: datetime) -> str:
    return (
        f"{_WEEKDAYS_AR[moment.weekday()]} {moment.day} {_MONTHS_AR[moment.month - 1]} "
        f"{moment.year} - {moment:%H:%M}"
    )


def image_path(slug: str) -> str:
    return f"/images/{slug}.png"


def encode_page(html: str, encoding: str) -> bytes:
    # Characters the legacy charset lacks become numeric references, as
    # windows-1256 CMSs do; browsers and extractors decode them back.
    return html.encode(encoding, errors="xmlcharrefreplace")


# --- shared page parts -------------------------------------------------------

def _head(view: SiteView, *, title: str, description: str, canonical: str | None, encoding: str,
          extra: str = "") -> str:
    canonical_link = f'<link rel="canonical" href="{escape(canonical)}">\n' if canonical else ""
    return f"""<head>
<meta charset="{encoding}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<meta name="description" content="{escape(description)}">
{canonical_link}<link rel="alternate" type="application/rss+xml" title="{escape(view.furniture.name)}" href="{view.url('/rss.xml')}">
<link rel="stylesheet" href="{_STYLESHEET}">
<link rel="icon" href="/favicon.ico">
{extra}</head>"""


def _cookie_banner(view: SiteView) -> str:
    cookie = view.furniture["cookie"]
    return f"""<div id="cookie-notice" class="cookie-consent" role="dialog" aria-live="polite">
  <p class="cookie-consent__text">{escape(cookie['text'])} <a href="/privacy.html">{escape(view.furniture['static_pages']['privacy']['title'])}</a></p>
  <div class="cookie-consent__actions"><button type="button" class="btn btn-primary">{escape(cookie['accept'])}</button> <button type="button" class="btn btn-link">{escape(cookie['settings'])}</button></div>
</div>"""


def _site_header(view: SiteView, active: str | None) -> str:
    furniture = view.furniture
    items = [f'<li class="menu-item"><a href="/">{escape(furniture["home_label"])}</a></li>']
    for name, label in furniture.sections.items():
        current = ' class="menu-item current"' if name == active else ' class="menu-item"'
        items.append(f'<li{current}><a href="/section/{name}/">{escape(label)}</a></li>')
    ticker = furniture["ticker"]
    ticker_items = "".join(f"<li><a href=\"/\">{escape(item)}</a></li>" for item in ticker["items"])
    return f"""<header class="site-header">
  <div class="container header-top">
    <a class="site-logo" href="/" rel="home"><img src="/images/logo.png" alt="{escape(furniture.name)}" width="180" height="48"></a>
    <span class="site-tagline">{escape(furniture['tagline'])}</span>
  </div>
  <nav class="main-navigation" aria-label="الأقسام">
    <ul class="menu">{''.join(items)}</ul>
  </nav>
</header>
<div class="breaking-news-bar">
  <div class="container">
    <span class="breaking-news-bar__label">{escape(ticker['label'])}</span>
    <ul class="breaking-news-bar__ticker">{ticker_items}</ul>
  </div>
</div>"""


def _sidebar(view: SiteView) -> str:
    furniture = view.furniture
    most_read = furniture["most_read"]
    # Sidebar links point at real articles, as on any portal; the headline
    # text itself is the editors' "most read" wording.
    links = [a.path for a in view.articles] or ["/"]
    entries = "".join(
        f'<li><span class="rank">{i + 1}</span><a href="{links[i % len(links)]}">{escape(item)}</a></li>'
        for i, item in enumerate(most_read["items"])
    )
    newsletter = furniture["newsletter"]
    return f"""<aside class="sidebar" role="complementary">
  <section class="widget most-read">
    <h3 class="widget-title">{escape(most_read['title'])}</h3>
    <ol class="most-read-list">{entries}</ol>
  </section>
  <section class="widget newsletter-box">
    <h3 class="widget-title">{escape(newsletter['title'])}</h3>
    <p>{escape(newsletter['text'])}</p>
    <form class="newsletter-form" action="/newsletter/subscribe" method="post">
      <input type="email" name="email" placeholder="{escape(newsletter['placeholder'])}" required>
      <button type="submit">{escape(newsletter['button'])}</button>
    </form>
  </section>
  <div class="ad-slot ad-slot--sidebar"><span class="ad-label">{escape(furniture['ad_label'])}</span><div class="ad-container" data-ad-unit="sidebar-300x250"></div></div>
</aside>"""


def _site_footer(view: SiteView, *, with_drafts_link: bool = False) -> str:
    furniture = view.furniture
    footer = furniture["footer"]
    pages = "".join(
        f'<li><a href="/{key}.html">{escape(page["title"])}</a></li>'
        for key, page in furniture["static_pages"].items()
    )
    sections = "".join(
        f'<li><a href="/section/{name}/">{escape(label)}</a></li>'
        for name, label in furniture.sections.items()
    )
    drafts = (
        f'<li class="staff-only"><a href="{view.private_path}">{escape(footer["drafts_label"])}</a></li>'
        if with_drafts_link else ""
    )
    return f"""<footer class="site-footer">
  <div class="container footer-columns">
    <div class="footer-about"><p>{escape(footer['about'])}</p></div>
    <ul class="footer-links">{pages}{drafts}</ul>
    <ul class="footer-sections">{sections}</ul>
    <div class="footer-social"><span>{escape(footer['follow'])}</span> <a href="https://www.facebook.com/">فيسبوك</a> <a href="https://x.com/">إكس</a> <a href="https://www.youtube.com/">يوتيوب</a> <a href="/rss.xml">{escape(footer['rss_label'])}</a></div>
  </div>
  <p class="copyright">{escape(footer['copyright'])}</p>
</footer>"""


def _document(view: SiteView, *, head: str, body_class: str, main: str, active: str | None,
              with_drafts_link: bool = False) -> str:
    return f"""<!DOCTYPE html>
<html lang="ar" dir="rtl">
{head}
<body class="{body_class}">
{_cookie_banner(view)}
{_site_header(view, active)}
<main id="main" class="site-main container">
<div class="row">
<div class="main-column">
{main}
</div>
{_sidebar(view)}
</div>
</main>
{_site_footer(view, with_drafts_link=with_drafts_link)}
<script src="/static/site.js" defer></script>
</body>
</html>
"""


# --- article page -------------------------------------------------------------

def _json_ld(view: SiteView, article: DemoArticle, url: str, ascii_only: bool) -> str:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": article.title,
        "description": article.summary,
        "image": [view.url(image_path(article.slug))],
        "datePublished": article.published_at.isoformat(),
        "dateModified": (article.modified_at or article.published_at).isoformat(),
        "articleSection": view.furniture.sections.get(article.section, article.section),
        "inLanguage": "ar",
        "author": [{"@type": "Person", "name": article.author}],
        "publisher": {
            "@type": "NewsMediaOrganization",
            "name": view.furniture.name,
            "logo": {"@type": "ImageObject", "url": view.url("/images/logo.png")},
        },
    }
    # "</" inside a script element would end it early
    return json.dumps(data, ensure_ascii=ascii_only, indent=1).replace("</", "<\\/")


def _article_head(view: SiteView, article: DemoArticle) -> str:
    url = view.url(article.path)
    section_label = view.furniture.sections.get(article.section, article.section)
    modified = (article.modified_at or article.published_at).isoformat()
    tags = "".join(f'<meta property="article:tag" content="{escape(tag)}">\n' for tag in article.tags)
    extra = f"""<meta property="og:type" content="article">
<meta property="og:site_name" content="{escape(view.furniture.name)}">
<meta property="og:locale" content="ar_AR">
<meta property="og:title" content="{escape(article.title)}">
<meta property="og:description" content="{escape(article.summary)}">
<meta property="og:url" content="{escape(url)}">
<meta property="og:image" content="{view.url(image_path(article.slug))}">
<meta property="article:published_time" content="{article.published_at.isoformat()}">
<meta property="article:modified_time" content="{modified}">
<meta property="article:section" content="{escape(section_label)}">
<meta property="article:author" content="{escape(article.author)}">
{tags}<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{escape(article.title)}">
<script type="application/ld+json">
{_json_ld(view, article, url, ascii_only=article.encoding.lower() not in ("utf-8", "utf8"))}
</script>
"""
    return _head(
        view,
        title=f"{article.title} | {view.furniture.name}",
        description=article.summary,
        canonical=url,
        encoding=article.encoding,
        extra=extra,
    )


def _others(view: SiteView, article: DemoArticle, count: int) -> list[DemoArticle]:
    """Related stories: same section first, then the latest news."""
    chosen: list[DemoArticle] = []
    for candidate in view.by_section.get(article.section, []) + view.articles:
        if len(chosen) == count:
            break
        if candidate.slug != article.slug and candidate not in chosen:
            chosen.append(candidate)
    return chosen


_QUOTE_OPEN = ("\u201c", "\u00ab", '"')
_QUOTE_CLOSE = ("\u201d", "\u201d.", "\u00bb", "\u00bb.", '"', '".')


def _paragraph(text: str) -> str:
    """Interview questions go in bold and stand-alone quotations become pull
    quotes, as editors format them on news sites."""
    safe = escape(text, quote=False)
    if text.startswith(_QUOTE_OPEN) and text.endswith(_QUOTE_CLOSE):
        return f'<blockquote class="pull-quote"><p>{safe}</p></blockquote>'
    if text.endswith("\u061f"):  # Arabic question mark
        return f"<p><strong>{safe}</strong></p>"
    return f"<p>{safe}</p>"


def _share_buttons(view: SiteView, url: str) -> str:
    share = view.furniture["share"]
    buttons = "".join(
        f'<a class="share-btn share-btn--{key}" href="{escape(prefix + quote(url, safe=""))}" target="_blank" rel="noopener">{escape(label)}</a>'
        for key, label, prefix in share["networks"]
    )
    return f"""<div class="share-buttons">
  <span class="share-buttons__label">{escape(share['label'])}</span>{buttons}<button type="button" class="share-btn share-btn--copy">{escape(share['copy_link'])}</button>
</div>"""


def _article_body(view: SiteView, paragraphs: list[str], read_also: DemoArticle | None) -> str:
    """Paragraphs with an inline ad in the middle and a "read also" box two
    thirds down, the way CMSs inject them between paragraphs."""
    furniture = view.furniture
    ad = (
        f'<div class="ad-slot ad-slot--inline" data-ad-unit="article-inline">'
        f'<span class="ad-label">{escape(furniture["ad_label"])}</span>'
        f'<div class="ad-container"></div></div>'
    )
    read_also_box = ""
    if read_also is not None:
        read_also_box = (
            f'<aside class="read-also"><strong>{escape(furniture["read_also"])}</strong> '
            f'<a href="{read_also.path}">{escape(read_also.title)}</a></aside>'
        )
    parts = [_paragraph(text) for text in paragraphs]
    ad_at = max(1, len(parts) // 2)
    read_also_at = max(ad_at + 1, (2 * len(parts)) // 3 + 1)
    # insert from the back so the earlier index stays valid
    parts.insert(min(read_also_at, len(parts)), read_also_box)
    parts.insert(min(ad_at, len(parts)), ad)
    return "\n".join(part for part in parts if part)


def _comments(view: SiteView, article: DemoArticle) -> str:
    comments = view.furniture["comments"]
    pool = comments["pool"]
    start = sum(map(ord, article.slug)) % len(pool)
    count = 2 + len(article.slug) % 2
    items = []
    for i in range(count):
        name, text = pool[(start + i) % len(pool)]
        items.append(
            f"""<li class="comment" id="comment-{i + 1}">
      <div class="comment-meta"><span class="comment-author">{escape(name)}</span> <time>{arabic_date(article.published_at)}</time></div>
      <div class="comment-content"><p>{escape(text)}</p></div>
    </li>"""
        )
    return f"""<section id="comments" class="comments-area">
  <h3 class="comments-title">{escape(comments['title'])} ({count})</h3>
  <ol class="comment-list">
    {''.join(items)}
  </ol>
  <div id="respond" class="comment-respond">
    <h4>{escape(comments['form_title'])}</h4>
    <p class="comment-policy">{escape(comments['policy'])}</p>
    <form class="comment-form" action="/comments/post" method="post">
      <input type="text" name="name" placeholder="{escape(comments['name_placeholder'])}">
      <textarea name="comment" placeholder="{escape(comments['body_placeholder'])}"></textarea>
      <button type="submit">{escape(comments['submit'])}</button>
    </form>
  </div>
</section>"""


def render_article_page(view: SiteView, article: DemoArticle,
                        paragraphs: list[str] | None = None) -> str:
    """Full article page. ``paragraphs`` overrides the body (the "empty"
    fault page passes ``[]``: furniture only)."""
    body_paragraphs = article.paragraphs if paragraphs is None else paragraphs
    furniture = view.furniture
    url = view.url(article.path)
    section_label = furniture.sections.get(article.section, article.section)
    others = _others(view, article, 4)
    read_also = others[0] if others else None
    related = others[1:] or others
    tags = "".join(
        f'<li><a href="/section/{article.section}/" rel="tag">{escape(tag)}</a></li>' for tag in article.tags
    )
    related_items = "".join(
        f'<li><a href="{other.path}"><img src="{image_path(other.slug)}" alt="" loading="lazy">'
        f'<span>{escape(other.title)}</span></a></li>'
        for other in related
    )
    main = f"""<nav class="breadcrumb" aria-label="breadcrumb">
  <ol><li><a href="/">{escape(furniture['home_label'])}</a></li><li><a href="/section/{article.section}/">{escape(section_label)}</a></li><li aria-current="page">{escape(article.title)}</li></ol>
</nav>
<article class="article">
  <header class="article-header">
    <a class="article-section" href="/section/{article.section}/">{escape(section_label)}</a>
    <h1 class="article-title">{escape(article.title)}</h1>
    <div class="article-meta">
      <span class="byline">{escape(furniture['byline_prefix'])} <span class="author-name">{escape(article.author)}</span></span>
      <time class="published" datetime="{article.published_at.isoformat()}">{arabic_date(article.published_at)}</time>
    </div>
    {_share_buttons(view, url)}
  </header>
  <figure class="article-lead-image">
    <img src="{image_path(article.slug)}" alt="{escape(article.title)}" width="1200" height="675">
    <figcaption>{escape(article.image_caption)}</figcaption>
  </figure>
  <div class="article-body" itemprop="articleBody">
{_article_body(view, body_paragraphs, read_also)}
  </div>
  <div class="article-tags"><span class="article-tags__label">{escape(furniture['tags_label'])}</span><ul class="tag-list">{tags}</ul></div>
</article>
<section class="related-articles">
  <h2 class="section-title">{escape(furniture['related_title'])}</h2>
  <ul class="related-list">{related_items}</ul>
</section>
{_comments(view, article)}"""
    return _document(
        view,
        head=_article_head(view, article),
        body_class=f"single single-article section-{article.section}",
        main=main,
        active=article.section,
    )


# --- listing and static pages ---------------------------------------------------

def _card(article: DemoArticle) -> str:
    return f"""<li class="news-card">
  <a href="{article.path}"><img src="{image_path(article.slug)}" alt="" loading="lazy"></a>
  <h3 class="news-card__title"><a href="{article.path}">{escape(article.title)}</a></h3>
  <p class="news-card__summary">{escape(article.summary)}</p>
  <time datetime="{article.published_at.isoformat()}">{arabic_date(article.published_at)}</time>
</li>"""


def render_home(view: SiteView) -> str:
    furniture = view.furniture
    home = furniture["home"]
    latest = "".join(_card(a) for a in view.articles[: home["latest_count"]])
    blocks = []
    for name, label in furniture.sections.items():
        entries = "".join(
            f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in view.by_section.get(name, [])[:5]
        )
        blocks.append(
            f'<section class="home-section home-section--{name}"><h2><a href="/section/{name}/">{escape(label)}</a></h2>'
            f"<ul>{entries}</ul></section>"
        )
    main = f"""<section class="latest-news">
  <h2 class="section-title">{escape(home['latest_title'])}</h2>
  <ul class="news-grid">{latest}</ul>
</section>
<div class="home-sections">
  <h2 class="section-title">{escape(home['sections_title'])}</h2>
  {''.join(blocks)}
</div>"""
    head = _head(
        view,
        title=f"{furniture.name} | {furniture['tagline']}",
        description=furniture["footer"]["about"],
        canonical=view.url("/"),
        encoding="utf-8",
        extra='<meta property="og:type" content="website">\n',
    )
    return _document(view, head=head, body_class="home", main=main, active=None, with_drafts_link=True)


def render_section(view: SiteView, section: str) -> str:
    furniture = view.furniture
    label = furniture.sections[section]
    cards = "".join(_card(a) for a in view.by_section.get(section, []))
    main = f"""<nav class="breadcrumb" aria-label="breadcrumb"><ol><li><a href="/">{escape(furniture['home_label'])}</a></li><li aria-current="page">{escape(label)}</li></ol></nav>
<h1 class="section-heading">{escape(label)}</h1>
<ul class="news-list">{cards}</ul>"""
    head = _head(
        view,
        title=f"أخبار {label} | {furniture.name}",
        description=f"آخر أخبار {label} على {furniture.name}",
        canonical=view.url(f"/section/{section}/"),
        encoding="utf-8",
    )
    return _document(view, head=head, body_class=f"archive section-{section}", main=main, active=section)


def render_static_page(view: SiteView, key: str) -> str:
    page = view.furniture["static_pages"][key]
    main = f"""<div class="static-page"><h1>{escape(page['title'])}</h1><p>{escape(page['text'])}</p></div>"""
    head = _head(
        view,
        title=f"{page['title']} | {view.furniture.name}",
        description=page["text"],
        canonical=view.url(f"/{key}.html"),
        encoding="utf-8",
    )
    return _document(view, head=head, body_class="page", main=main, active=None)


def render_error_page(view: SiteView, status: int, message: str) -> str:
    main = f'<div class="error-page"><h1>{status}</h1><p>{escape(message)}</p></div>'
    # no canonical link: an error page must not claim to be the home page
    head = _head(view, title=f"{status} | {view.furniture.name}", description=message,
                 canonical=None, encoding="utf-8")
    return _document(view, head=head, body_class="error", main=main, active=None)


# --- machine-readable files ------------------------------------------------------

def render_robots(view: SiteView) -> str:
    return (
        "User-agent: *\n"
        "Disallow: /private/\n"
        "Disallow: /comments/\n"
        "Disallow: /newsletter/\n"
        "\n"
        f"Sitemap: {view.url('/sitemap.xml')}\n"
    )


def render_rss(view: SiteView, entries: list[tuple[DemoArticle, str]]) -> str:
    """RSS 2.0; ``entries`` pairs each article with the link the feed
    advertises (which may be a legacy or tracking URL)."""
    items = []
    for article, link in entries:
        items.append(
            f"""  <item>
    <title>{xml_escape(article.title)}</title>
    <link>{xml_escape(link)}</link>
    <guid isPermaLink="false">{xml_escape(article.slug)}</guid>
    <pubDate>{format_datetime(article.published_at)}</pubDate>
    <category>{xml_escape(view.furniture.sections.get(article.section, article.section))}</category>
    <description>{xml_escape(article.summary or article.paragraphs[0])}</description>
  </item>"""
        )
    newest = view.articles[0].published_at if view.articles else datetime.now().astimezone()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>{xml_escape(view.furniture.name)}</title>
  <link>{view.url('/')}</link>
  <atom:link href="{view.url('/rss.xml')}" rel="self" type="application/rss+xml"/>
  <description>{xml_escape(view.furniture['tagline'])}</description>
  <language>ar</language>
  <lastBuildDate>{format_datetime(newest)}</lastBuildDate>
{chr(10).join(items)}
</channel>
</rss>
"""


def render_sitemap_index(view: SiteView, sitemap_paths: list[str], lastmod: datetime | None) -> str:
    stamp = f"\n    <lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
    entries = "".join(
        f"  <sitemap>\n    <loc>{view.url(path)}</loc>{stamp}\n  </sitemap>\n" for path in sitemap_paths
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{entries}</sitemapindex>
"""


def render_news_sitemap(view: SiteView, entries: list[tuple[str, DemoArticle]]) -> str:
    """urlset with lastmod and Google News entries; ``entries`` pairs a path
    with the article whose metadata it carries."""
    urls = []
    for path, article in entries:
        modified = (article.modified_at or article.published_at).isoformat()
        urls.append(
            f"""  <url>
    <loc>{xml_escape(view.url(path))}</loc>
    <lastmod>{modified}</lastmod>
    <news:news>
      <news:publication><news:name>{xml_escape(view.furniture.name)}</news:name><news:language>ar</news:language></news:publication>
      <news:publication_date>{article.published_at.isoformat()}</news:publication_date>
      <news:title>{xml_escape(article.title)}</news:title>
    </news:news>
  </url>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{chr(10).join(urls)}
</urlset>
"""


STYLESHEET = """body{font-family:Tahoma,Arial,sans-serif;margin:0;direction:rtl}
.container{max-width:1200px;margin:0 auto}.row{display:flex;gap:24px}
.main-column{flex:3}.sidebar{flex:1}.cookie-consent{position:fixed;bottom:0;background:#222;color:#fff}
.breaking-news-bar{background:#b00;color:#fff}.ad-slot{background:#f3f3f3;text-align:center}
.article-title{font-size:2em}.site-footer{background:#111;color:#ccc}
"""
