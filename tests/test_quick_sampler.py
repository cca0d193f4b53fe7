"""QuickStopStateSampler: local bundles sample every 10 ms; managed runners keep Beam's."""

from __future__ import annotations

from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.worker import statesampler
from apache_beam.testing.util import assert_that, equal_to

from wiredesk.pipelines.quick_sampler import (
    LOCAL_SAMPLING_PERIOD_MS,
    QuickStopStateSampler,
    use_quick_stop_sampler,
)
from wiredesk.pipelines.run import _runner_for

# Beam's own class, whether or not this process has already swapped it.
BEAMS = statesampler.StateSampler
while issubclass(BEAMS, QuickStopStateSampler):
    BEAMS = BEAMS.__mro__[1]


class _SeeTheSampler(beam.DoFn):
    def process(self, element: Any) -> Any:
        tracker = statesampler.get_current_tracker()
        yield (
            element,
            type(tracker).__name__,
            tracker.sampling_period_ms,
            str(tracker.current_state().name.step_name),
        )


def test_a_local_run_samples_with_the_short_period(monkeypatch):
    monkeypatch.setattr(statesampler, "StateSampler", BEAMS)
    with beam.Pipeline(runner=_runner_for(PipelineOptions([]))) as p:
        seen = p | beam.Create([1, 2]) | "See" >> beam.ParDo(_SeeTheSampler())
        assert_that(
            seen | beam.MapTuple(lambda n, kind, period, _step: (n, kind, period)),
            equal_to(
                [
                    (1, "QuickStopStateSampler", LOCAL_SAMPLING_PERIOD_MS),
                    (2, "QuickStopStateSampler", LOCAL_SAMPLING_PERIOD_MS),
                ]
            ),
        )
        # It still charges the time to the step that runs (Beam's msec counters).
        assert_that(
            seen | beam.MapTuple(lambda _n, _kind, _period, step: "See" in step),
            equal_to([True, True]),
            label="ChargedToTheStep",
        )


def test_a_managed_runner_keeps_beams_sampler(monkeypatch):
    monkeypatch.setattr(statesampler, "StateSampler", BEAMS)
    assert _runner_for(PipelineOptions(["--runner", "DataflowRunner"])) is None
    assert statesampler.StateSampler is BEAMS


def test_installing_twice_swaps_once(monkeypatch):
    monkeypatch.setattr(statesampler, "StateSampler", BEAMS)
    use_quick_stop_sampler()
    use_quick_stop_sampler()
    assert statesampler.StateSampler is QuickStopStateSampler
    assert QuickStopStateSampler.__mro__[1] is BEAMS


def test_a_period_asked_for_is_kept():
    from apache_beam.utils.counters import CounterFactory

    assert (
        QuickStopStateSampler("s", CounterFactory(), sampling_period_ms=50).sampling_period_ms == 50
    )
