"""Is a page's main text a cookie/consent dialog (or a "pay or accept" choice)?

Consent-management platforms (OneTrust, Didomi, Sourcepoint, Usercentrics, Quantcast
Choice, the "Pur" pay-or-accept walls) put a dialog in front of the article, and a fetch
without a browser often gets only that dialog. Extraction then returns the dialog as the
article (trafilatura #569). This module tells such a text from an article, by definition
rather than by product: a text is a **consent wall** when

1. it is **short** (at most ``max_words`` words; a dialog, even with its vendor blurb,
   is a few hundred words, an article about cookies usually is not);
2. it is **dominated by consent vocabulary**: at least ``min_dominance`` of its
   characters are in paragraphs that speak of cookies, consent, partners, personal data,
   tracking, advertising, privacy or an ad-free subscription, or are a choice button;
3. it **addresses the reader as the site**, asking for a choice: at least
   ``min_address`` distinct consent statements in the first or second person ("we and our
   partners", "by clicking", "you can withdraw your consent at any time", a wall's title)
   **and** at least one **choice** ("Accept all", "Alle akzeptieren", "Continuer sans
   accepter", "Pur-Abo", "Subscribe");
4. and it does **not report**: fewer than ``max_reporting`` marks of journalism (someone
   "said", "according to", "sagte", "selon", "dijo"...). A dialog quotes nobody.

An article *about* cookies fails 1, 3 or 4: it is long, speaks of the site and reader in
the third person, and quotes regulators. The vocabulary covers English, German, French,
Spanish, Italian, Dutch, Portuguese, Polish, Swedish, Danish, Norwegian, Finnish, Czech,
Romanian, Hungarian, Greek and Turkish (the IAB consent framework's wording in each);
a match in any of them counts, so no language detection
is needed first.

>>> consent_wall("We value your privacy\\n\\nWe and our partners use cookies to store and "
...     "access information on your device. You can withdraw your consent at any time.\\n\\n"
...     "Accept all\\n\\nReject all") is not None
True
>>> consent_wall("The regulator said on Tuesday that cookie banners must offer a reject "
...     "button, according to the ruling.") is None
True
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence

__all__ = ["ConsentConfig", "button_labels", "consent_wall", "page_blocks"]


@dataclasses.dataclass(frozen=True)
class ConsentConfig:
    """The thresholds of the definition (module docstring)."""

    max_words: int = 700
    min_dominance: float = 0.6
    min_address: int = 2
    max_reporting: int = 2


DEFAULT = ConsentConfig()


def _words(*alternatives: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)


# Consent vocabulary: what the paragraphs of a dialog are about.
_TERMS = _words(
    # en
    r"cookies?", r"consent(?:s|ing)?", r"partners?", r"vendors?", r"personal data",
    r"privacy", r"tracking", r"trackers?", r"legitimate interests?", r"personali[sz]ed",
    r"advertising", r"ads?", r"ad[- ]free", r"devices?", r"identifiers?", r"geolocation",
    r"preferences", r"data protection", r"subscri(?:be|ption)", r"opt[- ]out",
    # de
    r"cookie-\w+", r"einwilligung(?:en)?", r"zustimmung", r"partner(?:n)?", r"anbieter(?:n)?",
    r"personenbezogene(?:n)? daten", r"datenschutz\w*", r"werbung", r"werbefrei\w*",
    r"tracking\w*", r"endgerät\w*", r"pur-abo\w*", r"abo(?:s|nnent\w*|nnement\w*|nnier\w*)?",
    r"berechtigte[sn]? interesse", r"widerruf\w*", r"drittanbieter\w*",
    # fr
    r"consentement", r"partenaires?", r"traceurs?", r"données personnelles",
    r"confidentialité", r"publicités?", r"intérêt légitime", r"appareils?", r"abonne\w*",
    r"vie privée", r"fournisseurs?",
    # es / pt / it
    r"consentimiento", r"socios", r"datos personales", r"privacidad", r"publicidad",
    r"interés legítimo", r"dispositivos?", r"consentimento", r"parceiros", r"dados pessoais",
    r"privacidade", r"consenso", r"dati personali", r"pubblicità", r"legittimo interesse",
    r"fornitori",
    # nl / pl / sv / da
    r"toestemming", r"persoonsgegevens", r"advertenties", r"gerechtvaardigd belang",
    r"zgod[aęy]", r"partnerzy", r"partnerów", r"dane osobowe", r"danych osobowych",
    r"prywatności", r"reklam\w*", r"samtycke", r"samtykke", r"personuppgifter",
    r"personoplysninger", r"integritet", r"annonser\w*",
    # nb / fi / cs / ro / hu / el / tr
    r"informasjonskapsler", r"personopplysninger", r"samtykket", r"partnere",
    r"evästeet\w*", r"suostumu\w*", r"kumppani\w*", r"henkilötie\w*", r"mainon\w*",
    r"soubory cookie", r"souhlas\w*", r"partneři", r"osobní údaje", r"reklam\w*",
    r"consimțământ\w*", r"parteneri\w*", r"date personale", r"publicitate",
    r"sütik\w*", r"hozzájárulás\w*", r"partnereink", r"személyes adatok",
    r"συγκατάθεση", r"συνεργάτες", r"προσωπικά δεδομένα", r"διαφημίσεις",
    r"çerezler\w*", r"onay\w*", r"iş ortaklarımız", r"kişisel veriler",
)  # fmt: skip

# Choices a dialog offers (its buttons), matched anywhere in the text.
_CHOICES = _words(
    r"accept(?: all| all cookies| and continue| and close| cookies)?", r"i accept",
    r"(?:i )?agree", r"reject(?: all)?", r"decline(?: all)?", r"disagree",
    r"manage (?:options|preferences|settings|cookies|choices)", r"cookie settings",
    r"more options", r"customi[sz]e", r"save (?:and exit|settings|preferences|choices)",
    r"continue without (?:accepting|agreeing)", r"subscribe(?: now)?",
    r"alle akzeptieren", r"akzeptieren(?: und weiter)?", r"zustimmen(?: und weiter)?",
    r"einverstanden", r"alle ablehnen", r"ablehnen", r"einstellungen(?: speichern)?",
    r"(?:mit werbung|werbefrei) (?:lesen|weiterlesen|nutzen)", r"jetzt abonnieren",
    r"tout accepter", r"accepter(?: et (?:fermer|continuer))?", r"tout refuser", r"refuser",
    r"continuer sans accepter", r"personnaliser", r"paramétrer", r"je m'abonne",
    r"s'abonner",
    r"aceptar(?: todo| todas)?", r"rechazar(?: todo| todas)?", r"configurar",
    r"accetta(?: tutto| tutti)?", r"rifiuta(?: tutto| tutti)?", r"personalizza", r"accetto",
    r"(?:alles )?accepteren", r"weigeren", r"akkoord", r"akceptuję", r"zaakceptuj",
    r"odrzuć", r"aceitar(?: tudo)?", r"rejeitar", r"godkänn", r"acceptera(?: alla)?",
    r"tillad(?: alle)?", r"afvis",
    r"weiter mit werbung", r"einwilligen(?: und weiter)?", r"(?:zustimmen|akzeptieren) & weiter",
    r"continue with (?:ads|advertising|tracking)", r"(?:read|continue) with ads", r"ok(?:ay)?",
    r"got it", r"verstanden", r"j'accepte", r"d'accord", r"i understand",
    r"godta(?: alle)?", r"avvis(?: alle)?", r"hyväksy(?: kaikki)?", r"hylkää(?: kaikki)?",
    r"přijmout(?: vše)?", r"odmítnout(?: vše)?", r"accept(?:ă|ați)(?: tot)?", r"refuz(?:ă|ați)",
    r"elfogadom", r"összes elfogadása", r"elutasítom", r"αποδοχή(?: όλων)?", r"απόρριψη",
    r"kabul et(?:miyorum)?", r"tümünü kabul et", r"reddet",
)  # fmt: skip

# The site speaking to the reader about consent: first and second person.
_ADDRESS = _words(
    r"we and our (?:\d+ )?(?:partners|vendors)", r"we (?:use|and our partners use) cookies",
    r"we value your privacy", r"by clicking", r"with your (?:permission|consent)",
    r"you can (?:change|withdraw|update|manage|revoke)(?: your)?(?: \w+)?",
    r"at any time", r"store and/or access information on a device",
    r"your (?:privacy|choices?|consent|preferences)", r"privacy (?:settings|centre|center)",
    r"we need your (?:consent|permission)", r"wir benötigen ihre (?:zustimmung|einwilligung)",
    r"nous avons besoin de votre (?:consentement|accord)",
    r"wir und unsere (?:\d+ )?partner", r"wir (?:verwenden|nutzen) cookies",
    r"(?:mit|durch) (?:dem )?klick auf", r"(?:mit|durch) klicken",
    r"sie können ihre (?:einwilligung|zustimmung|auswahl|einstellungen)",
    r"jederzeit(?: widerrufen)?", r"ihre (?:einwilligung|zustimmung|privatsphäre)",
    r"informationen auf (?:einem|ihrem) (?:gerät|endgerät)", r"wir respektieren ihre",
    r"nous et nos partenaires", r"nos partenaires et nous", r"nous utilisons des cookies",
    r"avec votre (?:accord|consentement)", r"en cliquant sur", r"à tout moment",
    r"vous pouvez (?:retirer|modifier|changer|gérer)", r"votre (?:consentement|vie privée)",
    r"nosotros y nuestros socios", r"utilizamos cookies", r"al hacer clic",
    r"en cualquier momento", r"su consentimiento", r"noi e i nostri partner",
    r"utilizziamo (?:i )?cookie", r"cliccando su", r"in qualsiasi momento",
    r"il tuo consenso", r"wij en onze partners", r"wij gebruiken cookies",
    r"door (?:op|te klikken)", r"op elk moment", r"uw toestemming",
    r"my i nasi partnerzy", r"używamy plików cookie", r"w każdej chwili",
    r"nós e os nossos parceiros", r"o seu consentimento", r"a qualquer momento",
    r"vi och våra partner", r"vi använder cookies", r"när som helst",
    r"vi og vores partnere", r"vi bruger cookies", r"når som helst",
    r"vi og våre partnere", r"me ja kumppanimme", r"milloin tahansa", r"my a naši partneři",
    r"kdykoli", r"noi și partenerii noștri", r"în orice moment", r"mi és partnereink",
    r"bármikor", r"εμείς και οι συνεργάτες μας", r"ανά πάσα στιγμή",
    r"biz ve iş ortaklarımız", r"istediğiniz zaman",
)  # fmt: skip

# Titles that consent pages carry instead of a headline.
_WALL_TITLE = _words(
    r"privacy (?:settings|preferences|centre|center|notice)", r"cookie (?:consent|settings)",
    r"before you continue", r"we value your privacy", r"your privacy choices",
    r"datenschutz(?:einstellungen|hinweis)", r"cookie-einstellungen", r"einwilligung",
    r"zustimmung", r"vos choix", r"gestion des cookies", r"votre vie privée",
    r"configuración de (?:cookies|privacidad)", r"impostazioni (?:cookie|privacy)",
    r"privacy-instellingen", r"ustawienia prywatności",
)  # fmt: skip

# Journalism: someone is quoted or a source is named. Dialogs quote nobody.
_REPORTING = _words(
    r"said", r"says", r"told", r"according to", r"announced", r"ruled", r"fined",
    r"sagte", r"sagt", r"erklärte", r"teilte mit", r"laut", r"zufolge", r"urteilte",
    r"a déclaré", r"a annoncé", r"selon", r"a estimé", r"dijo", r"según", r"afirmó",
    r"ha detto", r"secondo", r"ha dichiarato", r"zei", r"volgens", r"powiedział\w*",
    r"według", r"disse", r"segundo", r"sade", r"enligt", r"sagde", r"ifølge",
)  # fmt: skip

_BLOCKS_TO_BREAK = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "aside",
        "dialog",
        "header",
        "footer",
        "nav",
        "main",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "button",
        "a",
        "label",
        "br",
        "tr",
        "td",
        "th",
        "dd",
        "dt",
        "blockquote",
        "figcaption",
        "span",
    ]
)
_BUTTONS = (
    "//button | //input[@type='submit' or @type='button' or @type='SUBMIT'] | //*[@role='button']"
)
_INVISIBLE = frozenset(["script", "style", "noscript", "template", "svg", "head"])


def consent_wall(
    text: str,
    *,
    title: str | None = None,
    buttons: Sequence[str] | Callable[[], Sequence[str]] = (),
    config: ConsentConfig = DEFAULT,
) -> str | None:
    """Why ``text`` is a consent wall (a short reject detail), or None when it is not one.

    ``buttons`` are the labels of the page's buttons: extraction drops a dialog's
    buttons, so its choices are looked for there as well as in the text. A callable is
    asked for them only when the text meets every other condition.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    words = len(text.split())
    if words > config.max_words:
        return None
    # The conditions are all required, so the cheapest goes first: one scan for the
    # site addressing the reader ends the test on nearly every article.
    address = {
        " ".join(re.sub(r"\d+", " ", m.group(0).casefold()).split())
        for m in _ADDRESS.finditer(text)
    }
    if title and _WALL_TITLE.search(title):
        address.add("title")
    if len(address) < config.min_address:
        return None
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]
    total = sum(len(p) for p in paragraphs) or 1
    consent_chars = sum(
        len(p) for p in paragraphs if _TERMS.search(p) or _ADDRESS.search(p) or _is_choice(p)
    )
    dominance = consent_chars / total
    if dominance < config.min_dominance:
        return None
    if len(_REPORTING.findall(text)) >= config.max_reporting:
        return None
    labels = buttons() if callable(buttons) else buttons
    choices = {m.group(0).casefold() for m in _CHOICES.finditer(text)}
    choices.update(
        m.group(0).casefold()
        for label in labels
        if isinstance(label, str) and (m := _CHOICES.search(label)) and _is_choice(label)
    )
    if not choices:
        return None
    return (
        f"main text is a consent dialog: {words} words, {dominance:.0%} consent vocabulary, "
        f"{len(address)} consent statements, choices: {', '.join(sorted(choices)[:4])}"
    )


def _is_choice(paragraph: str) -> bool:
    """A paragraph that is only a button label ("Accept all", "Einstellungen")."""
    match = _CHOICES.search(paragraph)
    return match is not None and len(paragraph) <= len(match.group(0)) + 12


def page_blocks(tree: object) -> str:
    """The visible text of a parsed page, one line per block element (scripts left out).

    For a page where trafilatura found no main text: a dialog's text lives in <div>s and
    <button>s that its boilerplate filters drop.
    """
    from lxml import etree

    if not isinstance(tree, etree._Element):
        return ""
    body = tree.find(".//body")
    root = body if body is not None else tree
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join(" ".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    # Iterative (a hostile page may nest deeper than Python's recursion limit).
    skipping: etree._Element | None = None
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if skipping is not None:
            if event == "end" and element is skipping:
                skipping = None
                if element.tail:
                    current.append(element.tail)
            continue
        if event == "start":
            if tag in _INVISIBLE or element.get("hidden") is not None or not tag:
                skipping = element
                continue
            if tag in _BLOCKS_TO_BREAK:
                flush()
            if element.text:
                current.append(element.text)
        else:
            if tag in _BLOCKS_TO_BREAK:
                flush()
            if element.tail and element is not root:
                current.append(element.tail)
    flush()
    return "\n".join(lines)


def button_labels(tree: object, *, limit: int = 200) -> list[str]:
    """The labels of a parsed page's buttons (``<button>``, submit inputs, role=button)."""
    from lxml import etree

    if not isinstance(tree, etree._Element):
        return []
    labels: list[str] = []
    for element in tree.xpath(_BUTTONS):
        raw = (element.get("value") or "") if element.tag == "input" else element.text_content()
        label = " ".join(raw.split())
        if label:
            labels.append(label[:100])
            if len(labels) >= limit:
                break
    return labels
