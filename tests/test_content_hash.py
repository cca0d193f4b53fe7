"""content_hash: copies that differ only in Unicode form, case or spacing hash alike."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.extract.stage import content_hash


def _by_definition(text: str) -> str:
    normalized = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


def test_form_case_and_spacing_do_not_change_the_hash() -> None:
    plain = "Tokyo (Reuters) - The yen fell on Tuesday."
    variants = [
        "  tokyo (REUTERS) -  The yen\u00a0fell on\n\nTuesday. ",
        "Ｔｏｋｙｏ (Reuters) - The yen fell on Tuesday.",  # full-width letters (NFKC)
        "Tokyo (Reuters) -\tThe yen fell on Tuesday.\u2028",
    ]
    assert {content_hash(v) for v in variants} == {content_hash(plain)}
    assert content_hash(plain) != content_hash(plain.replace("fell", "rose"))


@given(st.text(max_size=400))
@settings(max_examples=400, deadline=None)
def test_the_hash_is_the_documented_normalization(text: str) -> None:
    assert content_hash(text) == _by_definition(text)
