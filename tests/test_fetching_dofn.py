"""FetchingDoFn makes its fetcher at the first use, once, whichever thread asks first."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from wiredesk.transforms.fetch.stage_fetcher import FetchingDoFn, FetchSettings


class _Made:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[_Made]:
    fetchers: list[_Made] = []

    def make(self: FetchSettings) -> Any:
        time.sleep(0.05)  # a TLS context takes a while: the other threads ask meanwhile
        fetchers.append(_Made())
        return fetchers[-1]

    monkeypatch.setattr(FetchSettings, "make_fetcher", make)
    return fetchers


def test_a_stage_that_fetches_nothing_makes_no_fetcher(made: list[_Made]) -> None:
    fn = FetchingDoFn(FetchSettings())
    fn.setup()
    fn.teardown()
    assert made == []


def test_the_first_use_makes_one_fetcher_for_every_thread(made: list[_Made]) -> None:
    fn = FetchingDoFn(FetchSettings())
    fn.setup()
    start = threading.Barrier(8)
    seen: list[Any] = []

    def use() -> None:
        start.wait()
        seen.append(fn._fetcher)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and all(f is made[0] for f in seen)
    fn.teardown()
    assert made[0].closed
