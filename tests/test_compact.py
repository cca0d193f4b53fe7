"""``wiredesk compact``: merge correctness, readers during the swap, crashes at every step."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time

import duckdb
import pyarrow.parquet as pq
import pytest

from wiredesk.cli import main
from wiredesk.compact import (
    WORK_DIR,
    CompactError,
    compact_output,
    exchange_paths,
    parse_duration,
)
from wiredesk.schemas.tables import TABLE_SCHEMAS
from wiredesk.transforms.io.state_store import STATE_SCHEMAS, latest_feed_rows, read_state_rows
from wiredesk.transforms.io.write_table import partition_dir, write_rows_atomically

AT = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
FUTURE = time.time() + 3600  # "now" for compaction: every file is old enough
PARTITIONS = [
    (dt.date(2024, 5, 1), "western-europe"),
    (dt.date(2024, 5, 1), "eastern-asia"),
    (dt.date(2024, 4, 30), "unknown"),
]


class Writer:
    """Writes small article files like the streaming cycles do, counting rows."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.rows = 0  # rows whose file is complete and visible
        self.upper = 0  # rows that may be visible (a write in flight)
        self.files = 0
        self.lock = threading.Lock()

    def write(self, day: dt.date, region: str, n: int) -> str:
        with self.lock:
            start = self.upper
            self.upper += n
            self.files += 1
            name = f"part-r{self.files:05d}-0000-000.parquet"
        rows = [
            {
                "story_id": f"s{start + i}",
                "url": f"https://example.com/{start + i}",
                "title": f"t{start + i}",
                "fetched_at": AT,
                "authors": ["A"],
                "word_count": 3,
            }
            for i in range(n)
        ]
        path = os.path.join(partition_dir(self.out, "articles", day, region), name)
        write_rows_atomically(rows=rows, schema=TABLE_SCHEMAS["articles"], path=path)
        with self.lock:
            self.rows += n
        return path


def _count(out: str) -> int:
    glob = f"{out}/articles/**/*.parquet"
    return duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)"
    ).fetchall()[0][0]


def _urls(out: str) -> list[str]:
    glob = f"{out}/articles/**/*.parquet"
    rows = duckdb.sql(
        f"SELECT url FROM read_parquet('{glob}', hive_partitioning=true) ORDER BY url"
    ).fetchall()
    return [r[0] for r in rows]


def _files(folder: str) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".parquet"))


def _populate(out: str, files_per_partition: int = 4, rows: int = 3) -> Writer:
    writer = Writer(out)
    for day, region in PARTITIONS:
        for _ in range(files_per_partition):
            writer.write(day, region, rows)
    return writer


def test_merges_each_partition_into_one_file(tmp_path):
    out = str(tmp_path / "out")
    writer = _populate(out)
    before = _urls(out)
    report = compact_output(output=out, older_than="0", now=FUTURE)
    assert report.partitions == 3 and report.files_before == 12 and report.files_after == 3
    assert report.rows == writer.rows == 36
    assert _urls(out) == before  # same rows, none twice
    for day, region in PARTITIONS:
        folder = partition_dir(out, "articles", day, region)
        (name,) = _files(folder)
        assert name.startswith("part-compact-")
        assert pq.read_schema(os.path.join(folder, name)).equals(TABLE_SCHEMAS["articles"])
    # Hive columns still come from the folders.
    regions = duckdb.sql(
        f"SELECT region, count(*) FROM read_parquet('{out}/articles/**/*.parquet', "
        "hive_partitioning=true) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert regions == [("eastern-asia", 12), ("unknown", 12), ("western-europe", 12)]
    assert os.listdir(os.path.join(out, WORK_DIR)) == [".lock"]
    assert "compacted 3 folders: 12 files -> 3" in str(report)
    # Nothing left to do the second time.
    assert compact_output(output=out, older_than="0", now=FUTURE).partitions == 0


def test_only_files_older_than_the_cutoff_are_merged(tmp_path):
    out = str(tmp_path / "out")
    writer = _populate(out, files_per_partition=3)
    day, region = PARTITIONS[0]
    folder = partition_dir(out, "articles", day, region)
    old = time.time() - 7200
    for name in _files(folder):
        os.utime(os.path.join(folder, name), (old, old))
    fresh = os.path.basename(writer.write(day, region, 2))
    report = compact_output(output=out, older_than="1h")
    assert report.partitions == 1  # the other partitions are all fresh
    names = _files(folder)
    assert len(names) == 2 and fresh in names
    assert _count(out) == writer.rows


def test_state_is_merged_and_feeds_keep_the_newest_row(tmp_path):
    out = str(tmp_path / "out")
    state = os.path.join(out, "_state")
    for i in range(3):
        write_rows_atomically(
            rows=[{"key": f"url:{i}-{j}", "day": AT.date()} for j in range(4)],
            schema=STATE_SCHEMAS["seen"],
            path=os.path.join(state, "seen", f"part-r{i}.parquet"),
        )
    # A feeds file from before schedules existed, then two newer ones.
    old_schema = STATE_SCHEMAS["feeds"].remove(STATE_SCHEMAS["feeds"].get_field_index("polls"))
    write_rows_atomically(
        rows=[{"feed_url": "a", "day": AT.date(), "etag": "1", "polled_at": AT}],
        schema=old_schema,
        path=os.path.join(state, "feeds", "part-r0.parquet"),
    )
    for i in (1, 2):
        rows = [
            {"feed_url": url, "day": AT.date(), "etag": str(i), "polled_at": AT + dt.timedelta(i)}
            for url in ("a", "b")
        ]
        rows[0]["polls"] = i
        write_rows_atomically(
            rows=rows,
            schema=STATE_SCHEMAS["feeds"],
            path=os.path.join(state, "feeds", f"part-r{i}.parquet"),
        )
    report = compact_output(output=out, older_than="0", now=FUTURE)
    assert report.partitions == 2
    seen = read_state_rows(output=out, kind="seen")
    assert sorted(r["key"] for r in seen) == sorted(
        f"url:{i}-{j}" for i in range(3) for j in range(4)
    )
    feeds = read_state_rows(output=out, kind="feeds")
    assert len(_files(os.path.join(state, "feeds"))) == 1
    assert len(feeds) == 2
    latest = latest_feed_rows(feeds)
    assert latest["a"]["etag"] == "2" and latest["a"]["polls"] == 2
    assert latest["b"]["etag"] == "2"


def test_readers_never_see_a_row_twice_or_miss_one(tmp_path):
    # Known to fail rarely: DuckDB stats the names of a folder listing by path, and a
    # listing that straddles a swap stats the old names in the new folder and skips them
    # (wiredesk/compact.py, "Two windows are left"). Left failing on it, not loosened.
    out = str(tmp_path / "out")
    writer = _populate(out, files_per_partition=3, rows=2)
    stop = threading.Event()
    wrong: list[tuple[int, int, int]] = []
    ok = [0]
    failed = [0]

    def read() -> None:
        con = duckdb.connect()
        glob = f"{out}/articles/**/*.parquet"
        while not stop.is_set():
            low = writer.rows
            try:
                got = con.execute(
                    f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true)"
                ).fetchall()[0][0]
            except duckdb.Error:
                failed[0] += 1  # listed a source just before the swap: an error, not a wrong count
                continue
            high = writer.upper
            ok[0] += 1
            if not low <= got <= high:
                wrong.append((low, got, high))

    def write_more() -> None:
        i = 0
        while not stop.is_set():
            day, region = PARTITIONS[i % len(PARTITIONS)]
            writer.write(day, region, 1)
            i += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=read), threading.Thread(target=write_more)]
    for thread in threads:
        thread.start()
    try:
        rounds = 0
        deadline = time.monotonic() + 30
        while (rounds < 6 or ok[0] < 20) and time.monotonic() < deadline:
            compact_output(output=out, older_than="0", now=time.time() + 3600, grace_seconds=1.0)
            rounds += 1
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert wrong == []
    assert ok[0] >= 20 and rounds >= 6
    assert _count(out) == writer.rows
    assert len(set(_urls(out))) == writer.rows


def test_a_file_written_during_the_swap_is_kept(tmp_path):
    out = str(tmp_path / "out")
    writer = _populate(out)
    late: list[str] = []

    def hook(step: str, folder: str) -> None:
        # A writer renames a file in after the last listing, just before the swap.
        if step == "linked" and not late:
            day, region = PARTITIONS[0]
            if folder == partition_dir(out, "articles", day, region):
                late.append(writer.write(day, region, 5))

    compact_output(output=out, older_than="0", now=FUTURE, hook=hook)
    assert late and os.path.exists(late[0])
    assert _count(out) == writer.rows == 41
    assert len(set(_urls(out))) == 41


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["merged", "linked", "exchanged", "reconciled"])
def test_a_crash_at_any_step_leaves_a_consistent_output(tmp_path, step):
    out = str(tmp_path / "out")
    writer = _populate(out)
    expected = _urls(out)

    def crash(name: str, folder: str) -> None:
        if name == step:
            raise Crash(name)

    with pytest.raises(Crash):
        compact_output(output=out, older_than="0", now=FUTURE, hook=crash, grace_seconds=0)
    assert _urls(out) == expected  # consistent right after the crash
    assert _count(out) == writer.rows
    report = compact_output(output=out, older_than="0", now=FUTURE, grace_seconds=0)
    assert report.recovered == (1 if step in ("exchanged", "reconciled") else 0)
    assert _urls(out) == expected
    for day, region in PARTITIONS:
        assert len(_files(partition_dir(out, "articles", day, region))) == 1
    assert os.listdir(os.path.join(out, WORK_DIR)) == [".lock"]


def test_crash_after_the_swap_puts_late_arrivals_back(tmp_path):
    out = str(tmp_path / "out")
    writer = _populate(out)
    day, region = PARTITIONS[1]
    target = partition_dir(out, "articles", day, region)

    def crash(name: str, folder: str) -> None:
        if name == "linked" and folder == target:
            writer.write(day, region, 7)  # lands in the folder about to be swapped out
        if name == "exchanged" and folder == target:
            raise Crash(name)

    with pytest.raises(Crash):
        compact_output(output=out, older_than="0", now=FUTURE, hook=crash, grace_seconds=0)
    # The late file is in the swapped-out folder until recovery links it back.
    assert _count(out) == writer.rows - 7
    report = compact_output(output=out, older_than="0", now=FUTURE, grace_seconds=0)
    assert report.recovered == 1
    assert _count(out) == writer.rows == 43


def test_refuses_what_it_cannot_do_safely(tmp_path):
    with pytest.raises(CompactError, match="object stores"):
        compact_output(output="gs://bucket/out")
    with pytest.raises(CompactError, match="no such output"):
        compact_output(output=str(tmp_path / "missing"))
    with pytest.raises(CompactError, match="not a duration"):
        compact_output(output=str(tmp_path), older_than="soon")
    out = str(tmp_path / "out")
    _populate(out)
    os.makedirs(os.path.join(out, WORK_DIR), exist_ok=True)
    with open(os.path.join(out, WORK_DIR, ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(CompactError, match="another compaction"):
            compact_output(output=out, older_than="0")


def test_durations():
    assert parse_duration("90") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("1h") == 3600
    assert parse_duration("2d") == 172800
    assert parse_duration("1.5H") == 5400
    assert parse_duration(12) == 12
    for bad in ("", "h", "-1h", "1y", "1h30m"):
        with pytest.raises(CompactError):
            parse_duration(bad)


def test_exchange_swaps_two_folders(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("1")
    exchange_paths(str(a), str(b))
    assert os.listdir(a) == [] and os.listdir(b) == ["x"]
    with pytest.raises(OSError):
        exchange_paths(str(a), str(tmp_path / "missing"))


def test_cli(tmp_path, capsys):
    out = str(tmp_path / "out")
    _populate(out)
    assert main(["compact", out, "--older-than", "0"]) == 0
    assert "compacted 3 folders: 12 files -> 3 (36 rows)" in capsys.readouterr().out
    assert main(["compact", str(tmp_path / "nope")]) == 2
    assert "no such output folder" in capsys.readouterr().err
