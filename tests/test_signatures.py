"""Normalization and sketches: what folds together, what stays apart, what persists."""

from __future__ import annotations

import gzip
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.dedup.signatures import (
    LshConfig,
    Sketch,
    SketchError,
    band_keys,
    filed_band_keys,
    sketch_text,
)
from wiredesk.transforms.dedup.syndication import compare_sketches
from wiredesk.transforms.dedup.textnorm import body_paragraphs, body_tokens, fold_house_style

FIXTURES = Path(__file__).parent / "fixtures" / "syndication"


def _docs() -> list[dict[str, str]]:
    with gzip.open(FIXTURES / "syndication_docs.json.gz", "rt", encoding="utf-8") as f:
        return json.load(f)["docs"]


def _seed_page() -> str:
    return next(d["text"] for d in _docs() if d["variant"] == "seed_page")


# -- textnorm ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Exports rose 5 per cent.", "Exports rose 5 percent."),
        ("Exports rose 5%.", "Exports rose 5 pct."),
        ("The U.S. said", "The US said"),
        ("It cost $3 mln", "It cost $3 million"),
        ("It cost $3bn", "It cost $3 billion"),
        ("It cost 1,200,000 yen", "It cost 1200000 yen"),
        ("“strategic deterrence”", '"strategic deterrence"'),
        ("Kim’s visit — a threat", "Kim's visit - a threat"),
        ("modernisation of defence", "modernization of defense"),
        ("the city centre", "the city center"),
        ("１３日午後９時", "13日午後9時"),
    ],
)
def test_house_style_folds_together(a: str, b: str) -> None:
    assert fold_house_style(a) == fold_house_style(b)


def test_numbers_are_kept() -> None:
    # Market wraps of different days differ in their numbers: they must not fold.
    assert fold_house_style("rose 1.2% to 38,123") != fold_house_style("rose 0.4% to 37,900")


def test_seed_page_chrome_is_stripped() -> None:
    paras = body_paragraphs(_seed_page())
    assert paras[0].startswith("North Korean leader Kim Jong Un has visited missile bases")
    assert paras[-1] == "KCNA did not specify when the visits took place."
    assert not any("POPULAR" in p or "13:01 JST" in p or "photo released" in p for p in paras)


@pytest.mark.parametrize(
    "dateline",
    [
        "SEOUL (Reuters) - ",
        "SEOUL, Oct 23 (Reuters) – ",
        "Berlin (dpa) - ",
        "Peine (dpa/lni) - ",
        "MEXICO CITY (AP) — ",
        "WASHINGTON, Oct. 23 - ",
    ],
)
def test_datelines_and_credits_are_stripped(dateline: str) -> None:
    body = "Officials met on Tuesday to discuss the new budget for the coming year."
    text = f"{dateline}{body}\n(Reporting by Jane Doe; Editing by John Roe)"
    assert body_tokens(text=text).tokens == body_tokens(text=body).tokens


def test_dateline_deep_in_text_does_not_cut_the_body() -> None:
    lines = [f"Paragraph {i} tells part of the story in enough words to matter." for i in range(8)]
    lines[6] = "【ソウル＝小池和樹】" + lines[6]
    assert len(body_paragraphs("\n".join(lines))) == 8


def test_script_detection() -> None:
    assert body_tokens(text="東京都で震度５弱の地震があった。").script == "char"
    assert body_tokens(text="新华社北京4月24日电 习近平主席致贺信").script == "char"
    assert body_tokens(text="이재명 후보는 15일 호남을 찾았다").script == "word"
    assert body_tokens(text="Die Grünen-Spitze tritt ab").script == "word"


# -- sketches ------------------------------------------------------------------


def test_sketch_roundtrip_and_pickle() -> None:
    s = sketch_text(text=_seed_page())
    assert Sketch.from_bytes(s.to_bytes()) == s
    assert pickle.loads(pickle.dumps(s)) == s
    assert len(s.filed().to_bytes()) < 1200  # compact: the state holds one per story


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (b"", "truncated"),
        (b"XX" + bytes(30), "bad_format"),
        (b"garbage" * 10, "bad_format"),
    ],
)
def test_bad_bytes_become_an_error_value(blob: bytes, reason: str) -> None:
    err = Sketch.from_bytes(blob)
    assert isinstance(err, SketchError) and err.reason == reason


def test_truncated_sketch_is_rejected() -> None:
    blob = sketch_text(text=_seed_page()).to_bytes()
    err = Sketch.from_bytes(blob[:-4])
    assert isinstance(err, SketchError) and err.reason == "bad_length"


def test_empty_and_bad_text_give_an_empty_sketch() -> None:
    for text in ("", "   \n  ", "--- !!! ---"):
        s = sketch_text(text=text)
        assert s.is_empty and len(band_keys(s)) == 0
    not_text: Any = None
    assert sketch_text(text=not_text).is_empty


def test_sketches_are_stable_across_processes() -> None:
    # Persisted state is compared with sketches made by later runs, on other workers:
    # nothing may depend on PYTHONHASHSEED or process state.
    code = (
        "import sys; from wiredesk.transforms.dedup.signatures import sketch_text;"
        "sys.stdout.write(sketch_text(text=sys.stdin.read()).to_bytes().hex())"
    )
    text = _seed_page()
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).parents[1])},
            cwd=Path(__file__).parents[1],
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {sketch_text(text=text).to_bytes().hex()}


def test_title_does_not_change_the_sketch() -> None:
    text = _seed_page()
    assert sketch_text(text=text, title="UPDATE 1-Kim visits bases") == sketch_text(text=text)


def test_trimmed_copy_shares_a_lede_bucket_despite_a_caption() -> None:
    paras = [
        f"Paragraph {i} of the report adds its own distinct facts about event {i}."
        for i in range(10)
    ]
    original = sketch_text(text="\n".join(paras))
    trimmed = sketch_text(
        text="A caption about a photo of the scene taken on Monday.\n" + "\n".join(paras[:3])
    )
    shared = set(band_keys(original).tolist()) & set(band_keys(trimmed).tolist())
    assert shared


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_sketch_never_raises_and_roundtrips(text: str) -> None:
    s = sketch_text(text=text)
    assert Sketch.from_bytes(s.to_bytes()) == s
    cmp = compare_sketches(s, s)
    assert cmp is None or cmp.exact


@given(
    st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=700),
    st.sampled_from([16, 64]),
)
@settings(max_examples=60, deadline=None)
def test_minhash_in_blocks_equals_the_whole_matrix(values: list[int], perms: int) -> None:
    import numpy as np

    from wiredesk.transforms.dedup.signatures import _hasher

    hasher = _hasher(perms, 1)
    shingles = np.array(values, dtype=np.uint64)
    if len(shingles) == 0:
        expected = np.full(perms, 0xFFFFFFFF, dtype=np.uint32)
    else:
        with np.errstate(over="ignore"):
            matrix = shingles[:, None] * hasher.a[None, :] + hasher.b[None, :]
        expected = (matrix.min(axis=0) >> np.uint64(32)).astype(np.uint32)
    assert (hasher(shingles) == expected).all()


def test_keys_hashed_together_are_each_sketchs_own_keys():
    # Every layout the fixtures give (scripts, paragraph counts, long and short bodies),
    # an empty sketch, and sketches filed for an index; one hashing pass for all.
    texts = [d["text"] for d in _docs()]
    texts += ["", "Too short.", "東京で大きな地震があった。" * 40, "Москва. " + "Слово " * 200]
    sketches = [sketch_text(text=t) for t in texts]
    sketches += [s.filed() for s in sketches]
    layouts = {(s.script, len(s.minhash), len(s.head_minhash)) for s in sketches}
    assert len(layouts) >= 6 and any(s.is_empty for s in sketches)
    for lsh in (LshConfig(), LshConfig(body_bands=16, body_rows=4, head_bands=2, head_rows=3)):
        together = filed_band_keys(sketches, lsh)
        for sketch, keys in zip(sketches, together, strict=True):
            assert keys.dtype.name == "uint64"
            assert keys.tolist() == band_keys(sketch, lsh).tolist()
