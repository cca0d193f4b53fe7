"""The hardened XML parser refuses entity tricks and external DTDs without touching files or sockets."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from wiredesk.transforms.common.safexml import SafeXMLError, local_name, parse_xml_bytes

LIMIT = 1_000_000

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><r>'
    + b"&a;" * 5_000
    + b"</r>"
)

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"""

PARAM_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<r/>"""


class _Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        type(self).hits += 1
        body = b'<!ENTITY leak "LEAKED">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@pytest.fixture()
def dtd_server() -> Iterator[tuple[str, type[_Counter]]]:
    handler = type("Handler", (_Counter,), {"hits": 0})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_plain_document_parses() -> None:
    root = parse_xml_bytes(b'<a xmlns="urn:x"><b>text</b><!-- c --></a>', max_bytes=LIMIT)
    assert local_name(root) == "a"
    assert [local_name(c) for c in root] == ["b", ""]
    assert root[0].text == "text"


def test_harmless_doctype_without_entities_is_accepted() -> None:
    root = parse_xml_bytes(b"<!DOCTYPE nitf><nitf><body/></nitf>", max_bytes=LIMIT)
    assert local_name(root) == "nitf"


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, QUADRATIC, XXE_FILE, PARAM_ENTITY],
    ids=["billion_laughs", "quadratic_blowup", "xxe_file", "parameter_entity"],
)
def test_entity_declarations_are_refused(payload: bytes) -> None:
    with pytest.raises(SafeXMLError) as err:
        parse_xml_bytes(payload, max_bytes=LIMIT)
    assert err.value.reason == "forbidden_dtd"
    assert "ENTITY" in err.value.detail


def test_entities_in_utf16_are_refused_after_parse() -> None:
    # The byte pre-scan cannot read UTF-16; the docinfo check after parsing must.
    payload = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>'
    ).encode("utf-16")
    with pytest.raises(SafeXMLError) as err:
        parse_xml_bytes(payload, max_bytes=LIMIT)
    assert err.value.reason == "forbidden_dtd"


def test_external_dtd_is_refused_and_never_fetched(dtd_server: tuple[str, type[_Counter]]) -> None:
    base, handler = dtd_server
    # The listener works: a direct request is counted.
    with socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5) as s:
        s.sendall(b"GET /probe HTTP/1.0\r\n\r\n")
        s.recv(100)
    assert handler.hits == 1
    payloads = [
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{base}/x.dtd"><r>&leak;</r>'.encode(),
        f'<!DOCTYPE r PUBLIC "-//X//Y//EN" "{base}/x.dtd"><r/>'.encode(),
        f'<!DOCTYPE r [<!ENTITY % d SYSTEM "{base}/x.dtd"> %d;]><r>&leak;</r>'.encode(),
        # UTF-16 slips past the byte pre-scan, so lxml itself must not fetch.
        (f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "{base}/x.dtd"><r/>').encode(
            "utf-16"
        ),
    ]
    for payload in payloads:
        with pytest.raises(SafeXMLError) as err:
            parse_xml_bytes(payload, max_bytes=LIMIT)
        assert err.value.reason == "forbidden_dtd"
    assert handler.hits == 1  # nothing but the probe


def test_size_cap_applies_before_parsing() -> None:
    with pytest.raises(SafeXMLError) as err:
        parse_xml_bytes(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    assert err.value.reason == "too_large"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<a><b></a>", "parse_error"),
        (b"not xml", "parse_error"),
    ],
)
def test_broken_input_raises_safexmlerror(payload: bytes, reason: str) -> None:
    with pytest.raises(SafeXMLError) as err:
        parse_xml_bytes(payload, max_bytes=LIMIT)
    assert err.value.reason == reason


def test_non_bytes_input_is_an_error_not_a_crash() -> None:
    with pytest.raises(SafeXMLError):
        not_bytes: Any = "<a/>"
        parse_xml_bytes(not_bytes, max_bytes=LIMIT)
