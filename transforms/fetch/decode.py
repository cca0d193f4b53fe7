"""Bytes of a fetched page -> text, and "is this really a web page?" sniffing.

:func:`decode_html` picks the encoding the way browsers do (byte-order mark,
then the HTTP ``charset``, then ``<meta charset>`` / ``http-equiv``), with
recoveries browsers lack: UTF-16 without a BOM, a declared charset the bytes
contradict (UTF-8 labelled Latin-1, Latin-1 labelled UTF-8), and
charset-normalizer detection when nothing is declared. Labels go through the
WHATWG aliases (``iso-8859-1`` means windows-1252, ``gb2312`` means GB18030).

:func:`sniff_binary` / :func:`looks_binary` catch PDFs, images, archives and
other binary bodies served as ``text/html``.

Example::

    >>> from wiredesk.transforms.fetch.decode import decode_html, looks_binary
    >>> d = decode_html(body="<p>caf\\xe9</p>".encode("latin-1"), content_type="text/html; charset=ISO-8859-1")
    >>> (d.text, d.encoding, d.source)
    ('<p>café</p>', 'cp1252', 'http')
    >>> looks_binary(b"%PDF-1.7 ...", "text/html")
    True
"""

from __future__ import annotations

import codecs
import dataclasses
import re

__all__ = [
    "DecodeError",
    "Decoded",
    "charset_from_content_type",
    "decode_html",
    "looks_binary",
    "mime_type",
    "sniff_binary",
]

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it shares the prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# WHATWG Encoding Standard: labels that mean a superset in practice.
_WHATWG_ALIASES = {
    "latin1": "cp1252",
    "latin_1": "cp1252",
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "cp1252": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "utf_16": "utf-16-le",  # a <meta> that says UTF-16 was read as ASCII: it lies (below)
}
_SINGLE_BYTE_LATIN = {"cp1252", "cp1254", "cp1250", "iso8859-15", "iso8859-2"}

_META_RE = re.compile(
    rb"""<meta[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]{1,40})""",
    re.IGNORECASE,
)
_CHARSET_PARAM_RE = re.compile(r"""charset\s*=\s*["']?\s*([^"';,\s]+)""", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Decoded:
    """Decoded text, the Python codec used, and where the choice came from
    (``bom``, ``utf16-sniff``, ``http``, ``meta``, ``utf8-override``, ``detected``,
    ``fallback`` or ``empty``)."""

    text: str
    encoding: str
    source: str


@dataclasses.dataclass(frozen=True)
class DecodeError:
    """The bytes are not text in any encoding we can name."""

    detail: str
    reason: str = "bad_encoding"


def mime_type(content_type: str | None) -> str:
    """``"Text/HTML; charset=x"`` -> ``"text/html"``; ``""`` when absent."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type or ";" not in content_type:
        return None
    match = _CHARSET_PARAM_RE.search(content_type.split(";", 1)[1])
    return match.group(1) if match else None


def _codec(label: str | None) -> str | None:
    """A charset label -> Python codec name after WHATWG aliasing, or None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("x-user-defined", "unicode-1-1-utf-7", "utf-7", "utf7"):
        return "cp1252"  # WHATWG never decodes UTF-7 (an XSS vector); x-user-defined ~ bytes
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    key = name.replace("-", "_")
    return _WHATWG_ALIASES.get(key, name)


def _utf16_sniff(body: bytes) -> str | None:
    """UTF-16 without a BOM: mostly-ASCII markup leaves NUL in every other byte."""
    sample = body[:2048]
    if len(sample) < 8:
        return None
    half = len(sample) // 2
    even_nul = sample[0::2].count(0)
    odd_nul = sample[1::2].count(0)
    if odd_nul > 0.3 * half and even_nul < 0.05 * half:
        return "utf-16-le"
    if even_nul > 0.3 * half and odd_nul < 0.05 * half:
        return "utf-16-be"
    return None


def _meta_charset(body: bytes) -> str | None:
    match = _META_RE.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        if codec == "cp1252":
            # Five bytes are undefined in Python's cp1252 but map to C1 controls in
            # WHATWG's windows-1252; latin-1 decodes them the same way.
            return body.decode("latin-1")
        return None


# Replacement characters and C0 controls other than tab, newline, form feed and return.
_GARBAGE_RE = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f]")


def _garbage_ratio(text: str) -> float:
    if not text:
        return 0.0
    sample = text[:20000]
    # Counted by the regex engine: a loop in Python cost ~0.7 ms a page.
    bad = len(_GARBAGE_RE.findall(sample))
    return bad / len(sample)


def _detect(body: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    matches = from_bytes(body[:200_000])
    best = matches.best()
    if best is None or not best.encoding:
        return None
    codec = _codec(best.encoding) or best.encoding
    for match in matches:
        # Short Latin texts tie between cp1250/cp1252/cp1257; windows-1252 is by
        # far the most common legacy encoding on the web, so it wins ties.
        if (
            match.encoding == "cp1252"
            and match.chaos <= best.chaos + 0.01
            and match.coherence >= best.coherence - 0.05
        ):
            codec = "cp1252"
            break
    text = _strict(body, codec)
    if text is None:
        try:
            text = body.decode(codec, errors="replace")
        except LookupError:
            return None
    return text, codec


def decode_html(*, body: bytes, content_type: str | None = None) -> Decoded | DecodeError:
    """Decode an HTML body. Never raises; garbage comes back as :class:`DecodeError`."""
    try:
        return _decode(body, content_type)
    except Exception as exc:  # a codec bug must not take the pipeline down
        return DecodeError(f"decoder failed: {type(exc).__name__}: {exc}"[:300])


def _decode(body: bytes, content_type: str | None) -> Decoded | DecodeError:
    if not body:
        return Decoded("", "utf-8", "empty")
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            text = body[len(bom) :].decode(bom_codec, errors="replace")
            return _checked(Decoded(text, bom_codec, "bom"))
    sniffed = _utf16_sniff(body)
    if sniffed is not None:
        text16 = _strict(body[: len(body) // 2 * 2], sniffed)
        if text16 is not None:
            return _checked(Decoded(text16, sniffed, "utf16-sniff"))
    non_ascii = not body.isascii()
    for source, label in (
        ("http", charset_from_content_type(content_type)),
        ("meta", _meta_charset(body)),
    ):
        codec = _codec(label)
        if codec is None:
            continue
        if codec.startswith("utf-16") or codec.startswith("utf-32"):
            codec = "utf-8"  # we found ASCII-compatible bytes, so it is not UTF-16
        if codec in _SINGLE_BYTE_LATIN and non_ascii:
            # Multi-byte UTF-8 sequences almost never occur by chance in Latin text,
            # so valid UTF-8 here means the label is wrong.
            as_utf8 = _strict(body, "utf-8")
            if as_utf8 is not None:
                return _checked(Decoded(as_utf8, "utf-8", "utf8-override"))
        declared = _strict(body, codec)
        if declared is not None:
            return _checked(Decoded(declared, codec, source))
    if not non_ascii:
        return _checked(Decoded(body.decode("ascii"), "ascii", "detected"))
    as_utf8 = _strict(body, "utf-8")
    if as_utf8 is not None:
        return _checked(Decoded(as_utf8, "utf-8", "detected"))
    detected = _detect(body)
    if detected is not None:
        return _checked(Decoded(detected[0], detected[1], "detected"))
    return _checked(Decoded(body.decode("cp1252", errors="replace"), "cp1252", "fallback"))


def _checked(decoded: Decoded) -> Decoded | DecodeError:
    ratio = _garbage_ratio(decoded.text)
    if ratio > 0.05:
        return DecodeError(
            f"{ratio:.0%} replacement or control characters after decoding as "
            f"{decoded.encoding} ({decoded.source})"
        )
    return decoded


# (magic, offset window, kind): the signature must start within `window` bytes.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 1024, "pdf"),
    (b"\x89PNG\r\n\x1a\n", 1, "png"),
    (b"\xff\xd8\xff", 1, "jpeg"),
    (b"GIF87a", 1, "gif"),
    (b"GIF89a", 1, "gif"),
    (b"PK\x03\x04", 1, "zip"),
    (b"PK\x05\x06", 1, "zip"),
    (b"\x1f\x8b", 1, "gzip"),
    (b"BZh", 1, "bzip2"),
    (b"\xfd7zXZ\x00", 1, "xz"),
    (b"(\xb5/\xfd", 1, "zstd"),
    (b"7z\xbc\xaf\x27\x1c", 1, "7z"),
    (b"Rar!\x1a\x07", 1, "rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 1, "ole"),
    (b"%!PS", 1, "postscript"),
    (b"\x7fELF", 1, "elf"),
    (b"\x00asm", 1, "wasm"),
    (b"OggS", 1, "ogg"),
    (b"ID3", 1, "mp3"),
    (b"fLaC", 1, "flac"),
    (b"\x1aE\xdf\xa3", 1, "webm"),
    (b"wOFF", 1, "woff"),
    (b"wOF2", 1, "woff2"),
    (b"II*\x00", 1, "tiff"),
    (b"MM\x00*", 1, "tiff"),
    (b"\x00\x00\x01\x00", 1, "ico"),
)
_BINARY_TYPES = ("image/", "audio/", "video/", "font/")
_BINARY_APP_TYPES = {
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
    "application/msword",
    "application/vnd.ms-excel",
    "application/x-tar",
    "application/x-7z-compressed",
    "application/x-rar-compressed",
    "application/wasm",
}
# WHATWG MIME Sniffing "binary data bytes".
_BINARY_BYTES = frozenset(
    list(range(0x00, 0x09)) + [0x0B] + list(range(0x0E, 0x1B)) + list(range(0x1C, 0x20))
)
_BINARY_BYTES_DELETE = bytes(sorted(_BINARY_BYTES))  # for bytes.translate(None, ...)


def sniff_binary(body: bytes, content_type: str | None = None) -> str | None:
    """The kind of binary content (``"pdf"``, ``"png"``, ``"binary"``, ...) or ``None``.

    A declared binary type alone is enough; otherwise the first bytes decide.
    UTF-16/32 text (with or without a BOM) is not binary even though it has NULs.
    """
    declared = mime_type(content_type)
    if declared != "application/octet-stream" and (
        declared.startswith(_BINARY_TYPES) or declared in _BINARY_APP_TYPES
    ):
        return declared
    head = body[:4096]
    for magic, window, kind in _MAGIC:
        if head.startswith(magic) if window == 1 else magic in head[:window]:
            return kind
    if head[8:12] in (b"WEBP", b"AVI ", b"WAVE") and head.startswith(b"RIFF"):
        return "riff"
    if head[4:8] == b"ftyp":
        return "mp4"
    if any(head.startswith(bom) for bom, _ in _BOMS) or _utf16_sniff(head) is not None:
        return None
    if not head:
        return "octet-stream" if declared == "application/octet-stream" else None
    if 0 in head:
        return "binary"
    control = len(head) - len(head.translate(None, _BINARY_BYTES_DELETE))
    if control > 0.02 * len(head):
        return "binary"
    if declared == "application/octet-stream" and not head.lstrip().startswith((b"<", b"{")):
        return "octet-stream"
    return None


def looks_binary(body: bytes, content_type: str | None = None) -> bool:
    """True when ``body`` is not text (see :func:`sniff_binary`)."""
    return sniff_binary(body, content_type) is not None
