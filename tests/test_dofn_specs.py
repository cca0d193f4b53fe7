"""SpecsPerDoFn: Beam's state-and-timer answer for a DoFn, read once, and always Beam's."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain

from wiredesk.pipelines.dofn_specs import SpecsPerDoFn, remember_dofn_specs
from wiredesk.pipelines.graph import build_graph
from wiredesk.pipelines.options import RunConfig
from wiredesk.pipelines.run import run_cycle, without_construction_type_check
from wiredesk.pipelines.unbounded import build_unbounded_graph
from wiredesk.schemas.records import FeedSource

# Beam's own function, whether or not this process has already wrapped it.
BEAMS = getattr(userstate.get_dofn_specs, "__wrapped__", userstate.get_dofn_specs)


_SEEN = userstate.BagStateSpec("seen", beam.coders.StrUtf8Coder())
_LATER = userstate.TimerSpec("later", TimeDomain.WATERMARK)
_SEEN_PARAM = beam.DoFn.StateParam(_SEEN)
_LATER_PARAM = beam.DoFn.TimerParam(_LATER)


class _Stateful(beam.DoFn):
    def process(self, element: Any, seen: Any = _SEEN_PARAM, later: Any = _LATER_PARAM) -> Any:
        yield element

    @userstate.on_timer(_LATER)
    def fire(self, seen: Any = _SEEN_PARAM) -> Any:
        yield from seen.read()


class _Plain(beam.DoFn):
    def process(self, element: Any) -> Any:
        yield element


class _Counting:
    """Beam's function, counting how often it is really asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dofn: Any) -> Any:
        self.calls += 1
        return BEAMS(dofn)


def _dofns(p: beam.Pipeline) -> list[Any]:
    found: list[Any] = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node: Any) -> None:
            if isinstance(node.transform, beam.ParDo):
                found.append(node.transform.fn)

    p.visit(Visitor())
    return found


def _batch_graph(tmp_path: Path) -> beam.Pipeline:
    warc = tmp_path / "in.warc.gz"
    warc.write_bytes(b"")
    args = ["--warc", str(warc), "--output", str(tmp_path / "out"), "--once"]
    options = PipelineOptions(without_construction_type_check(args))
    p = beam.Pipeline(options=options)
    build_graph(p, RunConfig.from_options(options), [FeedSource(url="http://127.0.0.1:9/rss")])
    return p


def _unbounded_graph(tmp_path: Path) -> beam.Pipeline:
    p = beam.Pipeline(options=PipelineOptions(["--streaming", "--no_pipeline_type_check"]))
    config = RunConfig(feeds=None, output=str(tmp_path / "out"), streaming=True, run_id="t")
    build_unbounded_graph(p, config, [FeedSource(url="http://127.0.0.1:9/rss")])
    return p


@pytest.mark.parametrize(
    ("graph", "keeps_state"), [(_batch_graph, False), (_unbounded_graph, True)]
)
def test_every_dofn_of_wiredesk_graphs_gets_beams_answer(tmp_path, graph, keeps_state):
    dofns = _dofns(graph(tmp_path))
    specs = SpecsPerDoFn(BEAMS)
    stateful = 0
    for dofn in dofns:
        want = BEAMS(dofn)
        assert specs(dofn) == want
        assert specs(dofn) == want  # from memory
        stateful += bool(want[0] or want[1])
    assert len(dofns) > 30
    # The unbounded graph keeps state in Beam (the batch one in files): there the answers
    # compared are not all empty.
    assert (stateful > 0) is keeps_state


def test_a_dofn_is_read_once_and_its_state_and_timers_are_found():
    counting = _Counting()
    specs = SpecsPerDoFn(counting)
    dofn = _Stateful()
    for _ in range(5):
        state, timers = specs(dofn)
        assert state == {_SEEN}
        assert timers == {_LATER}
    assert counting.calls == 1
    # Beam's checks that use the answer still pass through it.
    userstate.validate_stateful_dofn(dofn)


def test_changing_an_answer_does_not_change_the_next_one():
    specs = SpecsPerDoFn(BEAMS)
    dofn = _Stateful()
    state, timers = specs(dofn)
    state.clear()
    timers.add("not a timer")
    again = specs(dofn)
    assert again == ({_SEEN}, {_LATER})


def test_a_new_dofn_is_read_again_even_where_an_old_one_lived():
    counting = _Counting()
    specs = SpecsPerDoFn(counting)
    for n in range(200):
        # Objects made and dropped in turn often reuse an address: each must be read.
        dofn = _Stateful() if n % 2 else _Plain()
        state, _ = specs(dofn)
        assert bool(state) == bool(n % 2)
        del dofn
    assert counting.calls == 200
    gc.collect()
    assert specs.answers_kept == 0  # nothing is kept for DoFns that are gone


def test_a_dofn_beam_refuses_is_refused_every_time():
    class Twice(beam.DoFn):
        def process(
            self,
            element: Any,
            a: Any = beam.DoFn.TimestampParam,
            b: Any = beam.DoFn.TimestampParam,
        ) -> Any:
            yield element

    specs = SpecsPerDoFn(BEAMS)
    for _ in range(2):
        with pytest.raises(ValueError, match="duplicate"):
            specs(Twice())


def test_installing_twice_wraps_once(monkeypatch):
    monkeypatch.setattr(userstate, "get_dofn_specs", BEAMS)
    remember_dofn_specs()
    installed = userstate.get_dofn_specs
    remember_dofn_specs()
    assert isinstance(installed, SpecsPerDoFn)
    assert userstate.get_dofn_specs is installed
    assert installed.__wrapped__ is BEAMS  # type: ignore[attr-defined]


def test_a_run_asks_through_it(tmp_path, monkeypatch):
    monkeypatch.setattr(userstate, "get_dofn_specs", BEAMS)
    warc = tmp_path / "empty.warc.gz"
    warc.write_bytes(b"")
    config = RunConfig(feeds=None, warc=[str(warc)], output=str(tmp_path / "out"))
    run_cycle(config=config, feeds=[])
    assert isinstance(userstate.get_dofn_specs, SpecsPerDoFn)
