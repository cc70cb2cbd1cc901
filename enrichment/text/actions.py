"""Action items: open task-list items, TODO-style markers and imperative sentences.

Imperatives are recognised per language by how to-dos are written there: English,
German, Dutch and Arabic start with the verb ("Send the plan"), Romance and Slavic
languages often with an infinitive ("Enviar el informe", "Купить молоко"), and every
language has phrases of obligation ("we need to", "нужно", "需要", "こと。"). A sentence
is one task; a paragraph of three imperatives gives three items.
"""

import re

MARKER_RE = re.compile(
    r"(?:^|(?<=\s))(?:TODO|To[ -]?do|Action(?: item)?|AI|À faire|Aufgabe|Por hacer)\s*:\s*"
    r"(?P<task>.+?)(?:(?<=[.!?。！？])(?=\s|$)|$)",
    re.IGNORECASE,
)

_VERBS = {
    "en": """add ask book bring buy call cancel change check clean collect confirm contact
        create decide deploy do draft drop email fill find finish fix follow get give install
        invite leave look make move order organise organize pack pay pick plan post prepare
        print put read refactor register remind remove renew rent reply replace
        request reserve review schedule send set share sign start stop submit take talk tell
        test try update upgrade upload verify visit wash water write""",
    "de": """schick schicke schickt sende ruf rufe kauf kaufe buch buche bestätige bestätigen
        prüf prüfe bring bringe bezahl bezahle schreib schreibe mach mache vergiss denk
        erinnere plane reserviere besorg besorge frag frage hol hole lies lese""",
    "nl": """stuur bel koop boek bevestig controleer betaal schrijf maak vergeet plan reserveer
        haal vraag breng lees""",
    "fr": """envoyer appeler acheter réserver vérifier confirmer contacter écrire finir payer
        préparer relire prendre planifier organiser demander rappeler penser apporter
        envoie envoyez appelle appelez achète achetez réserve réservez vérifie vérifiez
        prépare préparez écris écrivez pense pensez""",
    "es": """enviar llamar comprar reservar revisar confirmar contactar escribir terminar pagar
        preparar pedir llevar organizar recordar traer envía envíe llama llame compra
        compre reserva revisa prepara escribe paga recuerda""",
    "it": """inviare mandare chiamare comprare prenotare controllare confermare contattare
        scrivere finire pagare preparare chiedere portare organizzare ricordare invia manda
        chiama compra prenota controlla conferma scrivi paga prepara ricorda""",
    "pt": """enviar ligar comprar reservar verificar confirmar contactar contatar escrever
        terminar pagar preparar pedir levar organizar marcar lembrar trazer envie ligue
        compre reserve verifique confirme escreva pague prepare marque lembre""",
    "ar": """أرسل ارسل اتصل اشتر اشتري احجز راجع أكد اكد اكتب ادفع حضر حضّر جهز جهّز خذ
        اطلب تحقق نظم قم""",
}
VERBS = {lang: frozenset(words.split()) for lang, words in _VERBS.items()}

OBLIGATION = {
    "en": r"\b(?:need to|needs to|have to|has to|must|don't forget|do not forget|remember to|"
    r"please|make sure)\b",
    "de": r"\b(?:nicht vergessen|vergiss nicht|denk daran|denk dran|bitte|müssen|muss|"
    r"sollten|erledigen)\b",
    "nl": r"\b(?:niet vergeten|vergeet niet|moet|moeten|graag)\b",
    "fr": r"(?:\bil faut\b|\bil faudra\b|\bn'oublie|\bn’oublie|\bpenser à\b|\bmerci de\b|"
    r"\bdevons\b|\bdois\b)",
    "es": r"\b(?:hay que|tengo que|tenemos que|no olvides|no olvidar|no te olvides|"
    r"por favor|debemos)\b",
    "it": r"\b(?:bisogna|devo|dobbiamo|ricordati|non dimenticare|per favore)\b",
    "pt": r"(?:\bé preciso\b|\bprecisamos\b|\bpreciso\b|\btemos que\b|\btenho que\b|"
    r"\bnão esquecer\b|\bnão esqueça\b|\bpor favor\b)",
    "ru": r"(?:\b(?:нужно|надо|необходимо|не забыть|не забудь|не забудьте|следует|должны|"
    r"должен|пожалуйста)\b)",
    "uk": r"(?:\b(?:потрібно|треба|необхідно|не забути|не забудь|не забудьте|маємо|"
    r"мусимо|будь ласка)\b)",
    "pl": r"(?:\b(?:trzeba|musimy|muszę|należy|nie zapomnij|proszę|pamiętaj)\b)",
    "ar": r"(?:يجب|لا تنس|لا تنسى|يرجى|الرجاء|من فضلك|علينا|ينبغي|تذكر)",
    "ja": r"(?:こと[。！]?$|ください|なければ|必要があ|忘れずに|しておく)",
    "zh": r"(?:^请|需要|必须|记得|别忘了|不要忘记|务必|^要)",
    "ko": r"(?:해야|하세요|주세요|할 것|잊지 말고|필요합니다|합시다)",
}
OBLIGATION_RE = {lang: re.compile(p, re.IGNORECASE) for lang, p in OBLIGATION.items()}
INFINITIVE_RE = {
    # A to-do written as an infinitive leads with it: "Купить молоко", "Wysłać raport".
    "ru": re.compile(r"^\w{3,}(?:ть|ти|йте|ите|ьте)(?:ся|сь)?\b", re.IGNORECASE),
    "uk": re.compile(r"^\w{3,}(?:ти|іть|йте|ьте)(?:ся|сь)?\b", re.IGNORECASE),
    "pl": re.compile(r"^\w{3,}(?:ć|ij|cie)\b", re.IGNORECASE),
    "de": re.compile(r"^(?:\w+\s+){0,4}\w+en\s*[.!]?$"),  # "Termin bestätigen"
    "nl": re.compile(r"^(?:\w+\s+){0,4}\w+en\s*[.!]?$"),  # "Rapport versturen"
}

# English verbs that start a statement as nouns as often: an imperative has its object next.
NOUNS_TOO = frozenset("book call check draft email file order plan post review test water".split())
FINITE = frozenset("is are was were went met has had have will starts runs moves".split())


def _finite_verb(word: str) -> bool:
    word = word.lower().strip(",.")
    return word in FINITE or (word.endswith("ed") and len(word) > 4)


# A to-do led by an infinitive is short; a final infinitive (de, nl) is shorter still.
MAX_INFINITIVE_WORDS = {"ru": 10, "uk": 10, "pl": 10, "de": 5, "nl": 5}
PRONOUNS = frozenset(
    "ich du er sie es wir ihr man das der die dies ik jij hij zij we wij het".split()
)


def is_imperative(sentence: str, language: str) -> bool:
    """Whether ``sentence`` asks for something to be done, by the rules of ``language``.

    Undetermined text is tried against every language's rules.
    """
    if language == "und":
        return any(is_imperative(sentence, lang) for lang in OBLIGATION)
    words = sentence.split()
    if not words or sentence.endswith("?"):
        return False
    if words[0].endswith(":"):
        return False  # "Contact: ..." labels what follows
    first = words[0].lower().strip(",.:;!¡¿\"'“”")
    if first in VERBS.get(language, ()) or (language != "en" and first in VERBS["en"]):
        if first in NOUNS_TOO and len(words) > 2 and _finite_verb(words[2]):
            return False  # "Book club picked ...", not "Book the hotel"
        return len(words) >= 2 or language in ("ar",)
    pattern = OBLIGATION_RE.get(language)
    if pattern and pattern.search(sentence):
        return True
    infinitive = INFINITIVE_RE.get(language)
    if not infinitive or first in PRONOUNS or len(words) > MAX_INFINITIVE_WORDS[language]:
        return False
    return bool(infinitive.search(sentence))


CONJUNCTION_RE = re.compile(r"\s+(?:and|und|en|et|y|e|и|і|та|i|oraz|و)\s+(?=(\w+))")


def split_tasks(task: str, language: str) -> list[str]:
    """ "Prepare the slides and send the report" is two tasks: split where a verb follows."""
    parts, start = [], 0
    for match in CONJUNCTION_RE.finditer(task):
        verb = match.group(1).lower()
        infinitive = INFINITIVE_RE.get(language)
        if verb in VERBS.get(language, VERBS["en"]) or (
            language in ("ru", "uk", "pl") and infinitive and infinitive.match(verb)
        ):
            parts.append(task[start : match.start()])
            start = match.end()
    parts.append(task[start:])
    return [tidy(p) for p in parts if tidy(p)]


def tidy(task: str) -> str:
    return task.strip().rstrip(".。!！ ").strip()


def action_items(blocks, language: str) -> list[str]:
    """The note's open tasks, one per item, in order, without duplicates."""
    items: list[str] = []
    for block in blocks:
        if block.kind == "heading" or block.checked:
            continue
        if block.checked is False:
            items.extend(split_tasks(block.text.replace("\n", " "), language))
            continue
        for sentence in block.sentences:
            found = [m.group("task") for m in MARKER_RE.finditer(sentence)]
            if found:
                items.extend(t for task in found for t in split_tasks(task, language))
            elif is_imperative(sentence, language):
                items.extend(split_tasks(sentence, language))
    seen, unique = set(), []
    for item in items:
        if item and item.lower() not in seen:
            seen.add(item.lower())
            unique.append(item[:500])
    return unique[:50]
