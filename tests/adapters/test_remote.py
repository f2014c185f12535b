"""Remote look-ups built on the fetcher: status lists, HTTPS keys, the loader, URL input."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from badgeworks.adapters.did_web import DidWebResolver, did_document
from badgeworks.adapters.fetcher import FetchBudget, Fetcher, FetchError
from badgeworks.adapters.remote import (
    HttpsKeyResolver,
    StatusListFetcher,
    budget_skipped,
    fetch_credential,
    remote_loader,
)
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import ContextError, DidError, StatusError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof, verify_proofs
from badgeworks.core.status import (
    encode_list,
    new_bitstring,
    set_status,
    status_list_credential,
)
from badgeworks.core.verification.report import Check, Report
from badgeworks.core.verification.status import check_status

PUBLIC_IP = "93.184.215.14"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://issuer.example/status/1"
CONTROLLER = "https://issuer.example/issuers/acme"
KEY_URL = f"{CONTROLLER}#key-1"
VC_V2 = "https://www.w3.org/ns/credentials/v2"

Handler = Callable[[httpx.Request], httpx.Response]


def _public_dns(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_IP, port))]


def _fetcher(handler: Handler, **kwargs: Any) -> Fetcher:
    return Fetcher(transport=httpx.MockTransport(handler), getaddrinfo=_public_dns, **kwargs)


def _routes(routes: dict[str, Any], seen: list[str] | None = None) -> Handler:
    """Serve JSON (or a ready Response) by ``https://host/path`` URL."""

    def handler(request: httpx.Request) -> httpx.Response:
        url = f"https://{request.headers['host']}{request.url.path}"
        if seen is not None:
            seen.append(url)
        found = routes.get(url)
        if found is None:
            return httpx.Response(404)
        if isinstance(found, httpx.Response):
            return found
        return httpx.Response(200, json=found)

    return handler


def _never(request: httpx.Request) -> httpx.Response:
    pytest.fail(f"must not fetch {request.url}")


# --- StatusListFetcher -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def _signed_list(key: Ed25519KeyPair, loader: DocumentLoader, revoked: int) -> dict[str, Any]:
    bits = new_bitstring()
    set_status(bits, revoked, 1)
    unsigned = status_list_credential(
        id=LIST_URL,
        issuer=key.controller,
        purpose="revocation",
        encoded_list=encode_list(bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return add_proof(unsigned, key, loader, created=datetime(2025, 1, 1, tzinfo=UTC))


def _credential(issuer: str, index: int) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "credentialStatus": {
            "id": f"{LIST_URL}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": LIST_URL,
        },
    }


def test_status_list_is_fetched_and_checked(
    issuer_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    signed = _signed_list(issuer_key, loader, revoked=7)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = json.dumps(signed).encode()
        return httpx.Response(200, content=body, headers={"content-type": "application/vc+ld+json"})

    resolver = StatusListFetcher(_fetcher(handler))
    (ok,) = check_status(_credential(issuer_key.controller, 6), resolver, loader, now=NOW)
    (revoked,) = check_status(_credential(issuer_key.controller, 7), resolver, loader, now=NOW)
    assert (ok.outcome, ok.code) == ("pass", "status.ok")
    assert (revoked.outcome, revoked.code) == ("fail", "status.revoked")
    # One fetch: the second check is served from the fetcher's cache.
    assert len(seen) == 1
    assert seen[0].headers["accept"].startswith("application/vc+ld+json, application/json")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain; charset=utf-8", "application/octet-stream", "application/ld+json"],
)
def test_status_list_served_as_a_plain_file_is_read(
    content_type: str, issuer_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """Bitstring Status List §3.2 step 4 asks only that the URL dereference to the list
    credential; raw files (GitHub serves them as text/plain) are that credential too."""
    signed = _signed_list(issuer_key, loader, revoked=7)
    body = json.dumps(signed).encode()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    resolver = StatusListFetcher(_fetcher(handler))
    (revoked,) = check_status(_credential(issuer_key.controller, 7), resolver, loader, now=NOW)
    assert (revoked.outcome, revoked.code) == ("fail", "status.revoked")
    accepted = seen[0].headers["accept"]
    assert "text/plain;q=0.5" in accepted and "application/octet-stream;q=0.5" in accepted


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("text/plain", b"not json at all", "JSON"),
        ("application/octet-stream", b"\x1f\x8b\x08\x00binary", "JSON"),
        ("text/plain", b"eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2ln", "JSON"),
        ("text/plain", b'["a list", "not an object"]', "not a JSON object"),
        ("text/plain", b"[" * 5000 + b"]" * 5000, "deep"),
        ("text/html", b'{"type": "BitstringStatusListCredential"}', "text/html"),
        ("image/png", b'{"type": "BitstringStatusListCredential"}', "image/png"),
    ],
)
def test_plain_file_lists_must_be_json_objects(content_type: str, body: bytes, reason: str) -> None:
    response = httpx.Response(200, content=body, headers={"content-type": content_type})
    with pytest.raises(StatusError) as info:
        StatusListFetcher(_fetcher(lambda r: response))(LIST_URL)
    assert info.value.code == "status.unavailable"
    assert reason in str(info.value)


def test_plain_file_lists_keep_the_size_cap() -> None:
    big = httpx.Response(
        200, content=b'{"pad": "' + b"x" * 5000 + b'"}', headers={"content-type": "text/plain"}
    )
    with pytest.raises(StatusError) as info:
        StatusListFetcher(_fetcher(lambda r: big), max_bytes=1000)(LIST_URL)
    assert info.value.details["cause"] == "fetch.too_large"


def test_local_status_lists_are_asked_first(
    issuer_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    signed = _signed_list(issuer_key, loader, revoked=7)
    asked: list[str] = []

    def local(url: str) -> dict[str, Any] | None:
        asked.append(url)
        return signed if url == LIST_URL else None

    resolver = StatusListFetcher(_fetcher(_never), local=local)
    (check,) = check_status(_credential(issuer_key.controller, 7), resolver, loader, now=NOW)
    assert check.code == "status.revoked"
    assert asked == [LIST_URL]


def test_local_none_falls_through_to_the_network() -> None:
    resolver = StatusListFetcher(
        _fetcher(_routes({LIST_URL: {"type": "x"}})), local=lambda url: None
    )
    assert resolver(LIST_URL) == {"type": "x"}


@pytest.mark.parametrize(
    ("url", "response", "reason"),
    [
        ("http://127.0.0.1/status/1", None, "private, loopback"),
        ("http://169.254.169.254/latest", None, "private, loopback"),
        ("file:///etc/passwd", None, "not an http or https URL"),
        (LIST_URL, httpx.Response(404), "HTTP 404"),
        (LIST_URL, httpx.Response(500), "HTTP 500"),
        (LIST_URL, httpx.Response(200, text="<html>", headers={"content-type": "text/html"}), ""),
        (
            LIST_URL,
            httpx.Response(200, content=b"{nope", headers={"content-type": "application/json"}),
            "JSON",
        ),
        (LIST_URL, httpx.Response(200, json=[1, 2]), "not a JSON object"),
        (
            LIST_URL,
            httpx.Response(
                200, content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"}
            ),
            "deep",
        ),
        (LIST_URL, httpx.ConnectTimeout("slow"), "took longer"),
    ],
)
def test_status_list_failures_are_unavailable(url: str, response: Any, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if response is None:
            pytest.fail("must not fetch")
        if isinstance(response, Exception):
            raise response
        assert isinstance(response, httpx.Response)
        return response

    with pytest.raises(StatusError) as info:
        StatusListFetcher(_fetcher(handler))(url)
    assert info.value.code == "status.unavailable"
    assert reason in str(info.value)


def test_status_failure_reads_well_in_the_report(loader: DocumentLoader) -> None:
    resolver = StatusListFetcher(_fetcher(lambda r: httpx.Response(503)))
    (check,) = check_status(_credential("did:example:issuer", 1), resolver, loader, now=NOW)
    assert (check.outcome, check.code) == ("fail", "status.unavailable")
    assert "could not be retrieved" in check.message
    assert "HTTP 503" in check.message


def test_status_list_size_cap() -> None:
    big = httpx.Response(200, json={"pad": "x" * 5000})
    with pytest.raises(StatusError) as info:
        StatusListFetcher(_fetcher(lambda r: big), max_bytes=1000)(LIST_URL)
    assert info.value.code == "status.unavailable"
    assert info.value.details["cause"] == "fetch.too_large"


# --- HttpsKeyResolver --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate(controller=CONTROLLER, key_id=KEY_URL)


def _controller_doc(key: Ed25519KeyPair, method_id: str = "#key-1") -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/cid/v1"],
        "id": CONTROLLER,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": CONTROLLER,
                "publicKeyMultibase": key.public_key_multibase,
            }
        ],
        "assertionMethod": [KEY_URL],
    }


@pytest.mark.parametrize(
    "url", ["did:key:z6Mk", "did:web:example.org", "urn:uuid:1", "ftp://a/b", 42, None]
)
def test_key_resolver_ignores_other_urls(url: Any) -> None:
    assert HttpsKeyResolver(_fetcher(_never))(url) is None


@pytest.mark.parametrize("method_id", ["#key-1", KEY_URL])
def test_key_resolver_finds_the_fragment(https_key: Ed25519KeyPair, method_id: str) -> None:
    seen: list[str] = []
    routes = {CONTROLLER: _controller_doc(https_key, method_id)}
    method = HttpsKeyResolver(_fetcher(_routes(routes, seen)))(KEY_URL)
    assert method == {
        "@context": "https://w3id.org/security/multikey/v1",
        "id": KEY_URL,
        "type": "Multikey",
        "controller": CONTROLLER,
        "publicKeyMultibase": https_key.public_key_multibase,
    }
    assert seen == [CONTROLLER]


def test_key_resolver_unknown_fragment(https_key: Ed25519KeyPair) -> None:
    resolver = HttpsKeyResolver(_fetcher(_routes({CONTROLLER: _controller_doc(https_key)})))
    with pytest.raises(DidError) as info:
        resolver(f"{CONTROLLER}#key-9")
    assert info.value.code == "key.not_found"


def test_key_resolver_returns_the_document_named_by_its_url(https_key: Ed25519KeyPair) -> None:
    resolver = HttpsKeyResolver(_fetcher(_routes({CONTROLLER: _controller_doc(https_key)})))
    assert resolver(CONTROLLER) == _controller_doc(https_key)


@pytest.mark.parametrize(
    "body",
    [
        {"@context": {"name": "https://schema.org/name"}},
        {"@context": [VC_V2], "id": "https://elsewhere.example/doc"},
        {"no": "id"},
        [1, 2],
    ],
)
def test_key_resolver_refuses_documents_not_about_the_url(body: Any) -> None:
    resolver = HttpsKeyResolver(_fetcher(_routes({CONTROLLER: body})))
    with pytest.raises(DidError) as info:
        resolver(CONTROLLER)
    assert info.value.code == "key.document_invalid"


def test_key_resolver_accepts_a_bare_jwk() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    url = "https://issuer.example/keys/1.jwk"
    assert HttpsKeyResolver(_fetcher(_routes({url: jwk})))(url) == jwk


@pytest.mark.parametrize(
    "url",
    [
        VC_V2,
        "http://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/2018/credentials/v1",
        "https://w3id.org/security/data-integrity/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://contexts.example/never#x",
    ],
)
def test_contexts_are_never_fetched(url: str) -> None:
    resolver = HttpsKeyResolver(_fetcher(_never), never_fetch={"https://contexts.example/never"})
    with pytest.raises(ContextError) as info:
        resolver(url)
    assert info.value.code == "context.not_allowed"


def test_key_fetch_errors_keep_their_code() -> None:
    with pytest.raises(FetchError) as info:
        HttpsKeyResolver(_fetcher(_never))("http://10.0.0.1/keys/1")
    assert info.value.code == "fetch.forbidden_address"


# --- remote_loader ---------------------------------------------------------------------------


def _unsigned(issuer: str) -> dict[str, Any]:
    return {
        "@context": [VC_V2],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }


def test_remote_loader_verifies_an_https_key(
    https_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    signed = add_proof(_unsigned(CONTROLLER), https_key, loader, created=NOW)
    seen: list[str] = []
    fetcher = _fetcher(_routes({CONTROLLER: _controller_doc(https_key)}, seen))
    (result,) = verify_proofs(signed, remote_loader(loader, fetcher), now=NOW)
    assert result.verified, result.message
    # The method and its controller are one document, fetched once; no context is fetched.
    assert seen == [CONTROLLER]


def test_remote_loader_verifies_a_did_web_key(loader: DocumentLoader) -> None:
    did = "did:web:issuer.example:issuers:acme"
    key = Ed25519KeyPair.generate(controller=did, key_id=f"{did}#key-1")
    signed = add_proof(_unsigned(did), key, loader, created=NOW)
    routes = {
        "https://issuer.example/issuers/acme/did.json": did_document(
            did, [("#key-1", key.public_key_multibase)]
        )
    }
    (result,) = verify_proofs(signed, remote_loader(loader, _fetcher(_routes(routes))), now=NOW)
    assert result.verified, result.message


def test_remote_loader_serves_bundled_contexts_without_fetching(loader: DocumentLoader) -> None:
    remote = remote_loader(loader, _fetcher(_never))
    assert remote.load(VC_V2) is loader.load(VC_V2)
    with pytest.raises(ContextError):
        remote.load("https://www.w3.org/ns/credentials/v99")


def test_remote_loader_refuses_a_forbidden_key_url(
    https_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    local = Ed25519KeyPair.generate(
        controller="http://127.0.0.1:8000/issuers/acme",
        key_id="http://127.0.0.1:8000/issuers/acme#key-1",
    )
    signed = add_proof(_unsigned(local.controller), local, loader, created=NOW)
    (result,) = verify_proofs(signed, remote_loader(loader, _fetcher(_never)), now=NOW)
    assert not result.verified
    assert result.code == "fetch.forbidden_address"


def test_did_web_resolver_uses_a_shared_fetcher() -> None:
    did = "did:web:issuer.example"
    key = Ed25519KeyPair.generate()
    seen: list[str] = []
    routes = {
        "https://issuer.example/.well-known/did.json": did_document(
            did, [("#key-1", key.public_key_multibase)]
        )
    }
    fetcher = _fetcher(_routes(routes, seen))
    first = DidWebResolver(fetcher=fetcher)
    second = DidWebResolver(fetcher=fetcher)
    assert first(did) == second(did)
    assert len(seen) == 1
    first.close()  # a shared fetcher is not closed by one of its users
    assert second(f"{did}#key-1") is not None
    with pytest.raises(ValueError):
        DidWebResolver(fetcher=fetcher, transport=httpx.MockTransport(_never))


# --- fetch_credential ------------------------------------------------------------------------


JWS = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/vc+ld+json", b'{"type": ["VerifiableCredential"]}'),
        ("application/ld+json", b"{}"),
        ("application/json; charset=utf-8", b"{}"),
        ("text/plain", JWS.encode()),
        ("application/vc+jwt", JWS.encode()),
    ],
)
def test_fetch_credential(content_type: str, body: bytes) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    assert fetch_credential("https://issuer.example/c/1", _fetcher(handler)) == body
    assert "text/plain" in seen[0].headers["accept"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8000/c/1", "fetch.forbidden_address"),
        ("http://[::1]/c/1", "fetch.forbidden_address"),
        ("http://169.254.169.254/latest/meta-data/", "fetch.forbidden_address"),
        ("file:///etc/passwd", "fetch.bad_url"),
        ("gopher://example.org/", "fetch.bad_url"),
        ("not a url", "fetch.bad_url"),
    ],
)
def test_fetch_credential_refuses(url: str, code: str) -> None:
    with pytest.raises(FetchError) as info:
        fetch_credential(url, _fetcher(_never))
    assert info.value.code == code


def test_fetch_credential_refuses_images() -> None:
    png = httpx.Response(200, content=b"\x89PNG\r\n", headers={"content-type": "image/png"})
    with pytest.raises(FetchError) as info:
        fetch_credential("https://issuer.example/c/1", _fetcher(lambda r: png))
    assert info.value.code == "fetch.bad_content"


# --- budget_skipped ------------------------------------------------------------------------


def test_checks_stopped_by_the_budget_are_restated_as_not_run(
    issuer_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    signed = _signed_list(issuer_key, loader, revoked=7)
    other = "https://issuer.example/status/2"
    fetcher = _fetcher(_routes({LIST_URL: signed, other: signed}))
    status = StatusListFetcher(fetcher)
    credential = _credential(issuer_key.controller, 6)
    second = dict(credential["credentialStatus"], statusListCredential=other, id=other + "#6")
    credential["credentialStatus"] = [credential["credentialStatus"], second]
    budget = FetchBudget(max_fetches=1)
    with budget.activate():
        checks = check_status(credential, status, loader, now=NOW)
        keys = HttpsKeyResolver(fetcher)
        with pytest.raises(FetchError) as info:
            keys(KEY_URL)
    assert info.value.code == "fetch.budget_exceeded"
    untouched = Check("proof", "fail", "proof.invalid", "The signature is wrong.")
    proof = Check("proof", "indeterminate", "fetch.budget_exceeded", str(info.value))
    deliverable = Check(
        "deliverable",
        "warning",
        "deliverable.unavailable",
        "We couldn't fetch it.",
        {"id": "https://files.example/report.pdf", "reason": "fetch.budget_exceeded"},
    )
    report = budget_skipped(Report([*checks, untouched, proof, deliverable]), budget)
    ok, skipped, same, key, file = report.checks
    assert (ok.outcome, ok.code) == ("pass", "status.ok")
    assert skipped.code == "fetch.budget_exceeded"
    assert skipped.outcome == checks[1].outcome
    assert skipped.detail["limit"] == "fetches"
    assert skipped.detail["statusListCredential"] == other
    assert skipped.message.startswith("Whether this credential was revoked was not checked")
    assert "because this request reached its limit of 1 fetch" in skipped.message
    assert "nothing against the credential" in skipped.message
    assert same == untouched
    assert key.outcome == "indeterminate" and key.message.startswith("The signature was not")
    assert file.outcome == "warning" and file.code == "fetch.budget_exceeded"
    assert "report.pdf was not compared" in file.message


def test_an_unspent_budget_leaves_the_report_alone() -> None:
    report = Report([Check("status", "fail", "status.unavailable", "Could not fetch.")])
    assert budget_skipped(report, FetchBudget()) is report
