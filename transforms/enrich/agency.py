"""Wire agencies: one declarative registry, and detection of the originating agency.

The registry (:data:`AGENCIES`) is the single table of what the project knows about
news agencies: the canonical name written to the ``agency`` column, the tags printed in
datelines (``(Reuters)``, ``(dpa/lni)``, ``【ワシントン共同】``), longer aliases used in
credit lines and bylines (``The Associated Press``), the agency's own web domains and its
home country. Detection only looks at structural places (the dateline tag, credit lines
at the foot of the text, the byline, the outlet, the URL), never at a mention in the
body, so "according to Reuters" does not make a story a Reuters story.

Example::

    >>> from wiredesk.transforms.enrich.agency import canonical_agency, detect_agency
    >>> canonical_agency("The Associated Press")
    'AP'
    >>> canonical_agency("dpa/AFP")
    'dpa'
    >>> detect_agency(text="Body.\\n\\n(Reporting by Jo Min; Editing by Ed Roe)")
    'Reuters'
"""

from __future__ import annotations

import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

__all__ = [
    "AGENCIES",
    "Agency",
    "agency_country",
    "agency_from_credits",
    "agency_from_domain",
    "canonical_agency",
    "detect_agency",
    "is_agency_credit",
]


@dataclasses.dataclass(frozen=True)
class Agency:
    """One news agency.

    ``tags`` are matched case-sensitively as whole tags (short codes such as ``AP`` or
    ``PA`` are only safe that way); ``aliases`` are matched case-insensitively as whole
    names; ``domains`` are the agency's own sites (a page there is the agency's copy).
    """

    name: str
    country: str
    tags: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


# One row per agency. Keep tags exact (case matters for short codes); put spelled-out
# names and local-language names in aliases.
AGENCIES: tuple[Agency, ...] = (
    Agency(
        "Reuters",
        "GB",
        ("Reuters", "REUTERS", "RTRS"),
        ("reuters", "thomson reuters", "reuters staff", "reuters news agency", "ロイター"),
        ("reuters.com", "thomsonreuters.com", "tr.com"),
    ),
    Agency(
        "AP",
        "US",
        ("AP",),
        ("associated press", "the associated press", "ap news", "apnews", "by ap"),
        ("apnews.com", "ap.org"),
    ),
    Agency(
        "AFP",
        "FR",
        ("AFP", "afp"),
        ("agence france-presse", "agence france presse", "afp news agency", "jiji press/afp"),
        ("afp.com",),
    ),
    Agency(
        "dpa",
        "DE",
        ("dpa", "DPA", "dpa-AFX", "dpa-infocom"),
        (
            "deutsche presse-agentur",
            "deutsche presse agentur",
            "dpa international",
            "dpa-international",
        ),
        ("dpa.com", "dpa.de", "dpa-international.com"),
    ),
    Agency(
        "Kyodo", "JP", ("Kyodo", "KYODO", "共同"), ("kyodo news", "共同通信"), ("kyodonews.net",)
    ),
    Agency("Jiji", "JP", ("Jiji", "JIJI", "時事"), ("jiji press", "時事通信"), ("jiji.com",)),
    Agency(
        "Yonhap",
        "KR",
        ("Yonhap", "YONHAP", "연합뉴스", "聯合"),
        ("yonhap news agency", "yonhap news", "연합뉴스", "聯合ニュース"),
        ("yna.co.kr",),
    ),
    Agency(
        "Xinhua",
        "CN",
        ("Xinhua", "XINHUA", "新华社", "新華社"),
        ("xinhua news agency", "新华社", "新華社", "新華社通信"),
        ("xinhuanet.com", "news.cn"),
    ),
    Agency("ANSA", "IT", ("ANSA",), ("agenzia ansa",), ("ansa.it",)),
    Agency("EFE", "ES", ("EFE",), ("agencia efe",), ("efe.com",)),
    Agency(
        "Europa Press",
        "ES",
        ("Europa Press", "EUROPA PRESS"),
        ("europapress",),
        ("europapress.es",),
    ),
    Agency("Bloomberg", "US", ("Bloomberg",), ("bloomberg news",), ("bloomberg.com",)),
    Agency(
        "PA Media",
        "GB",
        ("PA", "PA Media", "PA Wire"),
        ("press association", "pa media", "pa wire", "pa news agency"),
        (),
    ),
    Agency("PTI", "IN", ("PTI",), ("press trust of india",), ("ptinews.com",)),
    Agency("ANI", "IN", ("ANI",), ("asian news international",), ("aninews.in",)),
    Agency("IANS", "IN", ("IANS",), ("indo-asian news service",), ()),
    Agency("AAP", "AU", ("AAP",), ("australian associated press",), ("aap.com.au",)),
    Agency("Canadian Press", "CA", ("CP",), ("the canadian press", "canadian press"), ()),
    Agency("UPI", "US", ("UPI",), ("united press international",), ("upi.com",)),
    Agency(
        "Anadolu",
        "TR",
        ("AA", "Anadolu"),
        ("anadolu agency", "anadolu ajansı", "anadolu ajansi"),
        ("aa.com.tr",),
    ),
    Agency("Bernama", "MY", ("Bernama", "BERNAMA"), (), ("bernama.com",)),
    Agency("TASS", "RU", ("TASS", "ITAR-TASS"), ("тасс",), ("tass.com", "tass.ru")),
    Agency("RIA Novosti", "RU", ("RIA Novosti", "RIA"), ("риа новости",), ("ria.ru",)),
    Agency("Interfax", "RU", ("Interfax",), ("интерфакс",), ("interfax.ru",)),
    Agency("Ukrinform", "UA", ("Ukrinform",), (), ("ukrinform.net", "ukrinform.ua")),
    Agency("APA", "AT", ("APA",), ("austria presse agentur",), ("apa.at",)),
    Agency("Keystone-SDA", "CH", ("SDA", "sda", "Keystone-SDA", "ATS"), ("keystone-ats",), ()),
    Agency("KNA", "DE", ("KNA",), ("katholische nachrichten-agentur",), ()),
    Agency("epd", "DE", ("epd",), ("evangelischer pressedienst",), ()),
    Agency("SID", "DE", ("SID", "sid"), ("sport-informations-dienst",), ()),
    Agency("ANP", "NL", ("ANP",), ("algemeen nederlands persbureau",), ("anp.nl",)),
    Agency("Belga", "BE", ("Belga", "BELGA"), (), ("belga.be",)),
    Agency("Lusa", "PT", ("Lusa", "LUSA"), ("agência lusa",), ("lusa.pt",)),
    Agency("TT", "SE", ("TT",), ("tt nyhetsbyrån",), ("tt.se",)),
    Agency("NTB", "NO", ("NTB",), ("norsk telegrambyrå",), ("ntb.no",)),
    Agency("Ritzau", "DK", ("Ritzau", "RITZAU"), (), ("ritzau.dk",)),
    Agency("STT", "FI", ("STT",), ("suomen tietotoimisto",), ("stt.fi",)),
    Agency("PAP", "PL", ("PAP",), ("polish press agency", "polska agencja prasowa"), ("pap.pl",)),
    Agency("ČTK", "CZ", ("ČTK", "CTK"), ("czech news agency",), ()),
    Agency("MTI", "HU", ("MTI",), ("hungarian news agency",), ()),
    Agency("Agerpres", "RO", ("Agerpres", "AGERPRES"), (), ()),
    Agency("BTA", "BG", ("BTA",), ("bulgarian news agency",), ()),
    Agency("ANA-MPA", "GR", ("ANA-MPA", "AMNA"), ("athens-macedonian news agency",), ()),
    Agency("IRNA", "IR", ("IRNA",), ("islamic republic news agency",), ("irna.ir",)),
    Agency("WAM", "AE", ("WAM",), ("emirates news agency",), ("wam.ae",)),
    Agency("SPA", "SA", ("SPA",), ("saudi press agency",), ("spa.gov.sa",)),
    Agency("QNA", "QA", ("QNA",), ("qatar news agency",), ()),
    Agency("KUNA", "KW", ("KUNA",), ("kuwait news agency",), ()),
    Agency("MENA", "EG", ("MENA",), ("middle east news agency",), ()),
    Agency("Petra", "JO", (), ("jordan news agency", "petra news agency"), ()),
    Agency("MAP", "MA", (), ("maghreb arabe presse", "map"), ()),
    Agency("APS", "DZ", ("APS",), ("algérie presse service", "algerie presse service"), ()),
    Agency("TAP", "TN", ("TAP",), ("tunis afrique presse",), ()),
    Agency("NAN", "NG", ("NAN",), ("news agency of nigeria",), ()),
    Agency("KCNA", "KP", ("KCNA",), ("korean central news agency",), ("kcna.kp",)),
    Agency("Antara", "ID", ("Antara", "ANTARA"), ("antara news",), ("antaranews.com",)),
    Agency("PNA", "PH", ("PNA",), ("philippine news agency",), ("pna.gov.ph",)),
    Agency("VNA", "VN", ("VNA",), ("vietnam news agency",), ()),
    Agency("CNA", "TW", ("CNA", "中央社"), ("central news agency", "focus taiwan"), ()),
    Agency("China News Service", "CN", ("中新社", "CNS"), ("china news service",), ()),
    Agency("APP", "PK", ("APP",), ("associated press of pakistan",), ()),
    Agency("BSS", "BD", ("BSS",), ("bangladesh sangbad sangstha",), ()),
    Agency("SANA", "SY", ("SANA",), ("syrian arab news agency",), ()),
    Agency("Agência Brasil", "BR", (), ("agência brasil", "agencia brasil"), ()),
    Agency("Télam", "AR", ("Télam", "Telam"), (), ()),
    Agency("Notimex", "MX", ("Notimex",), (), ()),
    Agency("Prensa Latina", "CU", ("Prensa Latina",), (), ()),
    Agency("Dow Jones", "US", (), ("dow jones newswires", "dow jones"), ()),
    Agency("SIPA", "FR", (), ("sipa", "sipa usa", "sipa press"), ()),
    # Press-release wires: what they carry is a company's text, but it is syndicated as
    # wire copy is, and their feeds name them as the provider. No dateline tags: their
    # "--(BUSINESS WIRE)--" is left to the credit and byline aliases.
    Agency("Business Wire", "US", (), ("business wire", "businesswire"), ("businesswire.com",)),
    Agency("PR Newswire", "US", (), ("pr newswire", "prnewswire"), ("prnewswire.com",)),
    Agency("GlobeNewswire", "US", (), ("globenewswire", "globe newswire"), ("globenewswire.com",)),
)

# Credit lines that only a given agency's desks write.
_CREDIT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Reuters: "(Reporting by A in X; Editing by B)", "Writing by", "Compiled by".
    (
        re.compile(
            r"^\(?\s*(?:additional\s+)?(?:reporting|writing|compiled|editing)\s+by\b[^\n]*"
            r"(?:;|\bediting\s+by\b)",
            re.I,
        ),
        "Reuters",
    ),
    (re.compile(r"^\(?\s*reporting\s+by\b[^\n]*\)\s*$", re.I), "Reuters"),
    (
        re.compile(
            r"(?:copyright|©|\(c\))\s*(?:\(c\)\s*|©\s*)?(?:\d{4}\s+)?(?:the\s+)?associated\s+press",
            re.I,
        ),
        "AP",
    ),
    (re.compile(r"©\s*(?:\d{4}\s+)?thomson\s+reuters", re.I), "Reuters"),
)

# A bare credit: the whole line is the agency, optionally after a dash, "Source:",
# "with", "--", or in parentheses: "— AFP", "(Kyodo)", "Source: Xinhua", "AFP/Reuters".
_BARE_CREDIT = re.compile(
    r"^(?:[-–—―]+\s*|source\s*:\s*|sources\s*:\s*|with\s+|by\s+|quelle\s*:\s*|fuente\s*:\s*)?"
    r"\(?\s*(?P<who>[^()\n]{2,60}?)\s*\)?\s*\.?$",
    re.I,
)
# Photo credits are not story credits: "(AP Photo/Ahn Young-joon)", "Reuters/Kim Hong-Ji".
_PHOTO = re.compile(
    r"\b(?:photo|photos|foto|fotos|file|video|graphic|images?|pool|illustration)\b", re.I
)
_WS = re.compile(r"\s+")
_PLAIN_NAME = re.compile(r"^[^\W\d_][\w .&'’-]{1,39}$")
_SPLIT_COMBO = re.compile(r"\s*(?:/|,|\+|&|\band\b|\bund\b|\bet\b|\by\b)\s*", re.I)


def _fold(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip().strip(".:;,").strip()
    return _WS.sub(" ", text).casefold()


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, str]]:
    by_tag: dict[str, str] = {}
    by_alias: dict[str, str] = {}
    by_domain: dict[str, str] = {}
    home: dict[str, str] = {}
    for agency in AGENCIES:
        home[agency.name] = agency.country
        if len(agency.name) > 3:
            by_alias.setdefault(_fold(agency.name), agency.name)
        for tag in agency.tags:
            by_tag.setdefault(tag, agency.name)
        for alias in agency.aliases:
            by_alias.setdefault(_fold(alias), agency.name)
        for domain in agency.domains:
            by_domain.setdefault(domain, agency.name)
    return by_tag, by_alias, by_domain, home


def _one(value: str) -> str | None:
    by_tag, by_alias, _, _ = _tables()
    text = _WS.sub(" ", unicodedata.normalize("NFKC", value)).strip().strip(".:;,").strip()
    if not text or len(text) > 80 or _PHOTO.search(text):
        return None
    if text in by_tag:
        return by_tag[text]
    # Regional and product services: "dpa/lni" is split first; "dpa-AFX", "Reuters
    # Breakingviews". A lower-case rest is a sentence ("Reuters reported it"), not a desk.
    parts = re.split(r"[-\s]", text, maxsplit=1)
    if len(parts) == 2 and parts[0] in by_tag and len(parts[0]) > 2:
        rest = parts[1].split()
        if len(rest) <= 2 and all(w[:1].isupper() for w in rest):
            return by_tag[parts[0]]
    return by_alias.get(_fold(text))


def canonical_agency(value: str | None) -> str | None:
    """The canonical agency name for a tag, alias or combination, or ``None``.

    ``"dpa/AFP"`` gives the first known agency (the one that filed); a photo credit
    (``"AP Photo/Jae C. Hong"``) gives ``None``.
    """
    if not value or not isinstance(value, str):
        return None
    if _PHOTO.search(value):
        return None
    found = _one(value)
    if found:
        return found
    for part in _SPLIT_COMBO.split(value):
        found = _one(part) if part else None
        if found:
            return found
    return None


def agency_country(name: str | None) -> str | None:
    """The home country (ISO alpha-2) of a canonical agency, or ``None``."""
    return _tables()[3].get(name or "")


def is_agency_credit(value: str) -> bool:
    """True when ``value`` names an agency (not a person): ``"Reuters Staff"``, ``"By AP"``."""
    text = re.sub(r"^\s*by\s+", "", value or "", flags=re.I)
    text = re.sub(r"\b(?:staff|staff reporters?|wires?|newsroom|desk)\b\s*$", "", text, flags=re.I)
    return canonical_agency(text) is not None or canonical_agency(value) is not None


def agency_from_domain(url: str | None) -> str | None:
    """The agency whose own site ``url`` is on (``https://apnews.com/...`` -> ``AP``)."""
    if not url or not isinstance(url, str):
        return None
    try:
        host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    by_domain = _tables()[2]
    while host:
        if host in by_domain:
            return by_domain[host]
        if "." not in host:
            break
        host = host.split(".", 1)[1]
    return None


def _tail_lines(text: str, count: int) -> list[str]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-count:]


def agency_from_credits(text: str, *, tail_lines: int = 8) -> str | None:
    """An agency named by a credit line at the foot of ``text``.

    Looks at the last ``tail_lines`` non-empty lines only, bottom up; lines that are
    photo credits are skipped.
    """
    if not text or not isinstance(text, str):
        return None
    for line in reversed(_tail_lines(text, tail_lines)):
        if len(line) > 300:
            continue
        for pattern, name in _CREDIT_PATTERNS:
            if pattern.search(line):
                return name
        if _PHOTO.search(line):
            continue
        match = _BARE_CREDIT.match(line)
        if match:
            found = _credit_name(match.group("who"))
            if found:
                return found
        trailing = _TRAILING_TAG.search(line)
        if trailing and trailing.group("who") in _tables()[0]:
            return _tables()[0][trailing.group("who")]
    return None


# Indian and some Asian desks end the last paragraph with the agency: "... the US. PTI".
_TRAILING_TAG = re.compile(r"[.!?\"”’)]\s+\(?(?P<who>[A-Z]{2,6})\)?\s*$")


def _credit_name(who: str) -> str | None:
    who = re.sub(r"\b(?:contributed to this report|staff)\b.*$", "", who, flags=re.I).strip()
    if not who:
        return None
    return canonical_agency(who)


def _from_authors(authors: Iterable[str]) -> str | None:
    for author in authors:
        if not isinstance(author, str):
            continue
        # "AFP, MANILA" (Taipei Times), "Reuters Staff", "By AP", "dpa".
        first = author.split(",")[0]
        if is_agency_credit(first):
            return canonical_agency(re.sub(r"^\s*by\s+|\s+staff\s*$", "", first, flags=re.I))
    return None


def detect_agency(
    *,
    text: str,
    dateline_tag: str | None = None,
    authors: Sequence[str] = (),
    source: str | None = None,
    url: str | None = None,
    wire_agency: str | None = None,
) -> str | None:
    """The originating wire agency of a story, or ``None``.

    Trust order: what the wire item said, the dateline tag, the credit lines at the foot,
    the byline, the outlet's name, and the agency's own domain.
    """
    if wire_agency and isinstance(wire_agency, str):
        found = canonical_agency(wire_agency)
        if found:
            return found
        # The wire item names its provider; one we do not know is still the agency.
        plain = _WS.sub(" ", wire_agency).strip()
        if _PLAIN_NAME.match(plain) and not _PHOTO.search(plain):
            return plain
    for candidate in (
        canonical_agency(dateline_tag),
        agency_from_credits(text if isinstance(text, str) else ""),
        _from_authors(authors or ()),
        canonical_agency(source) if source and len(source) <= 60 else None,
        agency_from_domain(url),
    ):
        if candidate:
            return candidate
    return None
