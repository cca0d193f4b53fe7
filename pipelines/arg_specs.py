"""Beam's question "what arguments does this function take?", answered once per function.

Beam reads a function's argument names and defaults
(``apache_beam.transforms.core.get_function_args_defaults``, an ``inspect.signature``
each time) when it makes a ParDo, and again for every method of every DoFn each time a
bundle processor is set up: on the 1,068-page bench, 7,002 questions about 157
functions, 0.070 s of the run process's CPU on its serial path (graph building, then
the set-up of each of ~30 stages).

The answer follows from the function's signature, which does not change once the
function exists. :func:`remember_function_arguments` makes Beam's function keep it per
plain function and per method's function (weakly: the answer goes when the function
goes) and hand out copies. Other callables (partials, callable objects, builtins) are
asked every time, as before.

Example::

    >>> from apache_beam.transforms import core
    >>> args_of = ArgumentsPerFunction(core.get_function_args_defaults)
    >>> def visit(element, window=None, *rest, **named):
    ...     return element
    >>> args_of(visit) == core.get_function_args_defaults(visit) == (["element", "window"], [None])
    True
    >>> args_of(visit) is not args_of(visit), args_of.answers_kept
    (True, 1)
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from apache_beam.transforms import core

__all__ = ["ArgumentsPerFunction", "remember_function_arguments"]

_Answer = tuple[list[str], list[Any]]
_install_lock = threading.Lock()


class ArgumentsPerFunction:
    """``read_arguments`` (Beam's ``get_function_args_defaults``), answering again from
    memory for a function, or a method of a function, it has already read."""

    def __init__(self, read_arguments: Callable[[Any], _Answer]) -> None:
        self._read = read_arguments
        # A bound method's answer leaves out its first argument: kept apart by "bound".
        self._answers: dict[
            bool, weakref.WeakKeyDictionary[Any, tuple[tuple[str, ...], tuple[Any, ...]]]
        ] = {
            True: weakref.WeakKeyDictionary(),
            False: weakref.WeakKeyDictionary(),
        }
        self._lock = threading.Lock()
        # Name and docstring only (see dofn_specs: not the wrapped object's memory).
        functools.update_wrapper(self, read_arguments, updated=())

    @property
    def answers_kept(self) -> int:
        return sum(len(answers) for answers in self._answers.values())

    def __call__(self, f: Any) -> _Answer:
        if isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
            key, bound = f.__func__, True
        elif isinstance(f, types.FunctionType):
            key, bound = f, False
        else:  # partials, callable objects, builtins: as Beam does, every time
            return self._read(f)
        with self._lock:
            kept = self._answers[bound].get(key)
        if kept is None:
            args, defaults = self._read(f)
            kept = (tuple(args), tuple(defaults))
            with self._lock:
                self._answers[bound][key] = kept
        return list(kept[0]), list(kept[1])  # copies: a caller may change what it gets


def remember_function_arguments() -> None:
    """Make Beam's ``core.get_function_args_defaults`` an :class:`ArgumentsPerFunction`
    in this process (once; later calls change nothing). Its callers (``core`` itself,
    and ``runners.common`` through ``core.get_function_arguments``) look it up on the
    module at each call, so they all see it."""
    with _install_lock:
        if not isinstance(core.get_function_args_defaults, ArgumentsPerFunction):
            core.get_function_args_defaults = ArgumentsPerFunction(core.get_function_args_defaults)
