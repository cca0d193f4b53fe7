"""The hostile internet, at the user's boundary: one ``wiredesk run --once`` over every case.

The run (module-scoped, about 20 s) lists every hostile case of the issue "Hostile
internet: every bad input becomes a reject row, nothing reaches inside" together with
good pages, through RSS, Atom and NewsML feeds served by an allowed outlet. Each test
then checks one row of the issue's table through the ``rejects`` table (stage and
reason), what the outlets saw, and that the *inside* listener (127.0.0.1 and ``[::1]``,
never allowed) got no request. See ``internet.py`` for the cases.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections import Counter
from typing import Any

import pytest

from tests.hostile.internet import RETRY_SHORT_SECONDS, HostileInternet, iter_files
from wiredesk.cli import main
from wiredesk.query import connect
from wiredesk.schemas.tables import REGION_SLUGS

EVIL_DIR = "/tmp/evil"


@dataclasses.dataclass
class Run:
    net: HostileInternet
    out: str
    root: str
    code: int
    rejects: list[dict[str, Any]]
    articles: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    evil_existed: bool

    def rows_for(self, name: str) -> list[tuple[str, Any]]:
        """Every output row of one case: ``("reject", row)`` / ``("article", row)`` / ..."""
        pattern = re.compile(re.escape(name) + r"(?![\w-])")
        found: list[tuple[str, Any]] = []
        for table, rows in (
            ("reject", self.rejects), ("article", self.articles), ("duplicate", self.duplicates)
        ):  # fmt: skip
            found += [(table, r) for r in rows if pattern.search(r["url"] or "")]
        return found

    def outcome(self, name: str) -> list[tuple[str, str | None]]:
        out = []
        for table, row in self.rows_for(name):
            out.append((row["stage"], row["reason"]) if table == "reject" else (table, None))
        return out


def _fetch(out: str, table: str) -> list[dict[str, Any]]:
    con = connect(out)
    cursor = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = str(tmp_path_factory.mktemp("hostile"))
    evil_existed = os.path.exists(EVIL_DIR)
    with HostileInternet(secret_dir=root) as net:
        feeds = net.write_feeds_file(os.path.join(root, "feeds.txt"))
        out = os.path.join(root, "out")
        code = main(net.argv(feeds, out))
    return Run(
        net=net,
        out=out,
        root=root,
        code=code,
        rejects=_fetch(out, "rejects"),
        articles=_fetch(out, "articles"),
        duplicates=_fetch(out, "duplicates"),
        evil_existed=evil_existed,
    )


def _mismatches(run: Run, prefix: str, *, reason: str | None = None) -> dict[str, Any]:
    """Cases named ``prefix*`` (and expecting ``reason``, if given) whose rows are wrong."""
    bad: dict[str, Any] = {}
    cases = [
        c
        for c in run.net.cases
        if c.name.startswith(prefix) and (reason is None or c.reason == reason)
    ]
    assert cases, prefix
    for case in cases:
        want = [("article", None)] if case.good else [(case.stage, case.reason)]
        got = run.outcome(case.name)
        if got != want:
            bad[case.name] = (want, got, [r.get("detail") for _, r in run.rows_for(case.name)])
    return bad


# ---- the whole run (acceptance 2) ------------------------------------------------------


def test_the_run_finishes_and_every_input_is_one_row(run: Run) -> None:
    assert run.code == 0
    net = run.net
    good = [c for c in net.cases if c.good]
    assert len(run.articles) + len(run.duplicates) + len(run.rejects) == len(net.cases)
    assert len(run.articles) == len(good) and not run.duplicates
    got = Counter((r["stage"], r["reason"]) for r in run.rejects)
    assert dict(got) == net.expected_counts()
    # Every row is one case's, and every case has exactly one row.
    assert all(len(run.rows_for(c.name)) == 1 for c in net.cases)
    assert all(run.rows_for(c.name)[0][0] == "article" for c in good)


def test_nothing_reaches_inside(run: Run) -> None:
    assert run.net.inside_hits == 0
    assert run.net.tripwire.attempts == []  # not a packet towards 169.254.169.254 or 10/8
    secret = run.net.secret_token
    for row in run.rejects + run.articles:
        assert not any(secret in str(value) for value in row.values())


# ---- addresses ---------------------------------------------------------------------------


def test_links_to_blocked_addresses_are_rejected_unrequested(run: Run) -> None:
    assert _mismatches(run, "case-blocked-") == {}
    if run.net.inside6 is None:
        pytest.skip("no IPv6 loopback here: [::1] was refused, but no listener could prove it")
    assert run.net.inside6.total_hits == 0


def test_redirects_to_blocked_addresses_are_refused_at_the_hop(run: Run) -> None:
    assert _mismatches(run, "case-redirect-", reason="blocked_address") == {}
    redir = run.net.outlets["redir"]
    for case in run.net.cases:
        if case.name.startswith("case-redirect-") and case.reason == "blocked_address":
            assert redir.hits[f"/{case.name}"] == 1  # the allowed first hop was asked
    assert run.net.inside_hits == 0


def test_dns_rebinding_cannot_move_the_connection(run: Run) -> None:
    # The name answered 127.0.0.75 (allowed) twice, then the inside address: the page
    # was fetched from the address that was checked.
    assert run.outcome("case-dns-rebinding") == [("article", None)]
    assert run.net.outlets["rebind"].hits["/case-dns-rebinding"] == 1
    assert run.net.dns.lookups["rebind.hostile.test"] == 2
    assert run.net.inside_hits == 0


# ---- XML -------------------------------------------------------------------------------------


def test_xml_attacks_in_rss_atom_and_newsml_are_parse_errors(run: Run) -> None:
    assert _mismatches(run, "case-xml-") == {}
    news = run.net.outlets["news"]
    # Nothing listed by a hostile feed was fetched: the feeds were refused whole.
    assert sum(n for path, n in news.hits.items() if path.startswith("/listed-by-")) == 0
    assert run.net.inside.hits["/xxe"] == 0 and run.net.inside.hits["/evil.dtd"] == 0


# ---- transfer -------------------------------------------------------------------------------


def test_bombs_endless_lying_and_huge_bodies_are_too_large(run: Run) -> None:
    assert _mismatches(run, "case-bomb-") == {}
    for name in ("case-endless-chunked", "case-lying-length", "case-200mb"):
        assert _mismatches(run, name) == {}


def test_slow_and_silent_servers_time_out(run: Run) -> None:
    assert _mismatches(run, "case-drip") == {}
    assert _mismatches(run, "case-silent") == {}


def test_redirect_loops_and_long_chains(run: Run) -> None:
    assert _mismatches(run, "case-redirect-loop") == {}
    assert _mismatches(run, "case-redirect-chain") == {}
    redir = run.net.outlets["redir"]
    assert redir.hits["/case-redirect-loop"] == 6  # the first request and 5 redirects
    chain = sum(n for path, n in redir.hits.items() if path.startswith("/case-redirect-chain"))
    assert chain == 6 and redir.hits["/case-redirect-chain-30"] == 0


# ---- politeness ------------------------------------------------------------------------------


def test_robots_txt_is_honoured_and_cached(run: Run) -> None:
    assert _mismatches(run, "case-robots-") == {}
    outlets = run.net.outlets
    assert outlets["robots_rules"].hits["/case-robots-disallowed"] == 0
    assert outlets["robots_5xx"].hits["/case-robots-5xx-1"] == 0  # 5xx: disallow all
    assert outlets["robots_5xx"].hits["/case-robots-5xx-2"] == 0
    assert outlets["robots_huge"].hits["/case-robots-huge-disallowed"] == 0
    assert outlets["robots_huge"].hits["/case-robots-huge-allowed"] == 1  # 500 KiB read
    for name in ("robots_rules", "robots_5xx", "robots_4xx", "robots_huge", "robots_broken"):
        assert outlets[name].hits["/robots.txt"] == 1, name  # cached per origin


def test_retry_after_closes_the_host_until_the_time(run: Run) -> None:
    net = run.net
    for outlet, status in (("retry_seconds", "http_429"), ("retry_date", "http_503")):
        reached = net.page_requests(outlet)
        # Only requests already in flight when the host said "wait" reached it.
        assert 1 <= reached <= 2
        prefix = f"case-{outlet.replace('_', '-')}-"
        got = Counter(
            o for c in net.cases if c.name.startswith(prefix) for o in run.outcome(c.name)
        )
        assert got == {("fetch", status): reached, ("fetch", "rate_limited"): 3 - reached}


def test_short_retry_after_is_waited_out(run: Run) -> None:
    net = run.net
    (said_wait,) = net.retry_short_sent
    requests = [r for r in net.outlets["retry_short"].requests if r.path != "/robots.txt"]
    assert len(requests) == 3
    # Each request was in flight already when the host said "wait" (it arrived at most
    # a moment after), or it came after the Retry-After time; at least one had to wait.
    offsets = sorted(r.at - said_wait for r in requests)
    assert all(o < 0.5 or o >= RETRY_SHORT_SECONDS - 0.01 for o in offsets), offsets
    assert offsets[-1] >= RETRY_SHORT_SECONDS - 0.01
    got = Counter(
        o for c in net.cases if c.name.startswith("case-retry-short-") for o in run.outcome(c.name)
    )
    assert got == {("fetch", "http_429"): 1, ("fetch", "http_410"): 2}


def test_never_more_than_n_requests_at_once_to_one_host(run: Run) -> None:
    busy = run.net.outlets["busy"]
    assert busy.total_hits == 7  # robots.txt and six slow pages, all reached in the end
    assert run.net.busy_max_in_flight <= 2  # --per-host-concurrency 2
    assert _mismatches(run, "case-busy-") == {}


# ---- content ---------------------------------------------------------------------------------


def test_binary_served_as_html_is_not_html(run: Run) -> None:
    for name in ("case-pdf-", "case-png-", "case-elf-"):
        assert _mismatches(run, name) == {}


def test_wrong_or_missing_charsets_are_decoded_right(run: Run) -> None:
    titles = {
        "case-utf16-no-bom": "Café au lait à Genève",
        "case-cp1251-no-charset": "Новости города",
        "case-wrong-charset": "Crème brûlée für Zürich",
    }
    for name, title in titles.items():
        ((table, row),) = run.rows_for(name)
        assert table == "article" and row["title"] == title, name
        assert "\ufffd" not in row["text"]


def test_hostile_dates_become_null(run: Run) -> None:
    # No hostile date is believed: the row says it knows only when it was fetched
    # (published_at_source "fetch", README "Where each date came from").
    assert _mismatches(run, "case-date-") == {}
    for case in run.net.cases:
        if case.name.startswith("case-date-"):
            ((_, row),) = run.rows_for(case.name)
            assert row["published_at_source"] == "fetch", case.name
            assert row["published_at"] == row["fetched_at"], case.name
            assert row["date"] == row["fetched_at"].astimezone(dt.UTC).date()


def test_a_page_that_hangs_extraction_is_extract_timeout(run: Run) -> None:
    assert _mismatches(run, "case-extract-bomb") == {}


# ---- paths ---------------------------------------------------------------------------------------

_PART = r"part-[A-Za-z0-9_-]+\.parquet"
_DATE = r"date=\d{4}-\d{2}-\d{2}"
_REGION = "region=(?:" + "|".join(re.escape(s) for s in REGION_SLUGS) + ")"
_ALLOWED = re.compile(
    rf"^(?:(?:articles|duplicates)/{_DATE}/{_REGION}/{_PART}"
    rf"|rejects/{_DATE}/{_PART}"
    rf"|_state/(?:seen|stories|feeds|feed_list)/[^/]+\.parquet"
    r"|_lease/\d{12}\.json)$"
)


def test_partition_values_never_come_from_input_text(run: Run) -> None:
    assert _mismatches(run, "case-partition-") == {}
    files = sorted(iter_files(run.out))
    assert files and all(_ALLOWED.match(f) for f in files), files
    assert sorted(os.listdir(run.root)) == ["feeds.txt", "out", "secret.txt"]
    assert os.path.exists(EVIL_DIR) == run.evil_existed
    for row in run.articles:
        assert row["region"] in REGION_SLUGS
