"""Consent walls become ``consent_wall`` rejects; articles about consent stay articles.

The pages in tests/fixtures/consent were written for these tests from how the dialogs of
OneTrust, Didomi, Sourcepoint, Usercentrics, Quantcast Choice, a server-side consent page
and "pay or accept" walls read, in six languages; the articles discuss cookies, consent
and pay-or-accept models at length or in brief, some with a banner in their markup. The
unit tests below move one axis of the definition (transforms/extract/consent.py) at a time.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from wiredesk.cli import main
from wiredesk.loopback import LoopbackOutlet, Route
from wiredesk.query import connect
from wiredesk.transforms.extract.consent import consent_wall, page_blocks
from wiredesk.transforms.extract.page import ExtractedPage, ExtractError, extract_page

CONSENT = Path(__file__).parent / "fixtures" / "consent"
WALLS = sorted(CONSENT.glob("wall_*.html"))
ARTICLES = sorted(CONSENT.glob("article_*.html"))
HOST = "127.0.0.94"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("consent")
    with LoopbackOutlet(host=HOST) as outlet:
        items = []
        for page in WALLS + ARTICLES:
            outlet.set_route(
                f"/{page.stem}", Route(body=page.read_bytes(), content_type="text/html")
            )
            items.append(
                f"<item><title>{html.escape(page.stem)}</title>"
                f"<link>{html.escape(outlet.url('/' + page.stem))}</link></item>"
            )
        rss = f"<rss version='2.0'><channel><title>Outlet</title>{''.join(items)}</channel></rss>"
        outlet.set_route("/rss.xml", Route(body=rss.encode(), content_type="application/rss+xml"))
        feeds = tmp / "feeds.txt"
        feeds.write_text(outlet.url("/rss.xml") + "\n")
        out = str(tmp / "out")
        argv = ["run", "--feeds", str(feeds), "--output", out, "--once", "--allow-host", HOST]
        assert main(argv) == 0
    return out


def _stem(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_walls_in_six_languages_are_consent_wall_rejects(output: str) -> None:
    con = connect(output)
    rejects = {
        _stem(url): (stage, reason)
        for url, stage, reason in con.execute("SELECT url, stage, reason FROM rejects").fetchall()
    }
    assert {w.stem: rejects.get(w.stem) for w in WALLS} == {
        w.stem: ("extract", "consent_wall") for w in WALLS
    }
    languages = {w.stem.rsplit("_", 1)[1] for w in WALLS}
    assert {"en", "de", "fr", "es", "it", "nl"} <= languages


def test_articles_about_cookies_and_privacy_stay_articles(output: str) -> None:
    con = connect(output)
    rows = con.execute(
        "SELECT url, word_count FROM articles UNION ALL SELECT url, word_count FROM duplicates"
    ).fetchall()
    written = {_stem(url) for url, _ in rows}
    assert written == {a.stem for a in ARTICLES}
    assert con.execute("SELECT count(*) FROM rejects").fetchone() == (len(WALLS),)


def test_the_reject_says_why(output: str) -> None:
    details = connect(output).execute("SELECT detail FROM rejects").fetchall()
    assert all("consent dialog" in d and "choices" in d for (d,) in details)


# ---- the definition, one axis at a time ---------------------------------------------------

WALL = (
    "We value your privacy\n\n"
    "We and our partners store and/or access information on a device, such as cookies, and "
    "process personal data for personalised advertising and content, advertising "
    "measurement and audience research.\n\n"
    "You can change your preferences or withdraw your consent at any time from the privacy "
    "link at the bottom of every page."
)
BUTTONS = ("Accept all", "Reject all", "Manage preferences")
NEWS = (
    "The harbour authority approved the budget for the new container terminal on Monday, "
    "ending a dispute that had delayed dredging for three years. The terminal will double "
    "the port's capacity and create about 400 jobs when it opens in 2027. "
)


def test_a_dialog_with_its_buttons_is_a_wall() -> None:
    assert consent_wall(WALL, buttons=BUTTONS) is not None
    assert consent_wall(WALL + "\n\nAccept all\n\nReject all") is not None


def test_buttons_are_read_only_for_a_text_that_may_be_a_wall() -> None:
    asked: list[int] = []

    def buttons() -> tuple[str, ...]:
        asked.append(1)
        return BUTTONS

    assert consent_wall(NEWS * 3, buttons=buttons) is None
    assert asked == []  # an article: the page's buttons are never looked up
    assert consent_wall(WALL, buttons=buttons) == consent_wall(WALL, buttons=BUTTONS)
    assert consent_wall(WALL, buttons=buttons) is not None and asked == [1, 1]


def test_without_a_choice_it_is_no_wall() -> None:
    assert consent_wall(WALL) is None
    assert consent_wall(WALL, buttons=("Read more", "Share")) is None


def test_consent_vocabulary_must_dominate() -> None:
    diluted = WALL + "\n\n" + "\n\n".join([NEWS] * 3)
    assert consent_wall(diluted, buttons=BUTTONS) is None


def test_a_long_text_is_no_wall() -> None:
    padded = (
        WALL
        + "\n\n"
        + "\n\n".join(
            f"Cookies and personal data of category {n} are processed by our partners."
            for n in range(80)
        )
    )
    assert len(padded.split()) > 700
    assert consent_wall(padded, buttons=BUTTONS) is None


def test_reporting_about_consent_is_no_wall() -> None:
    brief = (
        "Cookie banners must offer a reject button as visible as the accept button, the "
        "regulator said on Tuesday.\n\n"
        "Sites that hide the choice to refuse tracking by advertising partners will be "
        "fined, according to the ruling. Consent to personal data processing must be free."
    )
    assert consent_wall(brief, buttons=BUTTONS) is None


def test_third_person_consent_talk_with_choice_words_is_no_wall() -> None:
    text = (
        "Cookie consent under the new law\n\n"
        "Users of the retailer's site could accept all cookies in one click but had to "
        "open settings to reject advertising partners' tracking of personal data."
    )
    assert consent_wall(text, buttons=BUTTONS) is None


@pytest.mark.parametrize(
    "text",
    [
        "Wir und unsere Partner verwenden Cookies und verarbeiten personenbezogene Daten für "
        "personalisierte Werbung. Ihre Einwilligung können Sie jederzeit widerrufen.",
        "Nous et nos partenaires utilisons des cookies pour stocker des informations sur votre "
        "appareil. Vous pouvez retirer votre consentement à tout moment.",
        "Wij en onze partners gebruiken cookies voor gepersonaliseerde advertenties. U kunt "
        "uw toestemming op elk moment intrekken.",
        "My i nasi partnerzy przechowujemy informacje na urządzeniu (pliki cookie) i "
        "przetwarzamy dane osobowe. Możesz wycofać zgodę w każdej chwili.",
        "Nós e os nossos parceiros utilizamos cookies e tratamos dados pessoais para "
        "publicidade. Pode retirar o seu consentimento a qualquer momento.",
        "Vi och våra partner lagrar information på din enhet (cookies) och behandlar "
        "personuppgifter. Du kan återkalla ditt samtycke när som helst.",
        "Me ja kumppanimme tallennamme tietoja laitteellesi, kuten evästeet, ja käsittelemme "
        "henkilötietoja. Voit peruuttaa suostumuksesi milloin tahansa.",
        "My a naši partneři ukládáme informace v zařízení, například soubory cookie, a "
        "zpracováváme osobní údaje. Souhlas můžete kdykoli odvolat.",
        "Biz ve iş ortaklarımız çerezler gibi bilgileri cihazınızda depolarız ve kişisel "
        "veriler işleriz. Onayınızı istediğiniz zaman geri çekebilirsiniz.",
        "Εμείς και οι συνεργάτες μας αποθηκεύουμε πληροφορίες σε μια συσκευή, όπως cookies, "
        "και επεξεργαζόμαστε προσωπικά δεδομένα. Μπορείτε να αποσύρετε τη συγκατάθεση ανά "
        "πάσα στιγμή.",
    ],
    ids=["de", "fr", "nl", "pl", "pt", "sv", "fi", "cs", "tr", "el"],
)
def test_walls_in_other_languages(text: str) -> None:
    buttons = ("Alle akzeptieren", "Akkoord", "Aceitar", "Hyväksy kaikki", "Αποδοχή όλων")
    assert consent_wall(text, buttons=buttons) is not None


def test_a_page_whose_only_text_is_a_dialog_is_a_wall_not_empty_text() -> None:
    # Filters drop a dialog built of <div>s and buttons; the page's visible text is read.
    page = (
        "<html><head><title>Privacy settings</title></head><body><div id='cmp'>"
        + "".join(f"<div>{line}</div>" for line in WALL.split("\n\n"))
        + "<div role='button'>Accept all</div><div role='button'>Reject all</div>"
        "</div></body></html>"
    )
    result = extract_page(html=page, url="https://example.com/story")
    assert isinstance(result, ExtractError) and result.reason == "consent_wall", result


def test_an_article_page_with_a_banner_is_an_article() -> None:
    page = (CONSENT / "article_cookie_fine_en.html").read_text(encoding="utf-8")
    result = extract_page(html=page, url="https://example.com/story")
    assert isinstance(result, ExtractedPage)
    assert "We value your privacy" not in result.text


def test_page_blocks_survive_deep_nesting() -> None:
    from lxml import etree

    root = etree.Element("html")
    node = etree.SubElement(root, "body")
    for _ in range(5000):  # deeper than Python's recursion limit
        node = etree.SubElement(node, "div")
    node.text = "Accept all"
    assert page_blocks(root) == "Accept all"
