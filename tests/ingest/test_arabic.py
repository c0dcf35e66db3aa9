from ingest.arabic import _TABLE, normalize_arabic


def test_alef_forms_yeh_teh_marbuta_tatweel_and_harakat_are_normalized_like_lucene():
    assert normalize_arabic("أَحْمَد إلى آخِر المدرسـة") == "احمد الي اخر المدرسه"


def test_persian_letters_and_every_arabic_script_digit_become_their_arabic_and_ascii_forms():
    assert normalize_arabic("کتاب یک ۱۴۰۳ و ٢٠٢٦") == "كتاب يك 1403 و 2026"


def test_latin_text_line_breaks_and_hamza_on_waw_or_yeh_are_left_alone():
    # Lucene's ArabicNormalizer keeps ؤ and ئ; the copy must agree with the engine
    text = "Qarabağ\nمسؤول رئيس"
    assert normalize_arabic(text) == text


def test_the_replacements_agree_with_the_table_applied_in_one_pass():
    # normalize_arabic replaces entry by entry: no entry may produce another's key
    assert not {to for to in _TABLE.values() if to is not None} & set(_TABLE)
    every = "".join(chr(cp) for cp in _TABLE)
    text = f"{every} Latin é ئ ؤ\n{every[::-1]}ـــ"
    assert normalize_arabic(text) == text.translate(_TABLE)
