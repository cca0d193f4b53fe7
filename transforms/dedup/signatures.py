"""Compact, persistable near-duplicate signatures of a story body.

A :class:`Sketch` holds what syndication detection needs and nothing else:

* ``minhash``: a MinHash of the body's shingles (word 5-grams; character 5-grams
  for scripts without spaces), banded into LSH keys to find candidates with
  overlapping bodies;
* ``head_minhash``: small MinHashes of the first shingles from each of the first
  three body lines (the lede, and the lede again when a caption or headline sits
  above it), so that a copy trimmed to its first paragraphs is found although its
  whole-body Jaccard with the original is low;
* ``samples``: a content-defined sample of the shingle hashes *in document
  order* (about 1 in 2**shift), from which the verifier estimates containment
  both ways and where in each body the shared text starts;
* ``content_hash``: the hash of the normalized token sequence (exact copies);
* ``para_starts``: where each of the first paragraphs starts, as an index into
  ``samples``, so that the verifier can say *which paragraph* the shared text starts
  in, in each body (docs/syndication.md: a copy keeps the story's lede; a follow-up
  reuses paragraphs from after it, under text of its own).

Hashes are seed-fixed and process-independent (crc32 of tokens, multiply-shift
MinHash in numpy), so sketches persisted by one run compare with the next.

>>> from wiredesk.transforms.dedup.signatures import Sketch, sketch_text
>>> s = sketch_text(text="SEOUL (Reuters) - North Korean leader Kim Jong Un visited missile bases.")
>>> Sketch.from_bytes(s.to_bytes()) == s
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import zlib
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from wiredesk.transforms.dedup.textnorm import fold_token, raw_body

__all__ = [
    "LshConfig",
    "SketchConfig",
    "Sketch",
    "SketchError",
    "band_keys",
    "filed_band_keys",
    "sketch_text",
    "sketch_tokens",
]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

_MAGIC = b"WS"
# Format 1 had no paragraph starts; it is still read (state written by older runs stays
# matchable until it expires), and compared the way format 1 was.
_FORMAT = 2
_FORMATS = (1, 2)
_HEADER = struct.Struct("<2sBBBIQHHH")  # magic, format, script, shift, n_tokens, hash, 3 lengths
_PARAS = struct.Struct("<B")  # format 2: number of paragraph starts (uint16 each) after samples
_SCRIPTS = ("word", "char")


@dataclasses.dataclass(frozen=True)
class SketchConfig:
    """How a body is turned into a sketch. Changing it invalidates persisted sketches."""

    word_shingle: int = 5
    char_shingle: int = 5
    num_perm: int = 64
    head_perm: int = 16
    head_shingles: int = 40
    # Lede signatures start at each of the first lines of at least this many
    # tokens: a caption or a headline above the lede then costs one of them. The
    # index files the first ``lede_lines`` of a known copy; a lookup also tries the
    # next lines of the new copy, where a story's lede sits under new paragraphs
    # (a write-through update, a topped lede).
    lede_lines: int = 3
    lookup_lede_lines: int = 6
    lede_min_tokens: int = 8
    # Paragraph starts kept (lines of at least ``lede_min_tokens`` tokens; a shorter
    # line, such as a dateline or "Advertisement", belongs to the next paragraph).
    max_paragraphs: int = 8
    target_samples: int = 128
    max_shift: int = 6


@dataclasses.dataclass(frozen=True)
class LshConfig:
    """LSH banding. Body: 32 bands of 2 rows catch whole-body Jaccard down to ~0.2
    (P = 0.73 at 0.2, 0.95 at 0.3); lede: 4 bands of 4 rows on each lede signature
    (P = 0.88 at 0.8) catch a copy trimmed to its first paragraphs."""

    body_bands: int = 32
    body_rows: int = 2
    head_bands: int = 4
    head_rows: int = 4


DEFAULT_SKETCH_CONFIG = SketchConfig()
DEFAULT_LSH_CONFIG = LshConfig()


@dataclasses.dataclass(frozen=True)
class SketchError:
    """A sketch that could not be decoded (persisted state from elsewhere, truncated bytes)."""

    reason: str
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class Sketch:
    """The signature of one body. Picklable, hashable, ~0.8 KB as bytes for a 600-word body."""

    script: str  # "word" or "char"
    n_tokens: int
    shift: int  # samples keep shingle hashes whose low `shift` bits are zero
    content_hash: int
    minhash: bytes  # uint32 little-endian, num_perm values
    head_minhash: bytes  # uint32 little-endian, head_perm values per lede line (up to 3)
    samples: bytes  # uint32 little-endian, in document order
    # Index into samples where each of the first paragraphs starts (the first is 0);
    # empty for a format-1 sketch, which carried none.
    para_starts: tuple[int, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.n_tokens == 0

    def minhash_array(self) -> U32:
        return np.frombuffer(self.minhash, dtype="<u4")

    def head_array(self) -> U32:
        return np.frombuffer(self.head_minhash, dtype="<u4")

    def sample_array(self) -> U32:
        return np.frombuffer(self.samples, dtype="<u4")

    def filed(self, config: SketchConfig | None = None) -> Sketch:
        """The form an index keeps (and ``OUT/_state/stories`` persists): the lede
        signatures of the first ``lede_lines`` paragraphs only, which are all a known
        copy is filed and compared under; the new copy's other ones serve its lookup."""
        cfg = config or DEFAULT_SKETCH_CONFIG
        keep = cfg.lede_lines * cfg.head_perm * 4
        if len(self.head_minhash) <= keep:
            return self
        return dataclasses.replace(self, head_minhash=self.head_minhash[:keep])

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(
            _MAGIC,
            _FORMAT,
            _SCRIPTS.index(self.script),
            self.shift,
            min(self.n_tokens, 0xFFFFFFFF),
            self.content_hash,
            len(self.minhash) // 4,
            len(self.head_minhash) // 4,
            len(self.samples) // 4,
        )
        paras = _PARAS.pack(len(self.para_starts)) + struct.pack(
            f"<{len(self.para_starts)}H", *(min(p, 0xFFFF) for p in self.para_starts)
        )
        return header + self.minhash + self.head_minhash + self.samples + paras

    @classmethod
    def from_bytes(cls, data: bytes) -> Sketch | SketchError:
        """Decode :meth:`to_bytes` output; anything else becomes a :class:`SketchError`."""
        if not isinstance(data, bytes | bytearray | memoryview):
            return SketchError("bad_type", f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _HEADER.size:
            return SketchError("truncated", f"{len(data)} bytes")
        magic, fmt, script, shift, n_tokens, chash, n_mh, n_head, n_samp = _HEADER.unpack_from(data)
        if magic != _MAGIC or fmt not in _FORMATS:
            return SketchError("bad_format", f"magic={magic!r} format={fmt}")
        if script >= len(_SCRIPTS):
            return SketchError("bad_script", str(script))
        end = _HEADER.size + 4 * (n_mh + n_head + n_samp)
        para_starts: tuple[int, ...] = ()
        total = end
        if fmt >= 2:
            if len(data) < end + _PARAS.size:
                return SketchError("bad_length", f"{len(data)} bytes, no paragraph starts")
            (n_paras,) = _PARAS.unpack_from(data, end)
            total = end + _PARAS.size + 2 * n_paras
            if len(data) == total:
                para_starts = struct.unpack_from(f"<{n_paras}H", data, end + _PARAS.size)
        if len(data) != total:
            return SketchError("bad_length", f"{len(data)} bytes, expected {total}")
        a = _HEADER.size
        b = a + 4 * n_mh
        c = b + 4 * n_head
        return cls(
            script=_SCRIPTS[script],
            n_tokens=n_tokens,
            shift=shift,
            content_hash=chash,
            minhash=data[a:b],
            head_minhash=data[b:c],
            samples=data[c:end],
            para_starts=tuple(para_starts),
        )


# -- hashing -----------------------------------------------------------------

_MASK64 = (1 << 64) - 1


def _params(n: int, seed: int) -> tuple[U64, U64]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    return a, b


def _mix(x: U64) -> U64:
    """splitmix64 finalizer: spreads combined token hashes over all 64 bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_SHINGLE_MULT = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
     0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63],
    dtype=np.uint64,
)  # fmt: skip

# Token -> hash of its house-folded form; the few tokens that fold to two
# ("5bn" -> "5 billion") live apart so the common path is one C-level map().
_token_cache: dict[str, int] = {}
_multi_cache: dict[str, tuple[int, ...]] = {}
_TOKEN_CACHE_MAX = 200_000


def _hash_token(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) | (len(token) << 32)


def _raw_token_hashes(raw: list[str]) -> list[int]:
    """Hashes of the house-folded form of each raw token (one raw token may fold to two)."""
    try:
        return list(map(_token_cache.__getitem__, raw))
    except KeyError:
        pass
    out: list[int] = []
    room = len(_token_cache) + len(_multi_cache) < _TOKEN_CACHE_MAX
    for t in raw:
        h = _token_cache.get(t)
        if h is not None:
            out.append(h)
            continue
        multi = _multi_cache.get(t)
        if multi is None:
            hashed = tuple(_hash_token(f) for f in fold_token(t))
            if len(hashed) == 1:
                if room:
                    _token_cache[t] = hashed[0]
                out.append(hashed[0])
                continue
            multi = hashed
            if room:
                _multi_cache[t] = multi
        out.extend(multi)
    return out


def _shingle_hashes(tok: U64, k: int) -> U64:
    n = len(tok)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    k = min(k, n)
    acc = np.zeros(n - k + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc += tok[j : n - k + 1 + j] * _SHINGLE_MULT[j]
        return _mix(acc + np.uint64(k))


_MINHASH_BLOCK = 256


class _MinHasher:
    """Multiply-shift MinHash: h_i(x) = (a_i * x + b_i) mod 2**64, top 32 bits."""

    def __init__(self, n: int, seed: int) -> None:
        self.a, self.b = _params(n, seed)
        self.n = n

    def __call__(self, shingles: U64) -> U32:
        if len(shingles) == 0:
            return np.full(self.n, 0xFFFFFFFF, dtype=np.uint32)
        # In blocks of shingles, so the (block x n) products stay in cache instead of
        # one (shingles x n) matrix going through memory twice: same minimum.
        best: U64 | None = None
        with np.errstate(over="ignore"):
            for start in range(0, len(shingles), _MINHASH_BLOCK):
                block = shingles[start : start + _MINHASH_BLOCK, None] * self.a + self.b
                low = block.min(axis=0)
                best = low if best is None else np.minimum(best, low)
        assert best is not None
        return (best >> np.uint64(32)).astype(np.uint32)

    def windows(self, shingles: U64, starts: list[int], width: int) -> U32:
        """The MinHash of each window ``shingles[s : s + width]``, in one vectorized
        step (the same values as calling the hasher on each window). A short window at
        the end is padded with its own first shingle, which leaves its minimum as is."""
        n = len(shingles)
        if not starts or n == 0:
            return np.zeros((0, self.n), dtype=np.uint32)
        offsets = np.arange(width)
        at = np.asarray(starts)[:, None] + offsets[None, :]
        at = np.where(at < n, at, np.asarray(starts)[:, None])
        with np.errstate(over="ignore"):
            block = shingles[at][:, :, None] * self.a + self.b
        return (block.min(axis=1) >> np.uint64(32)).astype(np.uint32)


_hashers: dict[tuple[int, int], _MinHasher] = {}


def _hasher(n: int, seed: int) -> _MinHasher:
    key = (n, seed)
    h = _hashers.get(key)
    if h is None:
        h = _hashers[key] = _MinHasher(n, seed)
    return h


def sketch_tokens(
    *, tokens: list[str], script: str, config: SketchConfig = DEFAULT_SKETCH_CONFIG
) -> Sketch:
    """Sketch one normalized token sequence (``textnorm.body_tokens``; folding is
    idempotent). With no line breaks known, the lede signature is the head's only."""
    return _sketch_lines([tokens], script, config)


def _sketch_lines(lines: list[list[str]], script: str, config: SketchConfig) -> Sketch:
    hashes: list[int] = []
    starts: list[int] = []  # token offsets of the paragraphs: lines long enough
    for line in lines:
        h = _raw_token_hashes(line)
        if len(starts) < config.max_paragraphs and len(h) >= config.lede_min_tokens:
            starts.append(len(hashes))
        hashes.extend(h)
    tok = np.array(hashes, dtype=np.uint64)
    return _sketch_hashes(tok, len(hashes), starts or [0], script, config)


def _sketch_hashes(
    tok: U64, n_tokens: int, paragraphs: list[int], script: str, config: SketchConfig
) -> Sketch:
    k = config.char_shingle if script == "char" else config.word_shingle
    sh = _shingle_hashes(tok, k)
    n = len(sh)
    shift = 0
    while shift < config.max_shift and (n >> (shift + 1)) >= config.target_samples:
        shift += 1
    head = _hasher(config.head_perm, 2)
    high = (sh >> np.uint64(32)).astype(np.uint32)
    # Lede signatures start at the first paragraphs; paragraph starts become sample
    # indices. A short line above the first paragraph (a dateline) belongs to it.
    starts = paragraphs[: config.lookup_lede_lines]
    bounds = [0, *paragraphs[1:]]
    if shift:
        kept = (high & np.uint32((1 << shift) - 1)) == 0
        before = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))
        para_starts = tuple(int(before[min(p, n)]) for p in bounds)
        high = high[kept]
    else:
        para_starts = tuple(min(p, n) for p in bounds)
    content_hash = (
        int.from_bytes(hashlib.blake2b(tok.tobytes(), digest_size=8).digest(), "little") & _MASK64
    )
    return Sketch(
        script=script,
        n_tokens=n_tokens,
        shift=shift,
        content_hash=content_hash if n_tokens else 0,
        minhash=_hasher(config.num_perm, 1)(sh).astype("<u4").tobytes(),
        head_minhash=head.windows(
            sh, sorted(set(min(st, max(n - 1, 0)) for st in starts)), config.head_shingles
        )
        .astype("<u4")
        .tobytes()
        if n
        else b"",
        samples=high.astype("<u4").tobytes(),
        para_starts=para_starts if n else (),
    )


def sketch_text(
    *,
    text: str,
    title: str | None = None,
    language: str | None = None,
    config: SketchConfig = DEFAULT_SKETCH_CONFIG,
) -> Sketch:
    """Sketch a story body. ``title`` is deliberately not signed (a new headline
    does not make a new story); ``language`` is accepted for callers that know it,
    but the script is read from the text itself, which is what tokenization needs."""
    del title, language
    if not isinstance(text, str):
        text = ""
    lines, script = raw_body(text=text)
    return _sketch_lines(lines, script, config)


_SALTS: dict[tuple[int, int, int, int], U64] = {}


def _band_salts(family: int, bands: int, rows: int, script: int) -> U64:
    key = (family, bands, rows, script)
    salts = _SALTS.get(key)
    if salts is None:
        with np.errstate(over="ignore"):
            base = (np.arange(bands, dtype=np.uint64) + np.uint64(family << 16)) * np.uint64(
                0x9E3779B97F4A7C15
            ) + np.uint64(0x51ED27 + 7 * script + 1013 * rows)
        salts = _SALTS[key] = _mix(base)
    return salts


def _family_keys(values: U32, bands: int, rows: int, salts: U64) -> U64:
    """One key per band: the band's ``rows`` values, packed two to a uint64 word and
    folded through the mixer with the band's salt (a few numpy calls per family).
    ``values`` may hold one sketch's values per row: then so does the result."""
    m = values[..., : bands * rows].astype(np.uint64).reshape(*values.shape[:-1], bands, rows)
    acc = salts
    with np.errstate(over="ignore"):
        for j in range(0, rows, 2):
            word = m[..., j] << np.uint64(32)
            if j + 1 < rows:
                word = word | m[..., j + 1]
            acc = _mix(acc ^ word)
    return acc


def band_keys(sketch: Sketch, lsh: LshConfig = DEFAULT_LSH_CONFIG, *, lookup: bool = False) -> U64:
    """LSH bucket keys of a sketch: one uint64 per band, body bands then head bands.

    The index files a copy under the lede signatures of its first
    ``DEFAULT_SKETCH_CONFIG.lede_lines`` paragraphs; ``lookup=True`` gives the keys of
    every lede signature the sketch holds, so that a story's lede found under new
    paragraphs of a later copy (a write-through update) still meets its bucket.
    The filed keys are a prefix of the lookup keys.

    Keys are salted by band, family and script, so one table holds them all.
    An empty sketch has no keys (it never becomes a candidate). Keys are never
    persisted (they are computed from the sketch), so their hashing may change.
    """
    if sketch.is_empty:
        return np.zeros(0, dtype=np.uint64)
    keys: U64 = _layout_keys(
        sketch.minhash_array()[None, :],
        sketch.head_array()[None, :],
        _SCRIPTS.index(sketch.script),
        lsh,
        lookup=lookup,
    )[0]
    return keys


def filed_band_keys(sketches: Sequence[Sketch], lsh: LshConfig = DEFAULT_LSH_CONFIG) -> list[U64]:
    """``band_keys(s, lsh)`` of each sketch, computed together for sketches of one layout
    (script and signature lengths): an index restored from thousands of rows hashes
    them in a few numpy calls instead of a few per sketch."""
    out: list[U64] = [np.zeros(0, dtype=np.uint64)] * len(sketches)
    layouts: dict[tuple[str, int, int], list[int]] = {}
    for i, sketch in enumerate(sketches):
        if not sketch.is_empty:
            layout = (sketch.script, len(sketch.minhash), len(sketch.head_minhash))
            layouts.setdefault(layout, []).append(i)
    for (script, _body, _heads), members in layouts.items():
        body = np.frombuffer(b"".join(sketches[i].minhash for i in members), dtype="<u4")
        heads = np.frombuffer(b"".join(sketches[i].head_minhash for i in members), dtype="<u4")
        keys = _layout_keys(
            body.reshape(len(members), -1),
            heads.reshape(len(members), -1),
            _SCRIPTS.index(script),
            lsh,
            lookup=False,
        )
        for i, row in zip(members, keys, strict=True):
            out[i] = row
    return out


def _layout_keys(body: U32, heads: U32, script: int, lsh: LshConfig, *, lookup: bool) -> U64:
    """The band keys of sketches of one layout, one sketch per row of ``body`` (their
    MinHash values) and ``heads`` (their lede signatures): one row of keys each."""
    parts = []
    if lsh.body_bands and body.shape[1] >= lsh.body_bands * lsh.body_rows:
        salts = _band_salts(1, lsh.body_bands, lsh.body_rows, script)
        parts.append(_family_keys(body, lsh.body_bands, lsh.body_rows, salts))
    per_head = lsh.head_bands * lsh.head_rows
    n_heads = heads.shape[1] // per_head if per_head else 0
    if not lookup:
        n_heads = min(n_heads, DEFAULT_SKETCH_CONFIG.lede_lines)
    if n_heads:
        # Every lede signature hashes into the same family: a trimmed copy's first
        # line meets the original's first line wherever a caption pushed it. All
        # lede signatures go through the mixer together, as one band matrix.
        salts = np.tile(_band_salts(2, lsh.head_bands, lsh.head_rows, script), n_heads)
        parts.append(
            _family_keys(
                heads[:, : n_heads * per_head], lsh.head_bands * n_heads, lsh.head_rows, salts
            )
        )
    if not parts:
        return np.zeros((body.shape[0], 0), dtype=np.uint64)
    return np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
