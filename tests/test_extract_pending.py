"""ExtractText's pending window: how many pages the runner thread hands the pool before it
waits, and that it fetches further ahead while the pool's workers are still starting.

A fake pool stands in for the processes: ``process_many`` blocks until the test lets it
finish, and ``warm`` says whether a worker is up. ``process`` is called from a thread so
that a call that waits shows as a thread still running.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP

from wiredesk.schemas.records import Article, FeedEntry, FetchedPage
from wiredesk.transforms.extract import stage
from wiredesk.transforms.extract.stage import _ExtractFn

FETCHED_AT = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
LIMIT = 2  # max_pending_pages of the DoFn under test
RETURNS = 20.0  # seconds a call that should not wait gets to return
WAITS = 0.5  # seconds after which a call that should wait must still be waiting


class _BlockedPool:
    """Results come only once ``release`` is set; ``warm`` is whatever the test says."""

    def __init__(self, *, warm: bool) -> None:
        self.warm = warm
        self.release = threading.Event()

    def process_many(self, pages: list[FetchedPage]) -> list[Any]:
        assert self.release.wait(60), "the test never released the pool"
        return [_article(p) for p in pages]


def _page(i: int) -> FetchedPage:
    url = f"http://127.0.0.1/news/{i}.html"
    entry = FeedEntry(url=url, feed_url="http://127.0.0.1/feed.xml", url_key=url)
    return FetchedPage(entry=entry, final_url=url, html="<p>x</p>", fetched_at=FETCHED_AT)


def _article(page: FetchedPage) -> Article:
    return Article(
        url=page.final_url,
        url_key=page.entry.url_key,
        canonical_url=page.final_url,
        source=None,
        feed_url=page.entry.feed_url,
        title="t",
        text="body",
        published_at=None,
        fetched_at=page.fetched_at,
    )


def _fn(pool: _BlockedPool) -> _ExtractFn:
    fn = _ExtractFn(workers=1, timeout=5.0, max_pending_pages=LIMIT, in_process=False)
    fn.setup()
    fn._pool = pool  # type: ignore[assignment]
    fn.start_bundle()
    return fn


def _call(fn: _ExtractFn, i: int, out: list[Any]) -> threading.Thread:
    def run() -> None:
        out.extend(fn.process([_page(i)], GlobalWindow(), MIN_TIMESTAMP, None))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _hand_over(fn: _ExtractFn, pages: int, out: list[Any]) -> None:
    for i in range(pages):
        thread = _call(fn, i, out)
        thread.join(RETURNS)
        assert not thread.is_alive(), f"page {i + 1} of {pages} waited for the pool"


def _hand_over_until_it_waits(pool: _BlockedPool, pages: int, why: str) -> list[Any]:
    """Hand ``pages`` pages to an ExtractText DoFn over ``pool`` without waiting, check that
    one more waits for the pool (``why`` if not), then let the pool finish; return all that
    the DoFn emitted."""
    fn = _fn(pool)
    out: list[Any] = []
    try:
        _hand_over(fn, pages, out)
        waiting = _call(fn, pages, out)
        waiting.join(WAITS)
        assert waiting.is_alive(), why
    finally:
        pool.release.set()
    waiting.join(RETURNS)
    assert not waiting.is_alive()
    out += list(fn.finish_bundle())
    fn.teardown()
    return out


def test_a_warm_pool_holds_the_runner_at_max_pending_pages() -> None:
    out = _hand_over_until_it_waits(
        _BlockedPool(warm=True), LIMIT, "one page over the limit did not wait for the pool"
    )
    assert sorted(o.value.url for o in out) == sorted(_page(i).final_url for i in range(LIMIT + 1))


def test_while_the_workers_start_the_runner_hands_over_more_pages() -> None:
    # A warm pool would hold the runner at LIMIT pages; a starting one lets it hand over
    # (at least) four times as many before it waits.
    ahead = max(4 * LIMIT, LIMIT * stage._WARMING_FACTOR)
    out = _hand_over_until_it_waits(
        _BlockedPool(warm=False), ahead, "the warming allowance has no cap"
    )
    # Nothing is lost or repeated across the window, in either state.
    urls = [o.value.url for o in out]
    assert sorted(urls) == sorted(_page(i).final_url for i in range(ahead + 1))
    assert all(isinstance(o.value, Article) for o in out)


def test_the_warming_allowance_stops_at_its_size_in_html(monkeypatch) -> None:
    # Pages of 8 characters and a cap of 20: the third page is over it, so the runner
    # waits there as it would for a warm pool (LIMIT pages), not at LIMIT * 8.
    monkeypatch.setattr(stage, "_WARMING_MAX_CHARS", 20)
    assert len(_page(0).html) == 8
    out = _hand_over_until_it_waits(
        _BlockedPool(warm=False), LIMIT, "pages past the size cap did not wait for the pool"
    )
    assert len(out) == LIMIT + 1
