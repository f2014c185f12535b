"""did:web ids, URLs and documents, and the network resolver's safety limits."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from badgeworks.adapters import did_web, fetcher
from badgeworks.adapters.did_web import DidWebResolver, did_document, did_web_id, did_web_url
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import DidError, KeyFormatError
from badgeworks.core.loader import DocumentLoader

PUBLIC_IP = "93.184.215.14"
DID = "did:web:issuer.example:issuers:acme"
DOC_URL = "https://issuer.example/issuers/acme/did.json"
KEY = Ed25519KeyPair.generate(controller=DID, key_id=f"{DID}#key-1")


def _doc(did: str = DID) -> dict[str, Any]:
    return did_document(did, [("#key-1", KEY.public_key_multibase)])


def _public_dns(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    if host == "127.0.0.1":
        return socket.getaddrinfo(host, port, *args, **kwargs)
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]


def _resolver(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> DidWebResolver:
    kwargs.setdefault("getaddrinfo", _public_dns)
    return DidWebResolver(transport=httpx.MockTransport(handler), **kwargs)


def _fetched(resolver: DidWebResolver, url: str) -> dict[str, Any]:
    found = resolver(url)
    assert found is not None
    return found


def _serve(body: Any) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return handler


# --- ids, URLs and documents -------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "did"),
    [
        ("http://127.0.0.1:8000", ("issuers", "acme"), "did:web:127.0.0.1%3A8000:issuers:acme"),
        ("https://Badges.Example.org/", (), "did:web:badges.example.org"),
        (
            "https://example.org/badgeworks/",
            ("issuers", "a_b-c.d~e"),
            "did:web:example.org:badgeworks:issuers:a_b-c.d~e",
        ),
        ("http://localhost:8000", ("i",), "did:web:localhost%3A8000:i"),
    ],
)
def test_did_web_id(base: str, path: tuple[str, ...], did: str) -> None:
    assert did_web_id(base, *path) == did


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("http://127.0.0.1:8000", ("..",)),
        ("http://127.0.0.1:8000", ("a/b",)),
        ("http://127.0.0.1:8000", ("a:b",)),
        ("http://127.0.0.1:8000", ("",)),
        ("http://127.0.0.1:8000", ("a%2Fb",)),
        ("http://127.0.0.1:8000", ("a?b",)),
        ("ftp://example.org", ()),
        ("example.org", ()),
        ("https://user@example.org", ()),
        ("https://example.org/?q=1", ()),
        ("https://[::1]:8000", ()),
        ("https://exa mple.org", ()),
        ("https://example.org:99999", ()),
    ],
)
def test_did_web_id_refuses_what_did_web_cannot_express(base: str, path: tuple[str, ...]) -> None:
    with pytest.raises(DidError) as info:
        did_web_id(base, *path)
    assert info.value.code == "did.invalid"


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com:issuers:acme", "https://example.com/issuers/acme/did.json"),
        ("did:web:example.com%3A3000:u:alice", "https://example.com:3000/u/alice/did.json"),
        ("did:web:127.0.0.1%3A8000:issuers:acme", "http://127.0.0.1:8000/issuers/acme/did.json"),
        ("did:web:localhost", "http://localhost/.well-known/did.json"),
    ],
)
def test_did_web_url(did: str, url: str) -> None:
    assert did_web_url(did) == url


def test_did_web_url_http_hosts_are_configurable() -> None:
    did = "did:web:127.0.0.1%3A8000"
    assert did_web_url(did, allow_http_hosts=()) == "https://127.0.0.1:8000/.well-known/did.json"
    assert did_web_url("did:web:dev.test", allow_http_hosts=["dev.test"]).startswith("http://")


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6Mk",
        "did:web:",
        "did:web:example.com:..",
        "did:web:example.com:a%2Fb",
        "did:web:example.com#key-1",
        "did:web:example.com/path",
        "did:web:example.com?x",
        "did:web:example.com%3Aport",
        "did:web:example.com:",
        "did:web:%2E%2E",
        "did:web:evil.com%40example.com",
    ],
)
def test_did_web_url_refuses_malformed(did: str) -> None:
    with pytest.raises(DidError) as info:
        did_web_url(did)
    assert info.value.code == "did.invalid"


def test_round_trip_id_to_url() -> None:
    did = did_web_id("http://127.0.0.1:8000", "issuers", "acme")
    assert did_web_url(did) == "http://127.0.0.1:8000/issuers/acme/did.json"


def test_did_document_shape() -> None:
    other = Ed25519KeyPair.generate()
    doc = did_document(
        DID,
        [("#key-1", KEY.public_key_multibase), (f"{DID}#key-2", other.public_key_multibase)],
        alternate_names=["https://issuer.example/issuers/acme"],
    )
    ids = [f"{DID}#key-1", f"{DID}#key-2"]
    assert doc == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": DID,
        "alsoKnownAs": ["https://issuer.example/issuers/acme"],
        "verificationMethod": [
            {
                "id": ids[0],
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": KEY.public_key_multibase,
            },
            {
                "id": ids[1],
                "type": "Multikey",
                "controller": DID,
                "publicKeyMultibase": other.public_key_multibase,
            },
        ],
        "assertionMethod": ids,
        "authentication": ids,
    }
    assert "alsoKnownAs" not in _doc()


@pytest.mark.parametrize("vm_id", ["key-1", "did:web:other.example#key-1", f"{DID}#", "#"])
def test_did_document_refuses_foreign_method_ids(vm_id: str) -> None:
    with pytest.raises(DidError):
        did_document(DID, [(vm_id, KEY.public_key_multibase)])


def test_did_document_refuses_duplicates_and_bad_keys() -> None:
    with pytest.raises(DidError):
        did_document(
            DID, [("#a", KEY.public_key_multibase), (f"{DID}#a", KEY.public_key_multibase)]
        )
    with pytest.raises(KeyFormatError):
        did_document(DID, [("#a", "zNotAKey")])


# --- the resolver ------------------------------------------------------------------------


def test_resolves_a_good_document_via_the_checked_address() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_doc())

    resolver = _resolver(handler)
    assert resolver(DID) == _doc()
    (request,) = seen
    # The request goes to the address that passed the check, named by Host and SNI.
    assert request.url.host == PUBLIC_IP
    assert request.url.scheme == "https"
    assert request.url.path == "/issuers/acme/did.json"
    assert request.headers["host"] == "issuer.example"
    assert request.extensions["sni_hostname"] == "issuer.example"


def test_returns_none_for_other_urls() -> None:
    resolver = _resolver(lambda r: pytest.fail("must not fetch"))
    for url in ("did:key:z6Mk", "https://example.org/ctx", "did:webx:a", "urn:x"):
        assert resolver(url) is None


def test_fragment_returns_the_verification_method() -> None:
    resolver = _resolver(_serve(_doc()))
    vm = resolver(f"{DID}#key-1")
    assert vm == {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": f"{DID}#key-1",
        "type": "Multikey",
        "controller": DID,
        "publicKeyMultibase": KEY.public_key_multibase,
    }


def test_relative_method_ids_in_a_foreign_document() -> None:
    doc = _doc()
    doc["verificationMethod"][0]["id"] = "#key-1"
    assert _fetched(_resolver(_serve(doc)), f"{DID}#key-1")["id"] == f"{DID}#key-1"


def test_unknown_fragment() -> None:
    with pytest.raises(DidError) as info:
        _resolver(_serve(_doc()))(f"{DID}#key-9")
    assert info.value.code == "did.not_found"


def test_method_with_foreign_controller_is_refused() -> None:
    doc = _doc()
    doc["verificationMethod"][0]["controller"] = "did:web:attacker.example"
    with pytest.raises(DidError) as info:
        _resolver(_serve(doc))(f"{DID}#key-1")
    assert info.value.code == "did.web_invalid"


def test_plugs_into_the_document_loader() -> None:
    loader = DocumentLoader({}).with_resolver(_resolver(_serve(_doc())))
    assert loader.load(f"{DID}#key-1")["publicKeyMultibase"] == KEY.public_key_multibase


@pytest.mark.parametrize("body", [_doc("did:web:attacker.example"), {"no": "id"}, [1, 2]])
def test_wrong_id_or_shape(body: Any) -> None:
    with pytest.raises(DidError) as info:
        _resolver(_serve(body))(DID)
    assert info.value.code == "did.web_invalid"


def test_oversized_with_content_length() -> None:
    big = json.dumps({**_doc(), "pad": "x" * 2000}).encode()
    resolver = _resolver(
        lambda r: httpx.Response(200, content=big, headers={"content-type": "application/json"}),
        max_bytes=1000,
    )
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_too_large"


def test_oversized_streamed_without_content_length() -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        yield b'{"pad": "'
        for i in range(10_000):
            produced.append(i)
            yield b"x" * 1024

    resolver = _resolver(
        lambda r: httpx.Response(
            200, content=endless(), headers={"content-type": "application/did+json"}
        ),
    )
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_too_large"
    # Reading stopped near the 256 KiB default instead of draining the stream.
    assert len(produced) < 300


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html>hi</html>"),
        ("text/plain", json.dumps(_doc()).encode()),
        ("", json.dumps(_doc()).encode()),
        ("application/json", b"{not json"),
        ("application/json", b"\xff\xfe"),
    ],
)
def test_non_json(content_type: str, body: bytes) -> None:
    headers = {"content-type": content_type} if content_type else {}
    resolver = _resolver(lambda r: httpx.Response(200, content=body, headers=headers))
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_invalid"


@pytest.mark.parametrize(
    "content_type", ["application/did+ld+json", "application/ld+json; charset=utf-8"]
)
def test_ld_json_content_types_are_accepted(content_type: str) -> None:
    body = json.dumps(_doc()).encode()
    headers = {"content-type": content_type}
    resolver = _resolver(lambda r: httpx.Response(200, content=body, headers=headers))
    assert _fetched(resolver, DID)["id"] == DID


@pytest.mark.parametrize(
    "location",
    [
        "https://attacker.example/did.json",
        "http://issuer.example/issuers/acme/did.json",
        "https://issuer.example:8443/issuers/acme/did.json",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_redirects_to_another_host_or_http_are_refused(location: str) -> None:
    resolver = _resolver(lambda r: httpx.Response(302, headers={"location": location}))
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_invalid"


def test_same_host_redirect_is_followed_and_rechecked() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/issuers/acme/did.json":
            return httpx.Response(301, headers={"location": "/v2/acme/did.json"})
        return httpx.Response(200, json=_doc())

    assert _resolver(handler)(DID) == _doc()
    assert paths == ["/issuers/acme/did.json", "/v2/acme/did.json"]


def test_redirect_loop_is_cut_off() -> None:
    resolver = _resolver(lambda r: httpx.Response(302, headers={"location": r.url.path}))
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_invalid"


@pytest.mark.parametrize(
    "response_or_error",
    [
        httpx.Response(404),
        httpx.Response(500),
        httpx.ConnectTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
)
def test_unreachable(response_or_error: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response_or_error, Exception):
            raise response_or_error
        assert isinstance(response_or_error, httpx.Response)
        return response_or_error

    with pytest.raises(DidError) as info:
        _resolver(handler)(DID)
    assert info.value.code == "did.web_unreachable"


def test_unresolvable_host() -> None:
    def no_dns(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    resolver = _resolver(lambda r: pytest.fail("must not fetch"), getaddrinfo=no_dns)
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_unreachable"


# --- private addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "did",
    [
        "did:web:127.0.0.1%3A8000:issuers:acme",
        "did:web:10.0.0.1",
        "did:web:169.254.169.254",
        "did:web:192.168.1.1",
        "did:web:100.64.0.1",
        "did:web:0.0.0.0",
        "did:web:224.0.0.1",
    ],
)
def test_private_addresses_are_refused_with_real_getaddrinfo(did: str) -> None:
    resolver = DidWebResolver(transport=httpx.MockTransport(lambda r: pytest.fail("fetched")))
    with pytest.raises(DidError) as info:
        resolver(did)
    assert info.value.code == "did.web_forbidden_address"


@pytest.mark.parametrize("address", ["::1", "::ffff:127.0.0.1", "fe80::1", "fd00::1", "10.0.0.1"])
def test_host_names_resolving_to_private_addresses_are_refused(address: str) -> None:
    # did:web cannot spell an IPv6 literal, but a host name can resolve to one.
    def dns(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    resolver = _resolver(lambda r: pytest.fail("fetched"), getaddrinfo=dns)
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_forbidden_address"
    # The message names the DID's host, never the address it resolved to.
    assert address not in str(info.value)


def test_a_host_with_any_private_address_is_refused() -> None:
    def mixed(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
        ]

    resolver = _resolver(lambda r: pytest.fail("fetched"), getaddrinfo=mixed)
    with pytest.raises(DidError) as info:
        resolver(DID)
    assert info.value.code == "did.web_forbidden_address"


@pytest.mark.parametrize("address", [PUBLIC_IP, "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not fetcher.forbidden_address(address)


def test_private_addresses_allowed_when_configured() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=_doc(did))

    did = "did:web:127.0.0.1%3A8000:issuers:acme"
    resolver = DidWebResolver(transport=httpx.MockTransport(handler), allow_private=True)
    assert _fetched(resolver, did)["id"] == did
    assert seen == ["http://127.0.0.1:8000/issuers/acme/did.json"]


# --- a real HTTP server on loopback ------------------------------------------------------


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[dict[str, str]]]]:
    requests: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append({"path": self.path, "host": self.headers.get("Host", "")})
            host = self.headers.get("Host", "")
            did = did_web._PREFIX + host.replace(":", "%3A") + ":issuers:acme"
            body = json.dumps(_doc(did)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()


def test_real_http_fetch_when_private_allowed(
    local_server: tuple[int, list[dict[str, str]]],
) -> None:
    port, requests = local_server
    did = f"did:web:127.0.0.1%3A{port}:issuers:acme"
    resolver = DidWebResolver(allow_private=True)
    try:
        assert _fetched(resolver, did)["id"] == did
    finally:
        resolver.close()
    assert requests == [{"path": "/issuers/acme/did.json", "host": f"127.0.0.1:{port}"}]


def test_real_http_fetch_goes_to_the_pinned_address(
    local_server: tuple[int, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name that "resolves" to loopback, with the address check switched off, shows the
    # request really connects to the checked address while naming the original host.
    port, requests = local_server
    monkeypatch.setattr(fetcher, "forbidden_address", lambda address: False)

    def dns(host: str, p: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        assert host == "issuer.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", p))]

    did = f"did:web:issuer.test%3A{port}:issuers:acme"
    resolver = DidWebResolver(getaddrinfo=dns, allow_http_hosts=["issuer.test"])
    try:
        assert _fetched(resolver, did)["id"] == did
    finally:
        resolver.close()
    assert requests == [{"path": "/issuers/acme/did.json", "host": f"issuer.test:{port}"}]


# --- odd path segments and the request's fetch budget ----------------------------------------


@pytest.mark.parametrize(
    "did",
    [
        "did:web:issuer.example:%2F",
        "did:web:issuer.example:%2E%2E",
        "did:web:issuer.example:issuers:a%2Fb",
        "did:web:issuer.example:..",
        "did:web:issuer.example:.",
    ],
)
def test_percent_encoded_and_dot_segments_are_refused_without_a_fetch(did: str) -> None:
    with pytest.raises(DidError) as info:
        did_web.check_did_web(did)
    assert info.value.code == "did.invalid"
    resolver = _resolver(lambda request: pytest.fail(f"fetched {request.url}"))
    with pytest.raises(DidError) as info:
        resolver.resolve(did)
    assert info.value.code == "did.invalid"


def test_percent_encoding_is_named_in_the_message() -> None:
    with pytest.raises(DidError) as info:
        did_web.check_did_web("did:web:issuer.example:%2F")
    assert "decodes to '/'" in info.value.message


def test_a_spent_budget_keeps_its_code() -> None:
    resolver = _resolver(_serve(_doc()))
    budget = fetcher.FetchBudget(max_fetches=0)
    with budget.activate(), pytest.raises(DidError) as info:
        resolver.resolve(DID)
    assert info.value.code == "fetch.budget_exceeded"
    assert info.value.details["limit"] == "fetches"
    assert "reached its limit of 0 fetches" in info.value.details["reason"]
