"""SpecsPerDoFn: Beam's state-and-timer answer for a DoFn, read once, and always Beam's."""

from __future__ import annotations

import gc
from typing import Any

import apache_beam as beam
import pytest
from apache_beam.transforms import userstate
from apache_beam.transforms.timeutil import TimeDomain

from tests.support.graphs import CountingCalls, batch_graph, dofns_of, unbounded_graph
from wiredesk.pipelines.dofn_specs import SpecsPerDoFn

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


@pytest.mark.parametrize(("graph", "keeps_state"), [(batch_graph, False), (unbounded_graph, True)])
def test_every_dofn_of_wiredesk_graphs_gets_beams_answer(tmp_path, graph, keeps_state):
    dofns = dofns_of(graph(tmp_path))
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
    counting = CountingCalls(BEAMS)
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
    counting = CountingCalls(BEAMS)
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
