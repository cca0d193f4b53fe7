"""Pure tests of address classification and hostile host spellings (no network)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wiredesk.transforms.fetch.netguard import (
    PRIVATE_CATEGORIES,
    AddressPolicy,
    Target,
    UrlError,
    classify_address,
    classify_host,
    parse_host,
)

BLOCKED = {
    # IPv4
    "0.0.0.0": "unspecified",
    "0.1.2.3": "reserved",
    "10.0.0.1": "private",
    "10.255.255.255": "private",
    "100.64.0.1": "shared",
    "100.127.255.254": "shared",
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "169.254.169.254": "link_local",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.0.0.8": "reserved",
    "192.0.2.1": "documentation",
    "192.88.99.1": "reserved",
    "192.168.1.1": "private",
    "198.18.0.1": "benchmarking",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    # IPv6
    "::": "unspecified",
    "::1": "loopback",
    "[::1]": "loopback",
    "::127.0.0.1": "reserved",  # deprecated IPv4-compatible form
    "::ffff:127.0.0.1": "ipv4_mapped_loopback",
    "::ffff:7f00:1": "ipv4_mapped_loopback",
    "::ffff:10.1.2.3": "ipv4_mapped_private",
    "::ffff:169.254.169.254": "ipv4_mapped_link_local",
    "::ffff:8.8.8.8": "ipv4_mapped",
    "64:ff9b::a00:1": "nat64",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1": "nat64",
    "64:ff9b:1::1": "nat64",  # local-use prefix
    "2002:7f00:1::": "6to4",  # 6to4 of 127.0.0.1
    "2002:a00:1::1": "6to4",  # 6to4 of 10.0.0.1
    "2002:c0a8:101::1": "6to4",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:80ff:fffe": "teredo",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2": "teredo",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "100::1": "reserved",
    "2001:2::1": "reserved",
    "fc00::1": "private",
    "fd12:3456:789a::1": "private",
    "fe80::1": "link_local",
    "fe80::1%eth0": "link_local",
    "febf::1": "link_local",
    "fec0::1": "site_local",
    "ff02::1": "multicast",
    "ff0e::1": "multicast",
    "4000::1": "reserved",  # outside 2000::/3
    "not an ip": "invalid",
    "": "invalid",
    "1.2.3": "invalid",  # classify takes canonical text only; parse_host reads spellings
}

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "172.15.255.255",
    "172.32.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("ip", "category"), sorted(BLOCKED.items()))
def test_blocked_addresses(ip: str, category: str) -> None:
    assert classify_address(ip) == category


@pytest.mark.parametrize("ip", PUBLIC)
def test_public_addresses(ip: str) -> None:
    assert classify_address(ip) is None


@pytest.mark.parametrize(
    ("url", "host", "ip", "port", "path"),
    [
        ("http://2130706433/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://0x7f000001:8080/x", "127.0.0.1", "127.0.0.1", 8080, "/x"),
        ("http://0x7f.0.0.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://0X7F.0x0.0.01/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://0177.0.0.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://017700000001/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://127.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://127.0.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://127.0.0.1./", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://0/", "0.0.0.0", "0.0.0.0", 80, "/"),
        ("http://169.254.43518/", "169.254.169.254", "169.254.169.254", 80, "/"),
        ("http://%31%32%37.0.0.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://evil.com@127.0.0.1/", "127.0.0.1", "127.0.0.1", 80, "/"),
        ("http://user:pw@127.0.0.1:81/", "127.0.0.1", "127.0.0.1", 81, "/"),
        ("http://[::1]:9/x?y#z", "::1", "::1", 9, "/x?y"),
        ("http://[::ffff:7f00:1]/", "::ffff:7f00:1", "::ffff:7f00:1", 80, "/"),
        ("http://[0:0:0:0:0:ffff:127.0.0.1]/", "::ffff:7f00:1", "::ffff:7f00:1", 80, "/"),
        ("http://localhost./", "localhost", None, 80, "/"),
        ("http://LOCALHOST/", "localhost", None, 80, "/"),
        ("https://Example.COM./a b", "example.com", None, 443, "/a%20b"),
        ("http://B\u00fccher.example/\u00fc", "xn--bcher-kva.example", None, 80, "/%C3%BC"),
    ],
)
def test_parse_host_hostile_spellings(
    url: str, host: str, ip: str | None, port: int, path: str
) -> None:
    target = parse_host(url)
    assert isinstance(target, Target), target
    assert (target.host, target.ip, target.port, target.path) == (host, ip, port, path)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "javascript:alert(1)",
        "data:text/html,<p>x</p>",
        "gopher://127.0.0.1:25/",
        "http:/example.com",
        "http://",
        "http://:80/",
        "http://1.2.3.4.5/",
        "http://256.0.0.1/",
        "http://1.2.3.0x100/",
        "http://08.0.0.1/",  # not octal, not decimal: WHATWG fails it
        "http://example.123/",
        "http://[::1/",
        "http://[fe80::1%25eth0]/",
        "http://::1/",
        "http://a b/",
        "http://exa\tmple.com/",
        "http://evil.com\\@127.0.0.1/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:8o/",
        "http://ex_ample..com/",
        "http://" + "a" * 64 + ".com/",
        "http://%zz/",
    ],
)
def test_parse_host_rejects(url: str) -> None:
    result = parse_host(url)
    assert isinstance(result, UrlError), result
    assert result.reason == "bad_url"


def test_parse_host_rejects_non_strings() -> None:
    for value in (None, b"http://x/", 42):
        not_a_str: Any = value
        assert isinstance(parse_host(not_a_str), UrlError)


def test_target_urls() -> None:
    target = parse_host("HTTPS://Example.com:443/a?b=1#frag")
    assert isinstance(target, Target)
    assert target.origin == "https://example.com"
    assert target.url == "https://example.com/a?b=1"
    v6 = parse_host("http://[2606:4700::1]:8080/")
    assert isinstance(v6, Target)
    assert v6.netloc == "[2606:4700::1]:8080"


@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("localhost", "loopback"),
        ("localhost.", "loopback"),
        ("api.localhost", "loopback"),
        ("2130706433", "loopback"),
        ("[::1]", "loopback"),
        ("example.com", None),
        ("notlocalhost", None),
        ("", "invalid"),
    ],
)
def test_classify_host(host: str, category: str | None) -> None:
    assert classify_host(host) == category


def test_policy_defaults_block_everything_non_public() -> None:
    policy = AddressPolicy()
    assert policy.check(host="example.com", ip="93.184.215.14") is None
    assert policy.check(host="example.com", ip="10.0.0.1") == "private"
    assert policy.check(host="localhost", ip="127.0.0.1") == "loopback"
    # A name that is local by definition stays blocked whatever DNS claims.
    assert policy.check(host="localhost", ip="93.184.215.14") == "loopback"
    assert policy.check_host("localhost.") == "loopback"
    assert policy.check_host("example.com") is None


def test_policy_allow_private_keeps_metadata_and_multicast_blocked() -> None:
    policy = AddressPolicy(allow_private=True)
    for ip in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "100.64.0.1", "fd00::1", "::1"):
        assert policy.check(host="x.test", ip=ip) is None, ip
    assert policy.check(host="x.test", ip="::ffff:127.0.0.1") is None
    assert policy.check(host="x.test", ip="169.254.169.254") == "link_local"
    assert policy.check(host="x.test", ip="224.0.0.1") == "multicast"
    assert policy.check(host="x.test", ip="0.0.0.0") == "unspecified"
    assert "link_local" not in PRIVATE_CATEGORIES


def test_policy_allowed_hosts_by_name_or_ip_normalized() -> None:
    policy = AddressPolicy(allowed_hosts=frozenset({"127.0.0.2", "Feeds.Local.", "0x7f000003"}))
    assert policy.allowed_hosts == frozenset({"127.0.0.2", "feeds.local", "127.0.0.3"})
    assert policy.check(host="127.0.0.2", ip="127.0.0.2") is None
    assert policy.check(host="news.test", ip="127.0.0.2") is None  # allowed by IP
    assert policy.check(host="feeds.local", ip="10.9.9.9") is None  # allowed by name
    assert policy.check(host="127.0.0.4", ip="127.0.0.4") == "loopback"
    assert policy.check(host="news.test", ip="127.0.0.4") == "loopback"
    # Allowed IPs match exactly: a mapped spelling of one stays refused.
    assert policy.check(host="news.test", ip="::ffff:127.0.0.2") == "ipv4_mapped_loopback"


# -- properties ----------------------------------------------------------------------

_ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)
_ipv6 = st.integers(min_value=0, max_value=2**128 - 1).map(ipaddress.IPv6Address)
_interesting_v6 = st.one_of(
    _ipv6,
    _ipv4.map(lambda a: ipaddress.IPv6Address((0xFFFF << 32) | int(a))),  # mapped
    _ipv4.map(lambda a: ipaddress.IPv6Address((0x0064FF9B << 96) | int(a))),  # NAT64
    _ipv4.map(lambda a: ipaddress.IPv6Address((0x2002 << 112) | (int(a) << 80))),  # 6to4
    st.integers(min_value=0, max_value=2**64 - 1).map(
        lambda n: ipaddress.IPv6Address((0xFE80 << 112) | n)
    ),
)


@settings(max_examples=500)
@given(st.one_of(_ipv4, _interesting_v6))
def test_never_less_strict_than_stdlib(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    """Whatever the standard library calls non-global, we block too (and more)."""
    category = classify_address(str(address))
    if not address.is_global or address.is_private or address.is_multicast:
        assert category is not None, address


@settings(max_examples=500)
@given(_ipv4)
def test_embedded_ipv4_inherits_the_verdict(address: ipaddress.IPv4Address) -> None:
    inner = classify_address(str(address))
    mapped = classify_address(f"::ffff:{address}")
    nat64 = classify_address(str(ipaddress.IPv6Address((0x0064FF9B << 96) | int(address))))
    sixtofour = classify_address(str(ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80))))
    assert mapped is not None  # mapped forms are always refused
    if inner is not None:
        assert (nat64, sixtofour) == ("nat64", "6to4")
    else:
        assert nat64 is None and sixtofour is None


@settings(max_examples=300)
@given(_ipv4)
def test_every_ipv4_spelling_means_the_same_address(address: ipaddress.IPv4Address) -> None:
    n = int(address)
    octets = str(address).split(".")
    spellings = [
        str(n),
        hex(n),
        ".".join("0" + oct(int(o))[2:] if o != "0" else "0" for o in octets),
        ".".join(hex(int(o)) for o in octets),
        f"{octets[0]}.{n & 0xFFFFFF}",
        f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",
        str(address) + ".",
    ]
    for spelling in spellings:
        target = parse_host(f"http://{spelling}:8080/")
        assert isinstance(target, Target), spelling
        assert target.ip == str(address), spelling
        assert AddressPolicy().check_host(target.host) == classify_address(str(address))


@settings(max_examples=1000)
@given(st.text(max_size=80))
def test_parse_host_total_on_random_text(text: str) -> None:
    for url in (text, "http://" + text, "http://" + text + "/p", "https://[" + text + "]/"):
        result = parse_host(url)
        assert isinstance(result, Target | UrlError)
        if isinstance(result, Target):
            assert result.scheme in ("http", "https")
            assert 0 < result.port < 65536
            assert result.path.startswith("/") and result.path.isascii()
            assert result.host and result.host.isascii()
            decision = AddressPolicy().check_host(result.host)
            assert decision is None or isinstance(decision, str)
            if result.ip is not None:
                assert classify_address(result.ip) != "invalid"


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_classify_address_total_on_random_text(text: str) -> None:
    category = classify_address(text)
    assert category is None or isinstance(category, str)
    if category is None:
        ipaddress.ip_address(text.strip().strip("[]"))  # only real addresses pass


def test_host_answers_are_kept_for_short_spellings_only() -> None:
    from wiredesk.transforms.fetch import netguard

    cached = netguard.normalize_host.cached
    for host in ("0x7f.1", "WWW.Example.COM.", "bad host", "[::1]"):
        first = netguard.normalize_host(host)
        assert netguard.normalize_host(host) == first == netguard.normalize_host.uncached(host)
    before = cached.cache_info().currsize
    long_host = "a" * 63 + "." + "b" * 400
    assert isinstance(netguard.normalize_host(long_host), netguard.UrlError)
    assert cached.cache_info().currsize == before  # computed, not kept
    assert cached.cache_info().maxsize == 4096
