import pytest

from ingest.extraction import extract_article
from ingest.language import detect_language, script_evidence
from tests.ingest.pages import article_html, fetched_page

ARABIC = (
    "قال وزير الخارجية الإيراني إن بلاده مستعدة لاستئناف المحادثات النووية مع القوى الغربية، شرط رفع العقوبات "
    "المفروضة على قطاع النفط. وأضاف في مؤتمر صحفي عقده في العاصمة طهران أن الكرة الآن في ملعب الولايات المتحدة."
)
PERSIAN = (
    "وزیر امور خارجه ایران روز دوشنبه در نشست خبری گفت که تهران آماده است مذاکرات هسته‌ای را از سر بگیرد، "
    "به شرط آنکه تحریم‌های نفتی برداشته شود. او افزود که اکنون توپ در زمین آمریکا است."
)
URDU = (
    "وزیر خارجہ نے پیر کے روز اسلام آباد میں ایک پریس کانفرنس سے خطاب کرتے ہوئے کہا کہ پاکستان اپنے ہمسایہ "
    "ممالک کے ساتھ اچھے تعلقات چاہتا ہے۔ انہوں نے کہا کہ مذاکرات ہی مسائل کا واحد حل ہیں۔"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ARABIC, "ar"),
        (PERSIAN, "fa"),
        (URDU, "ur"),
        ("ارتفاع أسعار الذهب في الأسواق المحلية", "ar"),
        ("طهران: لا مفاوضات قبل رفع العقوبات", "ar"),
        ("قیمت دلار در بازار آزاد تهران امروز کاهش یافت.", "fa"),
        ("حمله به کشتی در خلیج فارس", "fa"),
        ("کراچی میں آج شدید بارش کا امکان ہے۔", "ur"),
        ("وزیر اعظم نے کابینہ اجلاس طلب کر لیا", "ur"),
        ("بجلی کی قیمت میں اضافہ", "ur"),
    ],
)
def test_paragraphs_and_headlines_get_their_language(text, expected):
    assert detect_language(text) == expected


def test_arabic_headline_with_a_persian_name_stays_arabic():
    # پ and ک pull py3langid towards Persian; "في" settles it.
    assert detect_language("پزشکیان في بغداد") == "ar"


def test_arabic_article_quoting_a_persian_name_and_slogan_stays_arabic():
    text = (
        "وصل الرئيس الإيراني مسعود پزشکیان إلى بغداد صباح اليوم في أول زيارة خارجية له، والتقى رئيس الوزراء "
        "العراقي، ورفع المتظاهرون لافتات كتب عليها «ایران و عراق برادرند»."
    )
    assert detect_language(text) == "ar"


def test_arabic_typed_with_persian_yeh_and_keheh_stays_arabic():
    text = "قال وزیر الخارجیة الإیرانی إن بلاده مستعدة لاستئناف المحادثات مع الدول الغربیة، وأکد أن طهران لن تتخلى عن حقوقها."
    assert detect_language(text) == "ar"


def test_persian_article_quoting_the_quran_stays_persian():
    text = (
        "رهبر انقلاب در این دیدار با اشاره به آیه «إِنَّ اللَّهَ مَعَ الصَّابِرِينَ» گفت که ملت ایران در برابر "
        "فشارها ایستادگی خواهد کرد."
    )
    assert detect_language(text) == "fa"


def test_persian_typed_with_arabic_yeh_and_kaf_stays_persian():
    assert detect_language("اين كتاب در تهران چاپ شد و در نمايشگاه بين المللي كتاب عرضه مي شود.") == "fa"


def test_short_persian_headline_without_function_words_is_persian_not_uzbek():
    assert detect_language("افزایش قیمت بنزین") == "fa"


def test_colloquial_egyptian_is_reported_as_arabic():
    assert detect_language("الراجل ده مش عارف هو بيعمل إيه، وكل يوم بيقول كلام مختلف عن اللي قاله امبارح.") == "ar"


def test_pashto_with_its_own_letters_is_left_to_py3langid():
    text = "د افغانستان د بهرنیو چارو وزیر ویلي چې له ګاونډیو هیوادونو سره ښې اړیکې غواړي او دا خبره یې په کابل کې وکړه."
    assert detect_language(text) == "ps"


def test_kurdish_in_latin_script_is_left_to_py3langid():
    text = "Serokê herêmê îro li Hewlêrê pêşwaziya şandeke ewropî kir û li ser rewşa aborî axivî."
    assert detect_language(text) == "ku"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The minister said talks on the border would resume next week in Geneva.", "en"),
        ("Le ministre a déclaré que les négociations reprendraient la semaine prochaine à Genève.", "fr"),
        ("Министр заявил, что переговоры возобновятся на следующей неделе в Женеве.", "ru"),
    ],
)
def test_other_scripts_are_left_to_py3langid(text, expected):
    assert detect_language(text) == expected


def test_blank_text_has_no_language():
    assert detect_language("  \n ") is None


def test_script_evidence_counts_words_only_one_language_writes():
    evidence = script_evidence("في على است ہے میں می‌شود")
    assert evidence == {"ar": 2, "fa": 2, "ur": 2}


def test_extract_article_reports_persian_for_a_persian_page():
    page = fetched_page(article_html([PERSIAN, PERSIAN.replace("دوشنبه", "سه‌شنبه")], title="مذاکرات هسته‌ای"))
    assert extract_article(page, min_chars=100).language == "fa"
