"""ViewCachingOptions: one view per options class, and views that behave as Beam's do."""

from __future__ import annotations

import copy

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
    TypeOptions,
)

from wiredesk.pipelines.options import ViewCachingOptions, WiredeskOptions


def test_a_view_is_made_once_and_reads_the_flags():
    options = ViewCachingOptions(["--direct_num_workers", "3", "--feeds", "f.txt"])
    assert options.view_as(DirectOptions) is options.view_as(DirectOptions)
    assert options.view_as(DirectOptions).direct_num_workers == 3
    assert options.view_as(WiredeskOptions).feeds == "f.txt"


def test_a_value_set_through_one_view_is_seen_by_every_view_and_by_plain_views():
    options = ViewCachingOptions([])
    options.view_as(StandardOptions).streaming = True
    assert options.view_as(StandardOptions).streaming is True
    assert PipelineOptions.view_as(options, StandardOptions).streaming is True
    assert options.get_all_options()["streaming"] is True


def test_a_deep_copy_hands_out_views_of_its_own_values():
    # beam.Pipeline deep-copies the options it is given.
    options = ViewCachingOptions([])
    options.view_as(TypeOptions).pipeline_type_check = True
    copied = copy.deepcopy(options)
    copied.view_as(TypeOptions).pipeline_type_check = False
    assert options.view_as(TypeOptions).pipeline_type_check is True
    assert copied.view_as(TypeOptions).pipeline_type_check is False


def test_a_pipeline_built_with_them_runs_with_the_flags_given():
    options = ViewCachingOptions(["--runner", "DirectRunner", "--no_pipeline_type_check"])
    with beam.Pipeline(options=options) as p:
        assert p.options.view_as(TypeOptions).pipeline_type_check is False
        assert isinstance(p.options, ViewCachingOptions)
        _ = p | beam.Create([1, 2]) | beam.Map(lambda x: x * 2)
