"""Per-language vocabulary: sentence parts, names and page furniture labels.

Text is assembled from phrase lists rather than single words so that
generated articles read like plausible news copy (language detectors and
boilerplate removers behave on them as on real pages) while staying tiny.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class Lang:
    code: str
    direction: str
    tz: timezone
    # Sentence templates use {s} subject, {v} verb, {o} object, {c} complement,
    # {p} person; the first one is also the headline shape (no final stop).
    templates: tuple[str, ...]
    headline: str
    subjects: tuple[str, ...]
    verbs: tuple[str, ...]
    objects: tuple[str, ...]
    complements: tuple[str, ...]
    people: tuple[str, ...]
    cities: tuple[str, ...]
    months: tuple[str, ...]
    # Section URL key -> label shown in menus.
    sections: dict[str, str]
    labels: dict[str, str] = field(repr=False)
    comments: tuple[str, ...] = ()

    def date_text(self, moment: datetime) -> str:
        moment = moment.astimezone(self.tz)
        return f"{moment.day} {self.months[moment.month - 1]} {moment.year} {moment:%H:%M}"

    def headline_text(self, rng: random.Random) -> str:
        return _cap(self.headline.format(**self._slots(rng)))

    def sentence(self, rng: random.Random) -> str:
        return _cap(rng.choice(self.templates).format(**self._slots(rng)))

    @cached_property
    def _sentence_pool(self) -> tuple[str, ...]:
        # Bodies draw whole sentences from a fixed pool: one random draw per
        # sentence instead of five keeps per-request rendering cheap, and
        # 12-20 draws out of 4096 still make every article different.
        rng = random.Random(f"pool:{self.code}")
        return tuple(self.sentence(rng) for _ in range(4096))

    def paragraph(self, rng: random.Random) -> str:
        pool = self._sentence_pool
        return " ".join(pool[int(rng.random() * 4096)] for _ in range(2 + int(rng.random() * 3)))

    def _slots(self, rng: random.Random) -> dict[str, str]:
        return {
            "s": rng.choice(self.subjects),
            "v": rng.choice(self.verbs),
            "o": rng.choice(self.objects),
            "c": rng.choice(self.complements),
            "p": rng.choice(self.people),
        }


def _cap(text: str) -> str:
    # Templates may start with a lower-case object; scripts without case are unaffected.
    return text[:1].upper() + text[1:]


_MONTHS_AR = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")

AR = Lang(
    code="ar",
    direction="rtl",
    tz=timezone(timedelta(hours=3)),
    templates=(
        "{v} {s} {o} {c}.",
        "وقال {p} إن {s} {v} {o} {c}.",
        "وأضاف المصدر أن {o} سيكون على جدول الأعمال {c}.",
        "ومن المنتظر أن {v} {s} {o} {c}، بحسب {p}.",
    ),
    headline="{s} {v} {o}",
    subjects=(
        "البرلمان", "وزير الخارجية", "البنك المركزي", "رئيس الوزراء", "المجلس البلدي", "اتحاد كرة القدم",
        "المنتخب الوطني", "الوفد الرسمي", "مجلس النواب", "صندوق النقد الدولي", "المتحدث باسم الحكومة",
        "محافظ العاصمة", "مجلس إدارة الشركة", "وزير المالية", "الاتحاد العام للشغل",
    ),
    verbs=("يناقش", "يعلن", "يدرس", "يرفض", "يطلق", "يبحث", "يؤكد", "يراجع", "يدعم", "ينتقد", "يقر", "يستعرض"),
    objects=(
        "خطة جديدة لدعم الصادرات", "مشروع قانون الموازنة", "أسعار الفائدة", "إصلاح نظام التقاعد",
        "برنامج الإسكان الاجتماعي", "اتفاقية التعاون التجاري", "خطة تطوير النقل العام", "ملف الطاقة المتجددة",
        "نتائج الامتحانات الوطنية", "إجراءات مكافحة التضخم", "مشروع تحلية المياه", "استراتيجية التحول الرقمي",
        "تعديلات قانون العمل", "موسم الحصاد الزراعي", "خطة ترميم المدينة القديمة", "ملف اللاجئين",
    ),
    complements=(
        "خلال اجتماع عقد اليوم", "وسط ترقب في الأسواق", "بعد أسابيع من المشاورات", "بحضور ممثلين عن القطاع الخاص",
        "في ظل ارتفاع الأسعار", "قبل نهاية العام الجاري", "وفق ما أفادت مصادر مطلعة", "في مؤتمر صحفي بالعاصمة",
        "رغم اعتراض بعض النواب", "استجابة لمطالب المواطنين", "على مدى ثلاثة أيام", "بالتعاون مع منظمات دولية",
    ),
    people=("أحمد المنصوري", "ليلى حداد", "يوسف العمري", "سارة الخطيب", "محمود الشريف", "نور الهدى بن علي", "خالد الزعبي"),
    cities=("القاهرة", "عمّان", "بيروت", "الرباط", "تونس", "الدوحة", "الرياض", "بغداد", "الجزائر", "مسقط"),
    months=_MONTHS_AR,
    sections={"politics": "سياسة", "economy": "اقتصاد", "sport": "رياضة", "culture": "ثقافة"},
    labels={
        "site_suffix": "الإخبارية", "home": "الرئيسية", "most_read": "الأكثر قراءة", "related": "اقرأ أيضا",
        "comments": "التعليقات", "add_comment": "أضف تعليقك", "send": "إرسال", "share": "شارك",
        "cookie": "يستخدم هذا الموقع ملفات تعريف الارتباط لتحسين تجربتك.", "accept": "موافق",
        "ad": "إعلان", "ad_text": "عروض حصرية على الهواتف الذكية، اطلبها الآن", "search": "بحث",
        "newsletter": "اشترك في النشرة البريدية", "by": "بقلم", "latest": "آخر الأخبار", "tags": "الوسوم",
        "about": "من نحن", "contact": "اتصل بنا", "privacy": "سياسة الخصوصية", "rights": "جميع الحقوق محفوظة",
        "next": "التالي", "page": "صفحة", "archive": "الأرشيف", "not_found": "الصفحة غير موجودة",
        "caption": "صورة أرشيفية", "static": "هذه الصفحة تعرّف بالموقع وفريق التحرير وطرق التواصل معنا.",
    },
    comments=("مقال ممتاز، شكرا للكاتب", "نتمنى أن تنفذ هذه الوعود فعلا", "أين الرقابة على الأسعار؟", "تغطية متوازنة"),
)

FA = Lang(
    code="fa",
    direction="rtl",
    tz=timezone(timedelta(hours=3, minutes=30)),
    templates=(
        "{s} {c} {o} را {v}.",
        "{p} گفت که {s} {c} {o} را {v}.",
        "به گزارش خبرنگار ما، {o} {c} در دستور کار قرار دارد.",
    ),
    headline="{s} {o} را {v}",
    subjects=(
        "دولت", "وزیر امور خارجه", "بانک مرکزی", "مجلس شورای اسلامی", "شورای شهر", "فدراسیون فوتبال",
        "سازمان برنامه و بودجه", "وزارت بهداشت", "سخنگوی دولت", "استاندار تهران", "اتاق بازرگانی",
    ),
    verbs=("بررسی کرد", "اعلام کرد", "تصویب کرد", "رد کرد", "تأیید کرد", "پیگیری کرد", "نقد کرد", "ارائه داد"),
    objects=(
        "طرح جدید حمایت از صادرات", "لایحه بودجه سال آینده", "نرخ سود بانکی", "اصلاح نظام بازنشستگی",
        "برنامه مسکن ملی", "توافق همکاری تجاری", "طرح توسعه حمل و نقل عمومی", "پرونده انرژی‌های تجدیدپذیر",
        "نتایج کنکور سراسری", "سیاست‌های مهار تورم", "طرح انتقال آب", "راهبرد تحول دیجیتال",
    ),
    complements=(
        "در نشست امروز", "پس از چند هفته گفتگو", "با حضور نمایندگان بخش خصوصی", "در پی افزایش قیمت‌ها",
        "تا پایان سال جاری", "به گفته منابع آگاه", "در یک نشست خبری", "با وجود مخالفت برخی نمایندگان",
    ),
    people=("علی رضایی", "مریم احمدی", "حسین کریمی", "زهرا موسوی", "محمد حسینی", "فاطمه نوری"),
    cities=("تهران", "اصفهان", "شیراز", "تبریز", "مشهد", "کرمان"),
    months=("ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر", "نوامبر", "دسامبر"),
    sections={"politics": "سیاسی", "economy": "اقتصادی", "society": "اجتماعی"},
    labels={
        "site_suffix": "خبر", "home": "صفحه اصلی", "most_read": "پربازدیدترین‌ها", "related": "مطالب مرتبط",
        "comments": "نظرات", "add_comment": "نظر خود را بنویسید", "send": "ارسال", "share": "اشتراک‌گذاری",
        "cookie": "این وب‌سایت برای بهبود تجربه شما از کوکی استفاده می‌کند.", "accept": "پذیرفتن",
        "ad": "آگهی", "ad_text": "تخفیف ویژه خرید اقساطی لوازم خانگی", "search": "جستجو",
        "newsletter": "عضویت در خبرنامه", "by": "نویسنده", "latest": "آخرین اخبار", "tags": "برچسب‌ها",
        "about": "درباره ما", "contact": "تماس با ما", "privacy": "حریم خصوصی", "rights": "کلیه حقوق محفوظ است",
        "next": "بعدی", "page": "صفحه", "archive": "آرشیو", "not_found": "صفحه پیدا نشد",
        "caption": "عکس از آرشیو", "static": "این صفحه درباره تحریریه و راه‌های ارتباط با ما است.",
    },
    comments=("گزارش خوبی بود", "امیدواریم اجرا شود", "قیمت‌ها همچنان بالاست", "ممنون از اطلاع‌رسانی"),
)

FR = Lang(
    code="fr",
    direction="ltr",
    tz=timezone(timedelta(hours=1)),
    templates=(
        "{s} {v} {o} {c}.",
        "« {o} reste une priorité », a déclaré {p} {c}.",
        "Selon {p}, {s} {v} {o} {c}.",
        "{c}, {s} {v} {o}.",
    ),
    headline="{s} {v} {o}",
    subjects=(
        "le gouvernement", "le ministre de l'Économie", "la Banque centrale", "le Parlement", "l'intersyndicale",
        "la mairie de Lyon", "le Premier ministre", "l'Assemblée nationale", "la Commission européenne",
        "le conseil régional", "la fédération agricole", "le président du Sénat",
    ),
    verbs=("a annoncé", "a présenté", "examine", "a rejeté", "défend", "prépare", "a validé", "critique"),
    objects=(
        "un plan de soutien aux exportations", "le projet de loi de finances", "la réforme des retraites",
        "le programme de logement social", "un accord commercial régional", "la modernisation des transports",
        "la stratégie pour les énergies renouvelables", "les mesures contre l'inflation",
        "la rénovation du centre historique", "le budget de l'éducation", "la réforme de l'assurance chômage",
    ),
    complements=(
        "lors d'une réunion ce mardi", "malgré les critiques de l'opposition", "après plusieurs semaines de négociations",
        "devant la presse", "avant la fin de l'année", "selon des sources proches du dossier",
        "face à la hausse des prix", "en présence des partenaires sociaux",
    ),
    people=("Claire Dubois", "Julien Martin", "Sophie Lefèvre", "Karim Benali", "Élodie Moreau", "Thomas Girard"),
    cities=("Paris", "Lyon", "Marseille", "Bordeaux", "Lille", "Toulouse"),
    months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    sections={"politique": "Politique", "economie": "Économie", "culture": "Culture", "sport": "Sport"},
    labels={
        "site_suffix": "", "home": "Accueil", "most_read": "Les plus lus", "related": "À lire aussi",
        "comments": "Commentaires", "add_comment": "Réagir à cet article", "send": "Envoyer", "share": "Partager",
        "cookie": "Nous utilisons des cookies pour améliorer votre expérience.", "accept": "Tout accepter",
        "ad": "Publicité", "ad_text": "Offre spéciale : abonnez-vous pour 1 € le premier mois", "search": "Rechercher",
        "newsletter": "Recevez notre newsletter", "by": "Par", "latest": "À la une", "tags": "Mots-clés",
        "about": "Qui sommes-nous", "contact": "Contact", "privacy": "Confidentialité", "rights": "Tous droits réservés",
        "next": "Suivant", "page": "Page", "archive": "Archives", "not_found": "Page introuvable",
        "caption": "Photo d'archives", "static": "Cette page présente la rédaction et les moyens de nous contacter.",
    },
    comments=("Article très clair, merci.", "Encore des promesses…", "Et pour les petites communes ?", "Bonne analyse."),
)

RU = Lang(
    code="ru",
    direction="ltr",
    tz=timezone(timedelta(hours=3)),
    templates=(
        "{s} {v} {o} {c}.",
        "Как сообщил {p}, {s} {v} {o} {c}.",
        "По словам {p}, {o} {c} остаётся главной темой.",
    ),
    headline="{s} {v} {o}",
    subjects=(
        "правительство", "министр финансов", "Центральный банк", "парламент", "мэрия Москвы", "премьер-министр",
        "Государственная дума", "губернатор области", "Министерство здравоохранения", "совет директоров компании",
    ),
    verbs=("обсуждает", "объявляет", "рассматривает", "поддерживает", "критикует", "готовит", "утверждает", "представляет"),
    objects=(
        "новый план поддержки экспорта", "проект федерального бюджета", "ключевую ставку", "пенсионную реформу",
        "программу льготной ипотеки", "соглашение о торговом сотрудничестве", "развитие общественного транспорта",
        "меры по борьбе с инфляцией", "реконструкцию исторического центра", "стратегию цифровой трансформации",
    ),
    complements=(
        "на заседании во вторник", "несмотря на критику оппозиции", "после нескольких недель переговоров",
        "на пресс-конференции", "до конца года", "по данным осведомлённых источников", "на фоне роста цен",
    ),
    people=("Иван Петров", "Анна Смирнова", "Дмитрий Козлов", "Елена Волкова", "Сергей Морозов", "Ольга Новикова"),
    cities=("Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара"),
    months=("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"),
    sections={"politics": "Политика", "economy": "Экономика", "society": "Общество"},
    labels={
        "site_suffix": "", "home": "Главная", "most_read": "Самое читаемое", "related": "Читайте также",
        "comments": "Комментарии", "add_comment": "Оставить комментарий", "send": "Отправить", "share": "Поделиться",
        "cookie": "Мы используем файлы cookie, чтобы сайт работал лучше.", "accept": "Принять",
        "ad": "Реклама", "ad_text": "Скидки до 50% на бытовую технику", "search": "Поиск",
        "newsletter": "Подписаться на рассылку", "by": "Автор:", "latest": "Последние новости", "tags": "Теги",
        "about": "О нас", "contact": "Контакты", "privacy": "Конфиденциальность", "rights": "Все права защищены",
        "next": "Далее", "page": "Страница", "archive": "Архив", "not_found": "Страница не найдена",
        "caption": "Фото из архива", "static": "На этой странице рассказано о редакции и о том, как с нами связаться.",
    },
    comments=("Спасибо за статью", "Посмотрим, что будет на деле", "А цены всё растут", "Хороший разбор"),
)

EN = Lang(
    code="en",
    direction="ltr",
    tz=timezone.utc,
    templates=(
        "{s} {v} {o} {c}.",
        "\u201c{o} remains our priority,\u201d said {p}, {c}.",
        "According to {p}, {s} {v} {o} {c}.",
        "{c}, {s} {v} {o}.",
    ),
    headline="{s} {v} {o}",
    subjects=(
        "the government", "the finance minister", "the central bank", "parliament", "the city council",
        "the prime minister", "the trade union federation", "the European Commission", "the regional governor",
        "the football association", "the board of directors", "the health ministry",
    ),
    verbs=("announces", "unveils", "reviews", "rejects", "backs", "criticises", "approves", "delays"),
    objects=(
        "a new export support plan", "the draft budget", "interest rates", "pension reform",
        "the social housing programme", "a regional trade agreement", "public transport upgrades",
        "the renewable energy strategy", "measures against inflation", "the old town restoration plan",
        "changes to labour law", "the digital transformation strategy",
    ),
    complements=(
        "at a meeting on Tuesday", "despite criticism from the opposition", "after weeks of talks",
        "at a press conference", "before the end of the year", "according to people familiar with the matter",
        "as prices keep rising", "with business leaders in attendance",
    ),
    people=("Sarah Mitchell", "James O'Connor", "Priya Patel", "David Okafor", "Emma Clarke", "Lucas Brown"),
    cities=("London", "Manchester", "Dublin", "Edinburgh", "New York", "Toronto"),
    months=("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
    sections={"world": "World", "business": "Business", "sport": "Sport", "culture": "Culture"},
    labels={
        "site_suffix": "", "home": "Home", "most_read": "Most read", "related": "Related stories",
        "comments": "Comments", "add_comment": "Join the conversation", "send": "Post", "share": "Share",
        "cookie": "We use cookies to improve your experience.", "accept": "Accept all",
        "ad": "Advertisement", "ad_text": "Switch and save on your energy bill today", "search": "Search",
        "newsletter": "Sign up to our newsletter", "by": "By", "latest": "Latest news", "tags": "Topics",
        "about": "About us", "contact": "Contact", "privacy": "Privacy policy", "rights": "All rights reserved",
        "next": "Next", "page": "Page", "archive": "Archive", "not_found": "Page not found",
        "caption": "File photo", "static": "This page is about our newsroom and how to reach us.",
    },
    comments=("Great piece, thanks.", "We have heard this before.", "What about rural areas?", "Balanced reporting."),
)

LANGS: dict[str, Lang] = {lang.code: lang for lang in (AR, FA, FR, RU, EN)}

# Slugs in URLs are ASCII on most sites even when the text is not; these
# stand in for the editors' hand-written English slugs.
SLUG_WORDS = (
    "budget", "talks", "minister", "reform", "bank", "rates", "housing", "trade", "deal", "transport",
    "energy", "inflation", "exports", "parliament", "council", "pension", "water", "digital", "labour",
    "harvest", "summit", "vote", "plan", "strike", "prices", "court", "election", "health", "schools", "port",
)

_RU_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t",
         "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
        strict=True,
    )
)


def slugify(title: str, lang: Lang, rng: random.Random) -> str:
    """A URL slug the way that language's newsrooms usually write one."""
    if lang.code == "ru":
        latin = "".join(_RU_TRANSLIT.get(ch, ch) for ch in title.lower())
    elif lang.code in ("fr", "en"):
        latin = title.lower()
    else:
        return "-".join(rng.sample(SLUG_WORDS, 3))
    for accented, plain in (("é", "e"), ("è", "e"), ("ê", "e"), ("à", "a"), ("â", "a"), ("ç", "c"), ("ô", "o"), ("î", "i"), ("û", "u"), ("ù", "u"), ("ë", "e")):
        latin = latin.replace(accented, plain)
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in latin).split()
    return "-".join(words[:8])
