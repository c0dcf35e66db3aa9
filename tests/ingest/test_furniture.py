"""Furniture lines are removed by language-aware patterns; article text,
even text starting with the same words, stays."""
import pytest

from ingest.furniture import classify_line, strip_furniture

FURNITURE = [
    ("read_also", "اقرأ أيضا: وزير الخارجية يلتقي نظيره الأذربيجاني"),
    ("read_also", "اقرأ أيضاً"),
    ("read_also", "إقرأ أيضا.. أسعار النفط تتراجع"),
    ("read_also", "Read also: Talks resume in Baku"),
    ("read_also", "Lire aussi : la trêve tient toujours"),
    ("read_also", "Читайте также: переговоры в Баку"),
    ("read_also", "بیشتر بخوانید: مذاکرات در باکو"),
    ("read_also", "أخبار ذات صلة"),
    ("ad_label", "إعلان"),
    ("ad_label", "ADVERTISEMENT"),
    ("ad_label", "Publicité"),
    ("ad_label", "تبلیغات"),
    ("tags", "الكلمات الدالة: كاراباخ، أذربيجان، أرمينيا"),
    ("tags", "الوسوم أذربيجان باكو"),
    ("tags", "Tags: Karabakh, Azerbaijan"),
    ("tags", "برچسب‌ها: قره‌باغ"),
    ("breadcrumb", "الرئيسية > أخبار > العالم"),
    ("breadcrumb", "Home / World / Europe"),
    ("breadcrumb", "Главная › Новости"),
    ("share", "شارك"),
    ("share", "شارك على فيسبوك"),
    ("share", "طباعة"),
    ("share", "Share this article"),
    ("share", "Partager"),
    ("follow", "تابعونا على تويتر"),
    ("follow", "Follow us on Telegram"),
    ("byline", "بقلم محمد العلي"),
    ("byline", "كتب: أحمد حسن"),
    ("byline", "كتبت - سارة الخطيب"),
    ("byline_latin", "By Laila Haddad"),
    ("byline_latin", "Par Jean Dupont et Marie Curie"),
    ("caption_credit", "صورة: وزير الخارجية خلال المؤتمر الصحفي"),
    ("caption_credit", "جانب من المؤتمر الصحفي (رويترز)"),
    ("caption_credit", "Soldiers at the border crossing (AFP)"),
    ("comment_policy", "التعليقات المنشورة لا تعبر عن رأي الموقع وإنما تعبر عن رأي أصحابها"),
    ("comment_policy", "Comments do not reflect the views of this newspaper."),
    ("comments_header", "التعليقات (12)"),
    ("comments_header", "أضف تعليق"),
    ("cookie", "نستخدم ملفات تعريف الارتباط لتحسين تجربتك، هل توافق؟"),
    ("cookie", "We use cookies to improve your experience. Accept"),
    ("updated_line", "آخر تحديث: الأحد 12 نوفمبر 2026 - 14:35"),
    ("updated_line", "تاريخ النشر: ١٢ تشرين الثاني ٢٠٢٦"),
    ("updated_line", "Updated: 12 November 2026 14:35"),
]

ARTICLE_TEXT = [
    # same first words as furniture, but article sentences
    "كتب الرئيس رسالة إلى البرلمان يطالب فيها بتسريع إقرار الموازنة العامة للدولة قبل نهاية العام الجاري",
    "Share prices rose sharply on Monday after the central bank held rates.",
    "Published reports suggest a deal is near.",
    "By Monday evening, negotiators had agreed on a text that both sides could sign.",
    "Print media in the region have lost half their readers in a decade, the study found.",
    "الرئيسية في هذا الملف هي مسألة الحدود، كما قال الوزير في مؤتمره الصحفي أمس بعد لقائه نظيره الأرميني",
    "تقرير صادر عن الأمم المتحدة يقول إن عدد النازحين تضاعف خلال عام واحد في المنطقة",
    "وأضاف أن إعلان وقف إطلاق النار سيدخل حيز التنفيذ منتصف الليل.",
    "Les commentaires du ministre ont surpris les diplomates présents à Bakou.",
    "س: ما هي أولويات السفارة في المرحلة المقبلة؟",
    "ج: أولويتنا هي إعادة الإعمار في المناطق المحررة.",
    "Tags on the suitcases showed they had come from Baku.",
]


@pytest.mark.parametrize(("rule", "line"), FURNITURE)
def test_furniture_lines_are_recognised_with_their_kind(rule, line):
    assert classify_line(line) == rule


@pytest.mark.parametrize("line", ARTICLE_TEXT)
def test_article_sentences_that_start_like_furniture_stay(line):
    assert classify_line(line) is None


def test_tatweel_and_diacritics_do_not_hide_a_label():
    assert classify_line("اقـــرأ أيضًا") == "read_also"
    assert classify_line("إِعْلَان") == "ad_label"


def test_strip_keeps_the_article_in_order_and_says_what_went_and_why():
    text = "\n".join([
        "سفير إيران: مستعدون لبناء مدينة",  # the headline again
        "كتب: أحمد حسن",
        "قال السفير إن بلاده مستعدة للمساهمة في إعادة الإعمار.",
        "اقرأ أيضا: أسعار النفط",
        "وأضاف أن الشركات الإيرانية جاهزة.",
        "الكلمات الدالة: إيران، أذربيجان",
    ])
    out = strip_furniture(text, title="سفير إيران: مستعدون لبناء مدينة")
    assert out.text.split("\n") == [
        "قال السفير إن بلاده مستعدة للمساهمة في إعادة الإعمار.",
        "وأضاف أن الشركات الإيرانية جاهزة.",
    ]
    assert [rule for rule, _ in out.removed] == ["headline", "byline", "read_also", "tags"]


def test_a_date_line_is_furniture_but_a_bare_clock_time_is_a_live_entry_stamp():
    assert classify_line("الأحد 8 نوفمبر 2026 - 11:45") == "date_line"
    assert classify_line("Published 13 November 2026") in {"updated_line", "date_line"}
    assert classify_line("11:05") is None
    assert classify_line("١١:٠٥") is None


def test_a_line_of_dates_only_is_a_date_line_not_an_error():
    assert classify_line("12 نوفمبر 2026 | 14:35") == "date_line"
