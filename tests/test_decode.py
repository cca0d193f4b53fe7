"""Charset decoding and binary sniffing of fetched pages."""

from __future__ import annotations

import codecs
import gzip
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.fetch.decode import (
    Decoded,
    DecodeError,
    charset_from_content_type,
    decode_html,
    looks_binary,
    mime_type,
    sniff_binary,
)

PAGE = (
    "<!doctype html><html><head><title>Grüße aus Köln – naïve café</title></head>"
    "<body><p>Señor Müller sagte: «Das Wetter ist schön», und ging.</p></body></html>"
)
RUSSIAN = (
    "<html><body><p>Москва сообщает о погоде и политике сегодня. "
    "Правительство обсудило новый бюджет на заседании в среду.</p></body></html>"
)


def decoded(body: bytes, content_type: str | None = None) -> Decoded:
    result = decode_html(body=body, content_type=content_type)
    assert isinstance(result, Decoded), result
    return result


def test_utf8_plain() -> None:
    d = decoded(PAGE.encode("utf-8"), "text/html; charset=utf-8")
    assert (d.text, d.encoding, d.source) == (PAGE, "utf-8", "http")


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_bom_wins_over_declarations(bom: bytes, codec: str) -> None:
    d = decoded(bom + PAGE.encode(codec), "text/html; charset=iso-8859-1")
    assert d.text == PAGE
    assert d.source == "bom"


def test_latin1_declared_in_header() -> None:
    d = decoded(PAGE.encode("cp1252"), "text/html; charset=ISO-8859-1")
    assert d.text == PAGE
    assert d.encoding == "cp1252"  # WHATWG: the iso-8859-1 label means windows-1252


def test_windows_1252_specials_under_latin1_label() -> None:
    body = "<p>\u201cQuoted\u201d \u2013 \u20ac5</p>".encode("cp1252")
    assert (
        decoded(body, "text/html; charset=latin1").text
        == "<p>\u201cQuoted\u201d \u2013 \u20ac5</p>"
    )


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1251">',
        "<meta charset=windows-1251>",
        '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1251">',
    ],
)
def test_meta_charset(meta: str) -> None:
    html = f"<html><head>{meta}</head>" + RUSSIAN[6:]
    d = decoded(html.encode("cp1251"), "text/html")
    assert d.text == html
    assert (d.encoding, d.source) == ("cp1251", "meta")


def test_http_charset_beats_meta() -> None:
    html = '<meta charset="windows-1251">' + PAGE
    d = decoded(html.encode("cp1252"), "text/html; charset=windows-1252")
    assert d.text == html and d.source == "http"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom(codec: str) -> None:
    for declared in (None, "text/html", "text/html; charset=utf-8"):
        d = decoded(PAGE.encode(codec), declared)
        assert d.text == PAGE, declared
        assert (d.encoding, d.source) == (codec, "utf16-sniff")
    assert not looks_binary(PAGE.encode(codec), "text/html")


def test_utf8_labelled_latin1_is_recovered() -> None:
    d = decoded(PAGE.encode("utf-8"), "text/html; charset=iso-8859-1")
    assert d.text == PAGE
    assert d.source == "utf8-override"


def test_latin1_labelled_utf8_is_recovered() -> None:
    d = decoded(PAGE.encode("cp1252"), "text/html; charset=utf-8")
    assert d.text == PAGE
    assert d.source == "detected"


def test_meta_claiming_utf16_on_ascii_bytes_means_utf8() -> None:
    html = '<meta charset="utf-16">' + PAGE
    assert decoded(html.encode("utf-8")).text == html


def test_unknown_label_falls_through_to_detection() -> None:
    d = decoded(RUSSIAN.encode("cp1251"), "text/html; charset=x-no-such-thing")
    assert d.text == RUSSIAN
    assert d.source == "detected"


def test_undeclared_legacy_encodings_detected() -> None:
    assert decoded(RUSSIAN.encode("cp1251")).text == RUSSIAN
    assert decoded(PAGE.encode("cp1252")).text == PAGE


def test_empty_and_ascii() -> None:
    assert decoded(b"").text == ""
    assert decoded(b"<p>plain</p>").text == "<p>plain</p>"


def test_utf7_is_never_used() -> None:
    # UTF-7 decoding is an old XSS trick; WHATWG never decodes it.
    d = decoded(b"<p>+ADw-script+AD4-</p>", "text/html; charset=utf-7")
    assert "+ADw-" in d.text


def test_random_bytes_are_bad_encoding() -> None:
    result = decode_html(body=os.urandom(4096), content_type="text/html")
    assert isinstance(result, DecodeError)
    assert result.reason == "bad_encoding"


@settings(max_examples=200)
@given(
    st.binary(max_size=2048),
    st.sampled_from(
        [
            None,
            "text/html",
            "text/html; charset=utf-8",
            "text/html; charset=bogus",
            "text/html; charset=utf-16",
        ]
    ),
)
def test_decode_never_raises(body: bytes, content_type: str | None) -> None:
    result = decode_html(body=body, content_type=content_type)
    assert isinstance(result, Decoded | DecodeError)


@settings(max_examples=200)
@given(st.text(max_size=500), st.sampled_from(["utf-8", "utf-16-le", "utf-16-be"]))
def test_declared_or_bom_round_trip(text: str, codec: str) -> None:
    if text.startswith("\x00"):
        text = "x" + text  # FF FE 00 00 is the UTF-32 BOM: ambiguous by design
    bom = {
        "utf-8": codecs.BOM_UTF8,
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
    }[codec]
    result = decode_html(body=bom + text.encode(codec, "surrogatepass"), content_type="text/html")
    if isinstance(result, Decoded):
        assert result.text == text.encode(codec, "surrogatepass").decode(codec, "replace")


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (PDF, "pdf"),
        (b"\r\n" + PDF, "pdf"),
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        (b"PK\x03\x04\x14\x00\x00\x00", "zip"),
        (gzip.compress(b"<html>" * 100), "gzip"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "riff"),
        (b"\x00\x00\x00\x18ftypmp42", "mp4"),
        (b"<html>\x00\x01\x02 binary junk \x00", "binary"),
        (bytes(range(1, 32)) * 10, "binary"),
    ],
)
def test_sniff_binary_served_as_html(body: bytes, kind: str) -> None:
    assert sniff_binary(body, "text/html") == kind
    assert looks_binary(body, "text/html")


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/pdf", "video/mp4", "font/woff2", "application/zip"]
)
def test_declared_binary_types(content_type: str) -> None:
    assert looks_binary(b"<html>looks like text</html>", content_type)


@pytest.mark.parametrize(
    "body",
    [
        PAGE.encode("utf-8"),
        PAGE.encode("cp1252"),
        RUSSIAN.encode("cp1251"),
        codecs.BOM_UTF16_LE + PAGE.encode("utf-16-le"),
        PAGE.encode("utf-16-be"),
        b"<p>form\x0cfeed and tab\t are fine</p>",
        b"",
    ],
)
def test_text_is_not_binary(body: bytes) -> None:
    assert not looks_binary(body, "text/html")


def test_octet_stream_is_sniffed() -> None:
    assert not looks_binary(b"<?xml version='1.0'?><rss/>", "application/octet-stream")
    assert looks_binary(b"just some words", "application/octet-stream")


def test_content_type_helpers() -> None:
    assert mime_type("Text/HTML ; charset=UTF-8") == "text/html"
    assert mime_type(None) == ""
    assert charset_from_content_type('text/html; charset="ISO-8859-1"') == "ISO-8859-1"
    assert charset_from_content_type("text/html;charset=utf-8;q=1") == "utf-8"
    assert charset_from_content_type("text/html") is None


def _garbage_ratio_by_loop(text: str) -> float:
    """The definition, one character at a time (what the regex count must equal)."""
    if not text:
        return 0.0
    sample = text[:20000]
    bad = sum(
        1 for c in sample if c == "\ufffd" or (ord(c) < 0x20 and c not in "\t\n\r\f") or c == "\x00"
    )
    return bad / len(sample)


@given(st.text(alphabet=st.characters(max_codepoint=0xFFFF), max_size=300))
@settings(max_examples=300, deadline=None)
def test_garbage_ratio_counts_replacements_and_stray_controls(text: str) -> None:
    from wiredesk.transforms.fetch.decode import _garbage_ratio

    assert _garbage_ratio(text) == _garbage_ratio_by_loop(text)
    assert _garbage_ratio(text + "\ufffd\x00\x0b\x1f\t\n\r\f") == _garbage_ratio_by_loop(
        text + "\ufffd\x00\x0b\x1f\t\n\r\f"
    )


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_binary_sniff_counts_control_bytes_like_a_loop(head: bytes) -> None:
    from wiredesk.transforms.fetch.decode import _BINARY_BYTES, _BINARY_BYTES_DELETE

    assert len(head) - len(head.translate(None, _BINARY_BYTES_DELETE)) == sum(
        1 for b in head if b in _BINARY_BYTES
    )
