"""Language of an article's text, with Arabic, Persian and Urdu told apart.

py3langid is right on most paragraphs but wrong on short Arabic-script texts
(headlines, first lines) and on Arabic quoting Persian names: the three
languages share most letters. Here py3langid's ranking is restricted to the
three, and function words and letters only one of them uses decide when they
clearly point elsewhere. Function words are what a reader uses too: a single
"في" makes a headline Arabic whatever Persian name it carries.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import py3langid

# py3langid costs time in proportion to the text; the first 400 characters
# (a news article's opening paragraph) settle its language as well as the
# whole of it. Arabic, Persian and Urdu are told apart by the script evidence
# of a longer opening (_EVIDENCE_CHARS), which is cheap to gather.
_SAMPLE_CHARS = 400

# py3langid also knows Egyptian and Moroccan Arabic; news in those countries is
# written in Modern Standard Arabic and mislabelled short texts land there, so
# they count as Arabic. Southern Uzbek in Arabic script is where short Persian
# headlines go wrong.
_FAMILY = {"ar": "ar", "arz": "ar", "ary": "ar", "fa": "fa", "uzs": "fa", "ur": "ur"}

# Other Arabic-script languages keep py3langid's answer only when their own
# letters are there; without them the text is one of ar / fa / ur.
_OWN_LETTERS = {
    "ps": set("ټډړږښګڼېۍځڅ"),
    "ku": set("ڵڕۆێە"),
    "sdh": set("ڵڕۆێە"),
    "ug": set("ۇۈۋېە"),
    "sd": set("ڀٺٽٿڃڄڇڊڌڍڎڏڙڦڪڱڳڻ"),
}

_URDU_LETTERS = set("ٹڈڑںےۓہۃھ")
_ARABIC_LETTERS = set("ةى")
_ZWNJ = "\u200c"

# Each list also holds its words typed with the other keyboard's yeh and kaf
# (Arabic typed on a Persian keyboard, Persian on an Arabic one).
_SWAP = str.maketrans({"ي": "ی", "ك": "ک", "ی": "ي", "ک": "ك"})


def _both_keyboards(words: str) -> frozenset[str]:
    return frozenset(w for word in words.split() for w in (word, word.translate(_SWAP)))


_ARABIC_WORDS = _both_keyboards(
    "في على إلى الى عن أن إن التي الذي الذين هذا هذه ذلك كان كانت قد لقد مع بين بعد قبل حتى "
    "قال وقال أكد وأكد اليوم أي لم لن كما وفي ومن وعلى أو ثم عند خلال حيث"
)
_PERSIAN_WORDS = _both_keyboards(
    "است نیست این آن که را از با به برای در می هم تا شد شده بود کرد کرده گفت خواهد اند هستند "
    "یک های ها وی ایشان چه اما باید شود کند دارد"
)
_URDU_WORDS = _both_keyboards("ہے ہیں کے کی کا میں نے سے کو کہ اور یہ وہ بھی تھا تھے گیا گئی لیے ہو کر پر")

_WORD = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff\u200c]+")
# The script and the function words show in the opening of a text already.
_EVIDENCE_CHARS = 1000


@lru_cache(maxsize=1 << 15)
def _word_language(word: str) -> str | None:
    """ar, ur or fa when only that language would write ``word``. Cached:
    news text repeats its vocabulary, and this runs on every word."""
    zwnj = _ZWNJ in word
    bare = word.replace(_ZWNJ, "") if zwnj else word
    if bare in _ARABIC_WORDS or not _ARABIC_LETTERS.isdisjoint(bare):
        return "ar"
    if bare in _URDU_WORDS or not _URDU_LETTERS.isdisjoint(bare):
        return "ur"
    if zwnj or bare in _PERSIAN_WORDS:
        return "fa"
    return None


def script_evidence(text: str) -> Counter[str]:
    """Per language (ar, fa, ur), how many words only that language would write."""
    counts = Counter(map(_word_language, _WORD.findall(text)))
    return Counter({lang: counts[lang] for lang in ("ar", "ur", "fa") if counts[lang]})


def _decisive(evidence: Counter[str]) -> str | None:
    ranked = evidence.most_common(2)
    if not ranked:
        return None
    (best, count), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0)
    # Twice the runner-up: an Arabic article quoting a Persian sentence, or a
    # Persian one quoting the Quran, stays in its own language.
    return best if count >= 2 * runner_up and count > runner_up else None


_OTHER_SCRIPT_LETTERS = frozenset().union(*_OWN_LETTERS.values()) - _URDU_LETTERS
# Runs rather than single characters: counted as what their removal takes
# away, in a few steps a word instead of one a character.
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u08ff]+")
_OTHER_LETTERS = re.compile(r"[^\W\d_\u0600-\u06ff\u0750-\u08ff]+")


def _mostly_arabic_script(sample: str) -> bool:
    if _ARABIC_SCRIPT.search(sample) is None:
        return False  # Latin or Cyrillic text: settled by one scan
    arabic = len(sample) - len(_ARABIC_SCRIPT.sub("", sample))
    others = len(sample) - len(_OTHER_LETTERS.sub("", sample))
    return arabic > others


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text`` (``ar``, ``fa``, ``ur``, ``en`` ...), None for empty text."""
    sample = text[:_SAMPLE_CHARS]
    if not sample.strip():
        return None
    # Arabic-script text without Pashto, Kurdish, Uyghur or Sindhi letters
    # ends in ar / fa / ur whatever py3langid ranks first, and clear function
    # word evidence decides among those before py3langid is asked: the same
    # answer for a fifth of the time on Arabic news.
    opening = text[:_EVIDENCE_CHARS]
    if _mostly_arabic_script(sample) and _OTHER_SCRIPT_LETTERS.isdisjoint(opening):
        decisive = _decisive(script_evidence(opening))
        if decisive is not None:
            return decisive
    # classify() names rank()'s first language without sorting all of them:
    # the full ranking is asked for only when it is an Arabic-script one.
    top = py3langid.classify(sample)[0]
    if top not in _FAMILY and top not in _OWN_LETTERS:
        return top  # not an Arabic-script language: nothing to untangle
    ranking = py3langid.rank(sample)
    own = _OWN_LETTERS.get(top)
    if own is not None and (not own.isdisjoint(sample) or _WORD.search(sample) is None):
        return top  # its own letters, or Kurdish in Latin script
    decisive = _decisive(script_evidence(opening))
    if decisive is not None:
        return decisive
    return next((_FAMILY[lang] for lang, _score in ranking if lang in _FAMILY), top)
