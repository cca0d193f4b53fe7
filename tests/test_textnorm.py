"""normalize_text, the first step of every signature: pinned to its definition."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.dedup.textnorm import normalize_text

_INVISIBLES = "\u00ad\u200b\u200c\u200d\u2060\ufeff"


def _by_definition(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(f"[{_INVISIBLES}]", "", text)
    text = text.replace("%", " percent ")
    return re.sub(r"\bper\s+cent\b", "percent", text)


def test_per_cent_spelled_out_only_as_whole_words() -> None:
    assert normalize_text("Up 5 Per  Cent, per\ncent; 3%") == "up 5 percent, percent; 3 percent "
    assert normalize_text("super centre, per centum, recent") == "super centre, per centum, recent"


_PIECES = st.sampled_from(["per", "cent", " ", "\n", "\u00a0", "su", "%", "\u200b", "Per", "x"])


@given(st.lists(_PIECES, max_size=12).map("".join) | st.text(max_size=120))
@settings(max_examples=400, deadline=None)
def test_normalize_text_is_its_definition(text: str) -> None:
    assert normalize_text(text) == _by_definition(text)
