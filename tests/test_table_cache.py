"""The start-up table cache: a hit equals a fresh build; anything odd just rebuilds."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import pytest

from wiredesk.transforms.common.table_cache import cache_dir, cached_table
from wiredesk.transforms.enrich import geo


class Builder:
    def __init__(self, value: object) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        return self.value


def test_a_second_call_reads_the_cache(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text("[1]")
    build = Builder({"paris": (("FR", 2_100_000, True),)})
    first = cached_table("t", build, inputs=[data], directory=tmp_path / "c")
    second = cached_table("t", build, inputs=[data], directory=tmp_path / "c")
    assert first == second == build.value
    assert build.calls == 1


def test_a_changed_input_rebuilds_and_drops_the_old_file(tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_text("[1]")
    folder = tmp_path / "c"
    cached_table("t", Builder({"a": 1}), inputs=[data], directory=folder)
    data.write_text("[1, 2]")  # another size: another key
    build = Builder({"a": 2})
    assert cached_table("t", build, inputs=[data], directory=folder) == {"a": 2}
    assert build.calls == 1
    assert len(list(folder.glob("t-*.marshal"))) == 1


def test_a_corrupt_file_is_rebuilt(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    cached_table("t", Builder({"a": 1}), inputs=[], directory=folder)
    (path,) = folder.glob("t-*.marshal")
    path.write_bytes(marshal.dumps({"a": 1})[:5])  # truncated mid-write by something else
    build = Builder({"a": 1})
    assert cached_table("t", build, inputs=[], directory=folder) == {"a": 1}
    assert build.calls == 1


def test_an_unwritable_cache_only_costs_the_build(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    build = Builder([1, 2])
    assert cached_table("t", build, inputs=[], directory=blocker / "c") == [1, 2]
    assert cached_table("t", build, inputs=[], directory=blocker / "c") == [1, 2]
    assert build.calls == 2


def test_off_switch_and_default_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREDESK_CACHE_DIR", "off")
    assert cache_dir() is None
    monkeypatch.delenv("WIREDESK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache_dir() == Path("/somewhere/wiredesk")


def test_the_cached_gazetteer_equals_a_fresh_build() -> None:
    geo._gazetteer.cache_clear()
    try:
        from_cache = geo._gazetteer()  # the session cache is warm or gets written now
        geo._gazetteer.cache_clear()
        again = geo._gazetteer()
    finally:
        geo._gazetteer.cache_clear()
    folder = geo._geonames_dir()
    assert folder is not None
    cities, capitals, big = geo._build_gazetteer(folder)
    assert (from_cache.cities, from_cache.capitals, from_cache.big_cities) == (
        cities,
        capitals,
        big,
    )
    assert again == from_cache
    assert any(Path(os.environ["WIREDESK_CACHE_DIR"]).glob("gazetteer-*.marshal"))


def test_docstring_example() -> None:
    import doctest

    from wiredesk.transforms.common import table_cache

    assert doctest.testmod(table_cache).failed == 0
