"""GatherAll: one list of every element, per window; nothing for an empty input."""

from __future__ import annotations

import datetime as dt

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window

from wiredesk.transforms.common.stage_gather import GatherAll


def test_every_element_lands_in_one_list_once():
    rows = [{"n": n, "day": dt.date(2026, 12, 1 + n % 3)} for n in range(500)]
    with TestPipeline() as p:
        lists = p | beam.Create(rows) | GatherAll()
        assert_that(lists | beam.Map(len), equal_to([500]), label="OneList")
        assert_that(
            lists | beam.Map(lambda got: sorted(r["n"] for r in got)),
            equal_to([list(range(500))]),
            label="EachOnce",
        )


def test_repeated_elements_are_all_kept():
    with TestPipeline() as p:
        lists = p | beam.Create(["a", "a", "b"]) | GatherAll() | beam.Map(sorted)
        assert_that(lists, equal_to([["a", "a", "b"]]))


def test_an_empty_input_gives_no_list():
    with TestPipeline() as p:
        lists = p | beam.Create([]) | GatherAll()
        assert_that(lists, equal_to([]))


def test_each_window_gets_its_own_list():
    with TestPipeline() as p:
        lists = (
            p
            | beam.Create([(1, 5), (2, 15), (3, 16), (4, 65)])
            | beam.MapTuple(lambda n, at: window.TimestampedValue(n, at))
            | beam.WindowInto(window.FixedWindows(10))
            | GatherAll()
            | beam.Map(sorted)
        )
        assert_that(lists, equal_to([[1], [2, 3], [4]]))
