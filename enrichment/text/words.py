"""Words and stop words per language, with segmenters for Chinese and Japanese.

Chinese is segmented by jieba (its dictionary ships in the package and loads once per
process, on first use), Japanese at changes of script, other languages at word
boundaries.
"""

import functools
import re

import stopwordsiso

from .actions import NOUNS_TOO
from .actions import VERBS as _VERBS

# A to-do's verb ("send", "купить") is what the note asks, not what it is about; some
# of them are nouns as often, and make good tags.
VERBS = frozenset().union(*_VERBS.values()) - NOUNS_TOO

WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
HAN_WORD_RE = re.compile(r"^[\u4e00-\u9fff\u3400-\u4dbf\u30a0-\u30ffー々]+$")

# Words that say little about what a note is about: generic verbs, adjectives and time
# words that stop-word lists keep. A tag must name a topic.
GENERIC = {
    "en": """agreed fixed done next new old good great nice bad big small today tomorrow
        yesterday week weeks month year morning afternoon evening tonight ok okay please
        thanks thank maybe sure important urgent quick quickly update updated notes note
        meeting meetings discussed decided talked said asked need needs needed went going
        remember forget don't doesn't can't won't let's lot lots stuff thing things item
        items list todo to-do action actions before after also again soon later monday
        finished perfect started ready late early fine""",
    "de": """neu neuer besser fertig neue neuen neuer neues nächste nächsten nächster heute
        morgen gestern woche bitte vergessen erledigt gut groß klein wichtig dringend
        besprochen termin""",
    "fr": """nouveau nouvelle nouveaux nouvelles prochain prochaine aujourd'hui demain hier
        semaine faut oublier merci bien grand petit important urgent fait""",
    "es": """nuevo empezó terminó fue nueva nuevos nuevas próximo próxima hoy mañana ayer semana
        olvides olvidar favor bueno grande pequeño importante urgente hecho""",
    "it": """nuovo nuova nuovi nuove prossimo prossima oggi domani ieri settimana dimenticare
        favore buono grande piccolo importante urgente fatto""",
    "pt": """novo ficou foi nova novos novas próximo próxima hoje amanhã ontem semana esquecer
        favor bom grande pequeno importante urgente feito preciso precisamos""",
    "nl": """nieuw beter slechter klaar nieuwe volgende vandaag morgen gisteren week vergeten
        graag goed groot klein belangrijk dringend gedaan""",
    "ru": """завтра конца конце начала начале быстро медленно хорошо плохо сегодня вчера неделе
        неделю нужно надо новый нового новая новые новой следующий следующей поводу забыть
        забудь важно срочно встреча встречи""",
    "uk": """завтра більше менше сказав сказала сьогодні вчора тиждень потрібно треба новий
        нового нова нові наступний приводу забути забудь важливо терміново зустріч зустрічі""",
    "pl": """jutro nowej nowym nowych szybko dobrze dzisiaj dziś wczoraj tydzień trzeba nowy nowa
        nowe nowego następny zapomnij zapomnieć proszę ważne pilne spotkanie""",
    "ar": """غدا الجديد الجديدة جدا غداً اليوم أمس الأسبوع يجب جديد جديدة القادم لا تنس تنسى
        الرجاء يرجى""",
    "ja": """明日 昨日 今夜 今日 昨日 来週 今週 こと もの ため よう さん 予定 必要""",
    "zh": """明天 昨晚 今晚 发给 今天 昨天 下周 本周 需要 必须 记得 别忘了 一下 我们 新的 什么""",
    "ko": """내일 오늘 어제 다음 주 새로운 필요 회의""",
}
# Days and months name when, not what. Slavic forms are inflected ("в августе"), so
# these are stems: a word that starts with one and is at most three letters longer.
CALENDAR = {
    "en": "monday tuesday wednesday thursday friday saturday sunday january february march "
    "april june july august september october november december",
    "de": "montag dienstag mittwoch donnerstag freitag samstag sonntag januar februar märz "
    "april mai juni juli august september oktober november dezember",
    "fr": "lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai "
    "juin juillet août septembre octobre novembre décembre",
    "es": "lunes martes miércoles jueves viernes sábado domingo enero febrero marzo abril mayo "
    "junio julio agosto septiembre octubre noviembre diciembre",
    "it": "lunedì martedì mercoledì giovedì venerdì sabato domenica gennaio febbraio marzo "
    "aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "pt": "segunda terça quarta quinta sexta sábado domingo janeiro fevereiro março abril maio "
    "junho julho agosto setembro outubro novembro dezembro",
    "nl": "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag januari februari maart "
    "april mei juni juli augustus september oktober november december",
    "ru": "понедельник вторник сред четверг пятниц суббот воскресень январ феврал март "
    "апрел ма июн июл август сентябр октябр ноябр декабр",
    "uk": "понеділ вівтор серед четвер п'ятниц субот неділ січ лют берез квіт травн черв "
    "лип серп верес жовт листопад груд",
    "pl": "poniedziałek wtorek środ czwart piąt sobot niedziel styczeń stycznia luty lutego "
    "marzec marca kwiecień kwietnia maj maja czerwiec czerwca lipiec lipca sierpień "
    "sierpnia wrzesień września październik października listopad listopada grudzień "
    "grudnia",
}
CALENDAR_STEMS = {lang: tuple(words.split()) for lang, words in CALENDAR.items()}
# A participle right after an auxiliary is a verb or an adjective: "est accepté".
AUXILIARIES = frozenset("est sont été était a ont fue fueron está es foi foram é è sono ha".split())
PARTICIPLE_ENDINGS = ("é", "ée", "és", "ées", "ado", "ada", "ido", "ida", "ato", "ata", "ito")

# The word after a subject pronoun is its verb: "мы обсудим", "we agreed", "wir planen".
SUBJECTS = frozenset(
    """i we you he she they it ich wir du er sie ihr je nous vous il elle ils elles yo
    nosotros ellos ellas io noi loro eu nós eles elas ik wij jij hij zij я мы ты вы он она
    они ми ти ви він вона вони ja my wy on ona oni""".split()
)

# Korean particles fused to the preceding word.
KO_PARTICLES = sorted(
    "은 는 이 가 을 를 에 에서 의 와 과 도 로 으로 에게 까지 부터 만 하고 이랑 랑".split(),
    key=len,
    reverse=True,
)


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """Stop words of ``language`` and of English (notes mix in English terms)."""
    words = set(stopwordsiso.stopwords("en")) | set(GENERIC["en"].split())
    if language == "und":
        # Unsure of the language: no language's function word may become a tag.
        from .language import LANGUAGES

        return frozenset(words.union(*(stop_words(code) for code in LANGUAGES)))
    if language in GENERIC:
        words |= set(GENERIC[language].split())
    if language not in ("en", "und") and stopwordsiso.has_lang(language):
        words |= set(stopwordsiso.stopwords(language))
    return frozenset(words)


@functools.cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
    jieba.initialize()
    return jieba


JA_SEGMENT_RE = re.compile(
    r"[\u30a0-\u30ffー]+|[\u4e00-\u9fff\u3400-\u4dbf々]+|[^\u30a0-\u30ff\u4e00-\u9fff\u3400-\u4dbf々ー]+"
)


def _japanese_runs(text: str, stops: frozenset[str]) -> list[list[str]]:
    """Runs of katakana or kanji words: プロジェクト, 予算, never a whole clause.

    Japanese content words are written in kanji or katakana, grammar in hiragana, so the
    script changes mark word boundaries well enough for keyphrases; a dictionary
    tokenizer (Janome) was measured at about 10 characters per millisecond, 100 times
    slower, for the same tags on the labelled notes.
    """
    runs, run = [], []
    for match in JA_SEGMENT_RE.finditer(text):
        word = match.group()
        if len(word) >= 2 and HAN_WORD_RE.match(word) and word not in stops:
            run.append(word)
        else:
            if run:
                runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def phrase_runs(text: str, language: str) -> list[list[str]]:
    """Runs of candidate keywords, split at stop words and punctuation.

    A run is a stretch of content words in their order in the note; keyphrases are the
    n-grams inside a run. Words are lowercased; numbers never appear.
    """
    stops = stop_words(language)
    if language == "ja":
        return _japanese_runs(text, stops)
    runs: list[list[str]] = []
    if language == "zh":
        run: list[str] = []
        for word in _jieba().lcut(text):
            if len(word) >= 2 and HAN_WORD_RE.match(word) and word not in stops:
                run.append(word)
            elif word.strip():
                if run:
                    runs.append(run)
                run = []
        return [*runs, run] if run else runs
    for chunk in re.split(r"[^\w\s'’-]|\s[-–—]\s|\n", text):
        run = []
        previous = ""
        for position, word in enumerate(WORD_RE.findall(chunk)):
            word = word.lower().strip("'’-")
            verb_slot = previous in SUBJECTS or (
                previous in AUXILIARIES and word.endswith(PARTICIPLE_ENDINGS)
            )
            previous = word
            if language == "ko":
                word = _strip_particle(word)
            if (
                len(word) < (2 if language == "ko" else 3)
                or word in stops
                or (word in VERBS and (position == 0 or word in _VERBS.get(language, ())))
                or _inflected_filler(word, language)
                or verb_slot
                or _calendar(word, language)
            ):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(word)
        if run:
            runs.append(run)
    return runs


def _calendar(word: str, language: str) -> bool:
    for stem in CALENDAR_STEMS.get(language, ()) + CALENDAR_STEMS["en"]:
        if word.startswith(stem) and len(word) <= len(stem) + 3:
            return True
    return False


def _strip_particle(word: str) -> str:
    for particle in KO_PARTICLES:
        if word.endswith(particle) and len(word) > len(particle) + 1:
            return word[: -len(particle)]
    return word


def _inflected_filler(word: str, language: str) -> bool:
    """Verb forms (Slavic infinitives, Korean endings) and adjective forms: rarely a topic."""
    if language in ("ru", "uk"):
        return word.endswith(("ть", "ти", "ся", "сь", "ого", "его", "ому", "ему", "ыми", "ими"))
    if language == "pl":
        return word.endswith(("ć", "ego", "emu"))
    if language == "ko":
        return word.endswith(("니다", "세요", "어요", "아요", "었다", "았다", "했다", "보내"))
    return False


def count_words(text: str) -> int:
    """Words for reading time: space-separated words, or characters for Chinese/Japanese."""
    han = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", text))
    return len(WORD_RE.findall(re.sub(r"[\u3040-\u30ff\u4e00-\u9fff]", " ", text))) + han // 2


# Reading speed for the reading-time estimate, in words per minute.
WORDS_PER_MINUTE = 200


def text_stats(content: str) -> dict:
    """Word count and reading time: facts about the text, whichever enricher ran."""
    count = count_words(content)
    return {
        "word_count": count,
        "reading_time_minutes": max(1, round(count / WORDS_PER_MINUTE)) if count else 0,
    }
