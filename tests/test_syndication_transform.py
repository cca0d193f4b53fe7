"""DetectSyndication (the Beam wrapper) on synthetic Articles with real story texts.

Canonical choice (agency copy, else earliest published), stories restored from
state rows, state rows only for what a run added, wire items linked by their
item id across versions and runs, and the metrics the run reports.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json
import pickle
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.schemas.records import Article
from wiredesk.transforms.common.metrics import NAMESPACE
from wiredesk.transforms.dedup import syndication as syndication_core
from wiredesk.transforms.dedup.signatures import sketch_text
from wiredesk.transforms.dedup.stage_syndication import (
    DetectSyndication,
    _is_agency_copy,
    assign_stories,
    link_key,
    one_doc_per_id,
)
from wiredesk.transforms.dedup.syndication import (
    DocInfo,
    SyndicationConfig,
    SyndicationIndex,
    _BandStore,
    assign_streaming,
    cluster_batch,
    decode_link,
    encode_link,
    story_id_for,
)

FIXTURE = Path(__file__).parent / "fixtures" / "syndication" / "syndication_docs.json.gz"
TODAY = dt.date(2024, 10, 24)
T0 = dt.datetime(2024, 10, 23, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Bodies of real, unrelated English stories (the originals of the quality fixtures)."""
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as f:
        docs = json.load(f)["docs"]
    out = [
        d["text"]
        for d in docs
        if d["variant"] == "original" and d["story"].startswith("aeb-") and len(d["text"]) > 1500
    ]
    assert len(out) >= 6
    return out[:6]


def _article(
    key: str,
    text: str,
    *,
    source: str = "Daily Post",
    hours: float = 0.0,
    agency: str | None = None,
    site_name: str | None = None,
    wire: dict[str, Any] | None = None,
) -> Article:
    when = T0 + dt.timedelta(hours=hours)
    return Article(
        url=f"http://{key}",
        url_key=key,
        canonical_url=f"http://{key}",
        source=source,
        feed_url="http://feed",
        title="A headline",
        text=text,
        published_at=when,
        fetched_at=when + dt.timedelta(minutes=5),
        agency=agency,
        site_name=site_name,
        is_wire=wire is not None,
        wire=wire,
    )


def _chrome(text: str) -> str:
    """A republication: the body between another outlet's caption and related links."""
    return (
        "Photo: the scene on Tuesday, as released by the agency.\n\n"
        + text
        + "\n\nRelated Articles\n\nCity council approves budget for next year"
    )


class _Collect(beam.DoFn):
    """Keep each element as a pickle file: the runner may run DoFns on copies, so
    results travel through the file system, not through test memory."""

    def __init__(self, folder: str) -> None:
        self._folder = folder

    def process(self, element: Any) -> Iterable[Any]:
        Path(self._folder, f"{uuid.uuid4().hex}.pkl").write_bytes(pickle.dumps(element))
        return []


def _collected(folder: Path) -> list[Any]:
    return [pickle.loads(f.read_bytes()) for f in sorted(folder.glob("*.pkl"))]


def _run(
    articles: list[Article], restored: Iterable[dict[str, Any]] = ()
) -> tuple[
    dict[str, tuple[str | None, float | None]],
    dict[str, tuple[str | None, float | None]],
    list[Any],
    Any,
]:
    """Run DetectSyndication; returns (canonical, duplicates, new state rows, metrics)."""
    tags = (DetectSyndication.ARTICLES, DetectSyndication.DUPLICATES, DetectSyndication.STORIES)
    with tempfile.TemporaryDirectory() as tmp:
        p = TestPipeline(runner=FnApiRunner())
        synd = (
            p
            | beam.Create(articles)
            | DetectSyndication(
                restored_stories=p | "Restored" >> beam.Create(list(restored)),
                today=TODAY,
                horizon_days=7,
            )
        )
        for tag in tags:
            Path(tmp, tag).mkdir()
            synd[tag] | f"Collect{tag}" >> beam.ParDo(_Collect(str(Path(tmp, tag))))
        result = p.run()
        result.wait_until_finish()
        got = {tag: _collected(Path(tmp, tag)) for tag in tags}
    canon = {a.url_key: (a.story_id, a.similarity) for a in got[DetectSyndication.ARTICLES]}
    dups = {a.url_key: (a.story_id, a.similarity) for a in got[DetectSyndication.DUPLICATES]}
    return canon, dups, got[DetectSyndication.STORIES], result.metrics()


def _counter(metrics: Any, name: str) -> int:
    found = metrics.query(MetricsFilter().with_namespace(NAMESPACE).with_name(name))["counters"]
    return sum(c.committed for c in found)


# One pipeline run for the batch rules, a second one restoring the first run's state.
RUN1_SOURCES = {
    "post.example/s0": "Daily Post",
    "reuters.example/s0": "Reuters",
    "b.example/s1": "Herald",
    "a.example/s1": "Gazette",
    "c.example/s1": "Tribune",
    "urn:x:kim#v1": "Wire Desk",
    "urn:x:kim#v2": "Wire Desk",
    "web.example/kim": "Courier",
}


def _wire(item_id: str, version: int, text: str, *, hours: float) -> Article:
    return _article(
        f"{item_id}#v{version}",
        text,
        source="Wire Desk",
        agency="Reuters",
        hours=hours,
        wire={"item_id": item_id, "version": str(version), "format": "ninjs-2.1"},
    )


@pytest.fixture(scope="module")
def run1(texts: list[str]) -> tuple[dict[str, Any], dict[str, Any], list[Any], Any]:
    src = RUN1_SOURCES
    docs = [
        # S0: the agency's own copy is published two hours after a republication.
        _article("post.example/s0", _chrome(texts[0]), source=src["post.example/s0"], hours=0),
        _article("reuters.example/s0", texts[0], source="Reuters", agency="Reuters", hours=2),
        # S1: no agency copy; the earliest is a copy trimmed to three paragraphs.
        _article("b.example/s1", _chrome(texts[1]), source="Herald", hours=3),
        _article("a.example/s1", texts[1], source="Gazette", hours=1),
        _article(
            "c.example/s1", "\n\n".join(texts[1].split("\n\n")[:3]), source="Tribune", hours=0.5
        ),
        # A wire item in two versions (the second rewritten: no text in common) and a
        # web republication of version 1 published before it.
        _wire("urn:x:kim", 2, texts[3], hours=4),
        _wire("urn:x:kim", 1, texts[2], hours=1),
        _article("web.example/kim", _chrome(texts[2]), source="Courier", hours=0),
    ]
    return _run(docs)


def test_agency_copy_is_canonical_over_an_earlier_republication(run1: Any) -> None:
    canon, dups, _rows, _m = run1
    sid = story_id_for("reuters.example/s0")
    assert canon["reuters.example/s0"] == (sid, 1.0)
    story_id, similarity = dups["post.example/s0"]
    assert story_id == sid and similarity is not None and 0 < similarity <= 1


def test_earliest_published_is_canonical_without_an_agency_copy(run1: Any) -> None:
    canon, dups, _rows, _m = run1
    sid = story_id_for("c.example/s1")
    assert canon["c.example/s1"] == (sid, 1.0)
    assert dups["a.example/s1"][0] == dups["b.example/s1"][0] == sid


def test_wire_versions_and_web_copies_are_one_story_with_the_wire_canonical(run1: Any) -> None:
    canon, dups, rows, metrics = run1
    sid = story_id_for("wire:urn:x:kim")
    assert canon["urn:x:kim#v1"] == (sid, 1.0)
    assert dups["urn:x:kim#v2"][0] == dups["web.example/kim"][0] == sid
    assert _counter(metrics, "duplicates_same_wire_item") == 1
    links = [(r["story_id"], decode_link(r["sketch"])) for r in rows if decode_link(r["sketch"])]
    assert links == [(sid, "wire:urn:x:kim")]


def test_every_article_is_placed_once_with_a_similarity(run1: Any) -> None:
    canon, dups, _rows, _m = run1
    assert sorted([*canon, *dups]) == sorted(RUN1_SOURCES)
    assert len(canon) == 3
    assert all(v[1] is not None and 0 < v[1] <= 1 for v in dups.values())


def test_metrics_count_stories_duplicates_and_sources(run1: Any) -> None:
    _canon, _dups, _rows, metrics = run1
    assert _counter(metrics, "articles_signed") == 8
    assert _counter(metrics, "stories_new") == 3
    assert _counter(metrics, "duplicates_found") == 5
    for name in ("reuters", "tribune", "wire_desk"):
        assert _counter(metrics, f"stories_from_{name}") == 1, name
    for name in ("daily_post", "herald", "gazette", "courier"):
        assert _counter(metrics, f"duplicates_from_{name}") == 1, name
    assert _counter(metrics, "duplicates_from_wire_desk") == 1


@pytest.fixture(scope="module")
def run2(
    texts: list[str], run1: Any
) -> tuple[list[dict[str, Any]], tuple[dict[str, Any], dict[str, Any], list[Any], Any]]:
    _canon, _dups, rows, _m = run1
    bad = [
        {"story_id": "st_x", "day": TODAY, "sketch": b"WK\x09a future link format"},
        {"story_id": "st_y", "day": TODAY, "sketch": b"junk"},
    ]
    docs = [
        _article("copy.example/s0", texts[0], source="Echo", hours=20),  # exact copy of S0
        _article("new.example/s4", texts[4], source="Echo", hours=21),
        # Version 3 of the wire item, in a later run, with yet another text.
        _wire("urn:x:kim", 3, texts[5], hours=22),
    ]
    return rows, _run(docs, restored=[*rows, *bad])


def test_state_rows_restore_the_first_runs_stories(run1: Any) -> None:
    _canon, _dups, rows, _m = run1
    index = SyndicationIndex.from_rows(rows)
    assert index.rejected_rows == 0
    assert index.story_for_key("wire:urn:x:kim") == story_id_for("wire:urn:x:kim")
    assert {story_id_for("reuters.example/s0"), story_id_for("c.example/s1")} <= set(
        index.story_ids()
    )
    bad = SyndicationIndex.from_rows([*rows, {"story_id": "x", "day": TODAY, "sketch": b"junk"}])
    assert bad.rejected_rows == 1


def test_a_restored_index_is_the_index_filed_copy_by_copy(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # from_rows hashes restored copies in chunks; the index must be the one that filing
    # each copy on its own (with its own keys) gives: entries, buckets and their order.
    monkeypatch.setattr(syndication_core, "_RESTORE_CHUNK", 4)  # several chunks
    one_by_one = SyndicationIndex()
    for n in range(3 * len(texts)):
        text = texts[n % len(texts)] if n % 3 else _chrome(texts[n % len(texts)])
        one_by_one.add(f"st_{n % 7}", sketch_text(text=text), TODAY - dt.timedelta(days=n % 5))
    rows = one_by_one.to_rows()
    assert len(rows) > 3 * 4
    restored = SyndicationIndex.from_rows(rows)
    assert restored.to_rows() == rows
    restored._bands._merge()
    one_by_one._bands._merge()
    assert restored._bands.keys.tolist() == one_by_one._bands.keys.tolist()
    assert restored._bands.vals.tolist() == one_by_one._bands.vals.tolist()


def test_copies_persisted_in_their_long_form_restore_as_their_filed_form(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row may hold a copy's whole sketch (every lede signature, not only the filed
    # ones): restoring it keeps the filed form, with the filed form's buckets.
    monkeypatch.setattr(syndication_core, "_RESTORE_CHUNK", 4)
    sketches = [sketch_text(text=t) for t in texts]
    assert any(s.filed() is not s for s in sketches)  # some are longer than filed

    def rows(form: Any) -> list[dict[str, Any]]:
        return [
            {"story_id": f"st_{n}", "day": TODAY, "sketch": form(s).to_bytes()}
            for n, s in enumerate(sketches)
        ]

    long_form = SyndicationIndex.from_rows(rows(lambda s: s))
    filed_form = SyndicationIndex.from_rows(rows(lambda s: s.filed()))
    assert long_form.to_rows() == filed_form.to_rows() == rows(lambda s: s.filed())
    long_form._bands._merge()
    filed_form._bands._merge()
    assert long_form._bands.keys.tolist() == filed_form._bands.keys.tolist()
    assert long_form._bands.vals.tolist() == filed_form._bands.vals.tolist()


def test_a_later_run_joins_restored_stories_and_keeps_only_its_new_rows(run2: Any) -> None:
    restored, (canon, dups, new_rows, _m) = run2
    assert dups["copy.example/s0"] == (story_id_for("reuters.example/s0"), 1.0)
    new_sid = story_id_for("new.example/s4")
    assert canon == {"new.example/s4": (new_sid, 1.0)}
    # Restored rows are on disk already: none is written again; an exact copy adds
    # nothing; the new story adds its sketch, the wire item's new version its text
    # and a refreshed link (a later day keeps it matchable longer).
    assert not [r for r in new_rows if r in restored]
    wire_sid = story_id_for("wire:urn:x:kim")
    assert {r["story_id"] for r in new_rows} == {new_sid, wire_sid}
    assert all(set(r) == {"story_id", "day", "sketch"} for r in new_rows)
    links = [decode_link(r["sketch"]) for r in new_rows if r["story_id"] == wire_sid]
    assert "wire:urn:x:kim" in links


def test_a_newer_wire_version_in_a_later_run_joins_the_first_runs_story(run2: Any) -> None:
    _restored, (_canon, dups, _rows, metrics) = run2
    story_id, similarity = dups["urn:x:kim#v3"]
    assert story_id == story_id_for("wire:urn:x:kim")
    assert similarity is not None and 0 < similarity <= 1
    assert _counter(metrics, "duplicates_same_wire_item") == 1


def test_agency_spellings_make_an_agency_copy() -> None:
    base = _article("ap.example/a", "text", source="The Associated Press", agency="AP")
    assert _is_agency_copy(base)
    assert _is_agency_copy(dataclasses.replace(base, source="Feed", site_name="AP News"))
    assert not _is_agency_copy(dataclasses.replace(base, source="Daily Post", site_name=None))
    assert not _is_agency_copy(dataclasses.replace(base, agency=None))
    wire = dataclasses.replace(base, agency=None, wire={"item_id": "x"}, is_wire=True)
    assert _is_agency_copy(wire)


def test_link_key_is_the_version_less_item_id(texts: list[str]) -> None:
    assert link_key(_wire("urn:x:1", 3, texts[0], hours=0)) == "wire:urn:x:1"
    assert link_key(_article("post.example/a", texts[0])) is None
    bad = dataclasses.replace(_wire("urn:x:1", 1, "t", hours=0), wire={"item_id": 7})
    assert link_key(bad) is None
    assert decode_link(encode_link("wire:urn:x:1")) == "wire:urn:x:1"
    assert decode_link(sketch_text(text=texts[0]).to_bytes()) is None
    assert decode_link(b"WK\x09junk") is None


def test_assert_that_sees_one_output_per_article(texts: list[str]) -> None:
    docs = [
        _article("reuters.example/q", texts[3], source="Reuters", agency="Reuters"),
        _article("post.example/q", _chrome(texts[3]), hours=1),
    ]
    sid = story_id_for("reuters.example/q")
    with TestPipeline(runner=FnApiRunner()) as p:
        synd = (
            p
            | beam.Create(docs)
            | DetectSyndication(
                restored_stories=p | "NoState" >> beam.Create([]), today=TODAY, horizon_days=7
            )
        )
        assert_that(
            synd[DetectSyndication.ARTICLES]
            | "CanonKeys" >> beam.Map(lambda a: (a.url_key, a.story_id)),
            equal_to([("reuters.example/q", sid)]),
            label="Canonical",
        )
        assert_that(
            synd[DetectSyndication.DUPLICATES]
            | "DupKeys" >> beam.Map(lambda a: (a.url_key, a.story_id)),
            equal_to([("post.example/q", sid)]),
            label="Duplicates",
        )


def test_assign_stories_takes_docs_with_and_without_a_link_key(texts: list[str]) -> None:
    blob = sketch_text(text=texts[0]).to_bytes()
    other = sketch_text(text=texts[4]).to_bytes()
    when = T0
    assigned, rows = assign_stories(
        [
            ("a.example/1", blob, False, when, 0),
            ("urn:y#v1", other, True, when, 1, "wire:urn:y"),
            ("urn:y#v2", blob, True, when + dt.timedelta(hours=1), 2, "wire:urn:y"),
        ],
        [],
        today=TODAY,
        horizon_days=7,
    )
    got = dict(assigned)
    sid = story_id_for("wire:urn:y")
    assert got["urn:y#v1"]["canonical"] and got["urn:y#v1"]["story_id"] == sid
    assert got["urn:y#v2"]["kind"] == "same_item" and not got["urn:y#v2"]["canonical"]
    # The web page republishes version 2's text: it joins the wire item's story too.
    assert got["a.example/1"]["story_id"] == sid and not got["a.example/1"]["canonical"]
    assert [decode_link(r["sketch"]) for r in rows].count("wire:urn:y") == 1


def test_one_url_twice_gets_one_assignment_for_its_last_fetched_copy(texts: list[str]) -> None:
    # Pages from two WARC files (or a feed and a WARC) can repeat a URL. Each URL must get
    # one assignment, made for the copy the join keeps: two assignments for one URL let
    # the join pair an article with either, and both copies could end up duplicates.
    old = sketch_text(text=texts[0]).to_bytes()
    new = sketch_text(text=texts[0] + "\n\nThis story has been updated.").to_bytes()
    docs = [
        ("a.example/1", old, False, T0, 10),
        ("b.example/2", old, False, T0, 11),
        ("a.example/1", new, False, T0, 20),  # the later capture of a.example/1
        ("a.example/1", old, False, T0, 10),  # the very same capture twice
    ]
    kept = one_doc_per_id(docs)
    assert sorted((d[0], d[4]) for d in kept) == [("a.example/1", 20), ("b.example/2", 11)]

    assigned, _rows = assign_stories(docs, [], today=TODAY, horizon_days=7)
    ids = [doc_id for doc_id, _ in assigned]
    assert sorted(ids) == ["a.example/1", "b.example/2"]
    assert sum(a["canonical"] for _, a in assigned) == 1  # one story, one canonical copy


# -- the core's bucket store and links (pure) -----------------------------------------------


class _StoreAndTruth:
    """A _BandStore and a plain dict fed the same random additions (even keys drawn
    from a pool, so that odd keys are never added)."""

    def __init__(self, seed: int, pool_size: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.store = _BandStore()
        self.truth: dict[int, list[int]] = {}
        self.pool = self.rng.integers(0, 2**63, size=pool_size, dtype=np.uint64) * np.uint64(2)

    def add(self, entry: int, n_keys: int) -> np.ndarray:
        keys = self.pool[self.rng.integers(0, len(self.pool), size=n_keys)]
        self.store.add(entry, keys)
        for k in keys.tolist():
            self.truth.setdefault(k, []).append(entry)
        return keys


def test_bucket_store_finds_what_a_dict_finds_across_merges() -> None:
    fed = _StoreAndTruth(3, pool_size=30_000)
    rng, store, truth, pool = fed.rng, fed.store, fed.truth, fed.pool
    for entry in range(3_000):
        fed.add(entry, 44)
    assert len(store.keys) > 0 and store.n_pending  # both the merged array and recent adds
    for _ in range(300):
        q = np.unique(
            np.concatenate(
                [pool[rng.integers(0, len(pool), size=40)], rng.integers(0, 2**63, 4, np.uint64)]
            )
        )
        want = [e for k in q.tolist() for e in truth.get(k, ())]
        assert sorted(store.query(q).tolist()) == sorted(want)
        small = [e for k in q.tolist() for e in truth.get(k, ()) if len(truth[k]) <= 5]
        assert sorted(store.query(q, max_bucket=5).tolist()) == sorted(small)
    # Asking twice for one bucket finds it once.
    twice = np.concatenate([pool[:3], pool[:3]])
    assert sorted(store.query(twice).tolist()) == sorted(
        e for k in pool[:3].tolist() for e in truth.get(k, ())
    )


def test_bucket_store_keeps_insertion_order_whether_adds_meet_lookups_or_not() -> None:
    # Additions wait as arrays until a lookup files them under their keys or a merge
    # takes them whole; either way each bucket lists its entries in the order added,
    # and every lookup finds what a dict would.
    fed = _StoreAndTruth(7, pool_size=4_000)
    rng, store, truth, pool = fed.rng, fed.store, fed.truth, fed.pool
    for entry in range(2_500):
        if entry % 10 == 0:  # a key twice in one addition counts twice, as before
            twice = fed.pool[entry : entry + 1]
            store.add(entry, np.concatenate([twice, twice]))
            truth.setdefault(int(twice[0]), []).extend([entry, entry])
        else:
            fed.add(entry, 40)
        if rng.random() < 0.3:  # lookups between some additions only
            q = pool[rng.integers(0, len(pool), size=30)]
            want = [e for k in set(q.tolist()) for e in truth.get(k, ())]
            assert sorted(store.query(q).tolist()) == sorted(want)
    store._merge()
    assert not store.pending and not store.unfiled and store.n_pending == 0
    for k, entries in truth.items():
        assert store.vals[store.keys == np.uint64(k)].tolist() == entries


def test_copies_match_when_full_buckets_are_skipped(texts: list[str]) -> None:
    # Different stories ending with the same credit paragraph stay apart, and a copy
    # in new chrome is still found when every bucket shared by more than two
    # entries is left out (its own story's buckets hold one entry each).
    credit = " ".join(texts[5].split()[:40])
    index = SyndicationIndex(SyndicationConfig(max_bucket_size=2))
    words = " ".join(texts[:5]).split()
    n = min(10, len(words) // 150)
    bodies = [" ".join(words[150 * k : 150 * k + 150]) + "\n\n" + credit for k in range(n)]
    for k, body in enumerate(bodies):
        assign_streaming(DocInfo(doc_id=f"s{k}", sketch=sketch_text(text=body)), index, today=TODAY)
    assert n >= 6 and len(index) == n
    for k in (1, n - 1):
        found = index.match(sketch_text(text="Photo: the scene.\n\n" + bodies[k]))
        assert found is not None and found.story_id == story_id_for(f"s{k}")


def test_links_expire_with_the_horizon() -> None:
    index = SyndicationIndex(SyndicationConfig(horizon_days=2))
    assert index.link("wire:a", "st_a", TODAY - dt.timedelta(days=5))
    assert index.link("wire:b", "st_b", TODAY)
    assert not index.link("wire:b", "st_other", TODAY)  # the first story stays
    assert index.link("wire:b", "st_other", TODAY + dt.timedelta(days=1))  # refreshed
    assert index.story_for_key("wire:b") == "st_b"
    index.expire_horizon(TODAY)
    assert index.story_for_key("wire:a") is None and index.story_for_key("wire:b") == "st_b"
    rows = index.to_rows()
    assert [(r["story_id"], decode_link(r["sketch"])) for r in rows] == [("st_b", "wire:b")]
    assert SyndicationIndex.from_rows(rows).story_for_key("wire:b") == "st_b"


def test_versions_join_by_key_even_without_comparable_text(texts: list[str]) -> None:
    docs = [
        DocInfo(doc_id="u#v2", sketch=sketch_text(text=""), is_agency_copy=True,
                published_at=T0 + dt.timedelta(hours=2), link_key="wire:u"),
        DocInfo(doc_id="u#v1", sketch=sketch_text(text=texts[0]), is_agency_copy=True,
                published_at=T0, link_key="wire:u"),
        DocInfo(doc_id="u#v3", sketch=sketch_text(text=texts[1]), is_agency_copy=True,
                published_at=T0 + dt.timedelta(hours=3), link_key="wire:u"),
    ]  # fmt: skip
    index = SyndicationIndex()
    got = {a.doc_id: a for a in cluster_batch(docs, index=index, today=TODAY)}
    sid = story_id_for("wire:u")
    assert got["u#v1"].is_canonical and got["u#v1"].story_id == sid
    for v in ("u#v2", "u#v3"):
        assert got[v].story_id == sid and not got[v].is_canonical and got[v].kind == "same_item"
        assert 0 < got[v].similarity <= 1
    assert index.story_for_key("wire:u") == sid
    # Streaming: the first version seen stays canonical, the others join it.
    stream = SyndicationIndex()
    first = assign_streaming(docs[2], stream, today=TODAY)
    later = [assign_streaming(d, stream, today=TODAY) for d in docs[:2]]
    assert first.is_canonical and {a.story_id for a in later} == {first.story_id}
    assert not any(a.is_canonical for a in later)
