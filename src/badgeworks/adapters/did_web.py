"""``did:web`` (W3C CCG did:web Method Specification): ids, URLs, documents and a resolver.

Our own issuers get ``did:web`` ids under the service's public URL, and we publish their
DID documents. ``DidWebResolver`` fetches other services' documents to verify their
credentials; it fetches through the shared ``Fetcher`` (adapters/fetcher.py: address checks and
pinning, timeout, size cap) and additionally refuses cross-host redirects. See
docs/did-web.md and docs/fetching.md.
"""

from __future__ import annotations

import socket
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from badgeworks.adapters.fetcher import Fetcher, FetchError, GetAddrInfo
from badgeworks.core import multikey
from badgeworks.core.contexts import MULTIKEY_CONTEXT
from badgeworks.core.document import parse_json_document
from badgeworks.core.errors import DidError, InputError

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
LOCAL_HTTP_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1")
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 256 * 1024
MAX_REDIRECTS = 3

_PREFIX = "did:web:"
# Path segments become URL path segments and DID ``:``-separated parts: only unreserved
# URL characters (RFC 3986 section 2.3), so no segment can carry ``/``, ``:``, ``%`` or
# a query, and ``.``/``..`` are refused separately.
_SEGMENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# Sent as Accept and checked against Content-Type; any other ``+json`` type passes too.
_ACCEPT = "application/did+json, application/did+ld+json, application/json"
# How the fetcher's errors read as did:web resolution errors (codes kept from before the
# fetcher existed; they are part of the verification report's contract).
_FETCH_CODES = {
    "fetch.forbidden_address": "did.web_forbidden_address",
    "fetch.too_large": "did.web_too_large",
    "fetch.bad_content": "did.web_invalid",
    "fetch.bad_url": "did.web_invalid",
    "fetch.redirect_refused": "did.web_invalid",
    "fetch.too_many_redirects": "did.web_invalid",
    "fetch.unreachable": "did.web_unreachable",
    "fetch.timeout": "did.web_unreachable",
    "fetch.http_error": "did.web_unreachable",
    # The request's fetch budget ran out: not the DID's fault; the report says so.
    "fetch.budget_exceeded": "fetch.budget_exceeded",
}


def _invalid(message: str) -> DidError:
    return DidError(message, code="did.invalid")


def _check_segment(segment: str, what: str) -> str:
    if isinstance(segment, str) and "%" in segment:
        # A percent-encoded segment could decode to "/", "." or ".." and move the document
        # URL to another path on the host (did:web:example.com:%2E%2E → /../did.json).
        decoded = unquote(segment)
        raise _invalid(
            f"the {what} {segment!r:.80} is percent-encoded (it decodes to {decoded!r:.80}); "
            "did:web path segments may hold only letters, digits, '-', '.', '_' and '~'"
        )
    if (
        not isinstance(segment, str)
        or not segment
        or segment in (".", "..")
        or not set(segment) <= _SEGMENT_CHARS
    ):
        raise _invalid(
            f"the {what} {segment!r:.80} is not a valid did:web path segment "
            "(letters, digits, '-', '.', '_', '~'; not '.' or '..')"
        )
    return segment


def _check_host(host: str, port: int | None) -> str:
    host = host.lower()
    labels = host.split(".")
    if (
        not host
        or not set(host) <= _HOST_CHARS
        or any(not label or label.startswith("-") or label.endswith("-") for label in labels)
    ):
        raise _invalid(
            f"the host {host!r:.80} is not a domain name or IPv4 address did:web can name"
        )
    if port is not None and not 0 < port < 65536:
        raise _invalid(f"the port {port!r} is out of range")
    return host


def did_web_id(base_url: str, *path: str) -> str:
    """The ``did:web`` DID for ``base_url`` plus ``path`` segments.

    ``did_web_id("http://127.0.0.1:8000", "issuers", "acme")`` is
    ``did:web:127.0.0.1%3A8000:issuers:acme``: the port's colon is percent-encoded and
    path segments (including any in ``base_url``) are joined with ``:`` (did:web spec,
    "Create"). The scheme is not part of the DID.
    """
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except (ValueError, TypeError):
        raise _invalid(f"the base URL {base_url!r:.120} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(f"the base URL {base_url!r:.120} is not an http(s) URL with a host")
    if parts.username is not None or parts.query or parts.fragment or "[" in parts.netloc:
        raise _invalid(
            f"the base URL {base_url!r:.120} has user info, a query, a fragment or an IPv6 "
            "literal, which did:web cannot express"
        )
    host = _check_host(parts.hostname, port)
    base_segments = [s for s in parts.path.split("/") if s]
    segments = [_check_segment(s, "base URL path segment") for s in base_segments]
    segments += [_check_segment(s, "path segment") for s in path]
    authority = host if port is None else f"{host}%3A{port}"
    return ":".join([_PREFIX + authority, *segments])


def _parse_did(did: str) -> tuple[str, int | None, list[str]]:
    """Split a did:web DID into host, port and path segments, validating each."""
    if not isinstance(did, str) or not did.startswith(_PREFIX):
        raise _invalid(f"{did!r:.120} is not a did:web DID")
    if any(c in did for c in "#?/"):
        raise _invalid(f"{did!r:.120} is a DID URL, not a did:web DID")
    authority, *segments = did[len(_PREFIX) :].split(":")
    # did:web spec, "Read (Resolve)": percent-decode the port's colon.
    host, sep, port_text = unquote(authority).partition(":")
    port: int | None = None
    if sep:
        if not port_text.isdigit() or not port_text.isascii():
            raise _invalid(f"{did!r:.120} has an invalid port {port_text!r:.20}")
        port = int(port_text)
    host = _check_host(host, port)
    return host, port, [_check_segment(s, "DID path segment") for s in segments]


def check_did_web(did: str) -> None:
    """Raise ``DidError`` (``did.invalid``) unless ``did`` is a did:web DID we can resolve.

    For DIDs a person hands us to keep (a mentor's own did:web): refused here, they are
    never stored. The host must be a domain name or IPv4 address, the port a number, and
    every path segment plain unreserved characters: no percent-encoding (``%2F`` would
    decode to ``/``), and never ``.`` or ``..``.
    """
    _parse_did(did)


def did_web_url(did: str, *, allow_http_hosts: Collection[str] = LOCAL_HTTP_HOSTS) -> str:
    """The URL of ``did``'s DID document (did:web spec, "Read (Resolve)").

    ``did:web:example.com`` → ``https://example.com/.well-known/did.json``;
    ``did:web:example.com:issuers:acme`` → ``https://example.com/issuers/acme/did.json``.
    The scheme is https, except http for the hosts in ``allow_http_hosts`` (local dev).
    """
    host, port, segments = _parse_did(did)
    scheme = "http" if host in {h.lower() for h in allow_http_hosts} else "https"
    authority = host if port is None else f"{host}:{port}"
    path = "/".join(segments) if segments else ".well-known"
    return f"{scheme}://{authority}/{path}/did.json"


def did_document(
    did: str,
    methods: Sequence[tuple[str, str]],
    *,
    alternate_names: Sequence[str] = (),
) -> dict[str, Any]:
    """A DID document for ``did`` with Multikey verification methods.

    ``methods`` is ``(verification method id, publicKeyMultibase)`` pairs; an id is either
    absolute (``<did>#key-1``) or a fragment (``#key-1``). Every method is listed under
    ``assertionMethod`` (signing credentials) and ``authentication``. ``alternate_names``
    become ``alsoKnownAs`` (for example the issuer's https profile URL).
    """
    _parse_did(did)
    verification_methods: list[dict[str, Any]] = []
    ids: list[str] = []
    for vm_id, public_key_multibase in methods:
        full_id = did + vm_id if vm_id.startswith("#") else vm_id
        if not full_id.startswith(did + "#") or len(full_id) == len(did) + 1:
            raise _invalid(
                f"the verification method id {vm_id!r:.120} is neither '{did}#<fragment>' "
                "nor '#<fragment>'"
            )
        if full_id in ids:
            raise _invalid(f"the verification method id {full_id!r:.160} is listed twice")
        # Raises KeyFormatError for anything but an Ed25519 Multikey (z6Mk…).
        multikey.decode_public_key(public_key_multibase)
        ids.append(full_id)
        verification_methods.append(
            {
                "id": full_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": public_key_multibase,
            }
        )
    document: dict[str, Any] = {"@context": [DID_CONTEXT, MULTIKEY_CONTEXT], "id": did}
    if alternate_names:
        document["alsoKnownAs"] = list(alternate_names)
    document["verificationMethod"] = verification_methods
    document["assertionMethod"] = list(ids)
    document["authentication"] = list(ids)
    return document


def method_found_at(method: dict[str, Any], url: str) -> dict[str, Any]:
    """A copy of a verification method under the URL it was looked up by, with the
    Multikey context a Multikey method needs to be read as JSON-LD."""
    found = dict(method)
    found["id"] = url
    if found.get("type") == "Multikey":
        found.setdefault("@context", MULTIKEY_CONTEXT)
    return found


class DidWebResolver:
    """Resolves ``did:web`` DIDs over the network; plug into ``DocumentLoader.with_resolver``.

    Calling it with a URL returns ``None`` for anything that is not ``did:web``, the DID
    document for a DID, and the verification method for ``did:web:…#fragment``. Errors
    are ``DidError`` with codes ``did.web_unreachable``, ``did.web_too_large``,
    ``did.web_invalid``, ``did.web_forbidden_address`` (and ``did.invalid`` /
    ``did.not_found`` for a malformed DID or an unknown fragment).

    HTTP goes through ``fetcher`` (see adapters/fetcher.py), which resolves the host once,
    checks every address and connects to the checked one. Without ``fetcher`` the resolver
    builds its own from the other arguments (https only, except ``allow_http_hosts``);
    with one, those arguments only choose the document URL and the size cap.
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_private: bool = False,
        allow_http_hosts: Collection[str] = LOCAL_HTTP_HOSTS,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
    ) -> None:
        if fetcher is not None and (client is not None or transport is not None):
            raise ValueError("pass a fetcher, or a client or transport to build one, not both")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.allow_http_hosts = tuple(allow_http_hosts)
        self._owns_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher(
            allow_private=allow_private,
            allow_http=False,
            allow_http_hosts=self.allow_http_hosts,
            timeout=timeout,
            max_bytes=max_bytes,
            max_redirects=MAX_REDIRECTS,
            transport=transport,
            client=client,
            getaddrinfo=getaddrinfo,
        )

    def close(self) -> None:
        """Close the fetcher this resolver built (and so an injected ``client``).

        A ``fetcher`` passed in is shared, so its owner closes it.
        """
        if self._owns_fetcher:
            self.fetcher.close()

    def __call__(self, url: str) -> dict[str, Any] | None:
        """The document loader's resolver protocol: URL → document, or None if not did:web."""
        if not isinstance(url, str) or not url.startswith(_PREFIX):
            return None
        did, _, fragment = url.partition("#")
        document = self.resolve(did)
        if not fragment:
            return document
        return self._verification_method(document, did, url, fragment)

    def resolve(self, did: str) -> dict[str, Any]:
        """Fetch and check the DID document of ``did`` (which must be its ``id``)."""
        url = did_web_url(did, allow_http_hosts=self.allow_http_hosts)
        document = self._fetch_json(url)
        if not isinstance(document, dict):
            raise DidError(
                f"the DID document at {url} is not a JSON object", code="did.web_invalid"
            )
        if document.get("id") != did:
            raise DidError(
                f"the DID document at {url} has 'id' {document.get('id')!r:.160}, not {did!r}",
                code="did.web_invalid",
            )
        return document

    @staticmethod
    def _verification_method(
        document: dict[str, Any], did: str, url: str, fragment: str
    ) -> dict[str, Any]:
        candidates: list[Any] = list(document.get("verificationMethod") or [])
        for relation in ("assertionMethod", "authentication"):
            candidates += [m for m in document.get(relation) or [] if isinstance(m, dict)]
        for method in candidates:
            if isinstance(method, dict) and method.get("id") in (url, f"#{fragment}"):
                if method.get("controller") != did:
                    raise DidError(
                        f"the verification method {url!r:.200} has controller "
                        f"{method.get('controller')!r:.160}, not {did!r}",
                        code="did.web_invalid",
                    )
                return method_found_at(method, url)
        raise DidError(
            f"the DID document of {did!r:.160} has no verification method {url!r:.200}",
            code="did.not_found",
        )

    def _fetch_json(self, url: str) -> Any:
        try:
            result = self.fetcher.fetch(
                url,
                accept=_ACCEPT,
                max_bytes=self.max_bytes,
                same_host_redirects=True,
                share=True,
            )
        except FetchError as exc:
            raise DidError(
                f"could not fetch the DID document: {exc}",
                code=_FETCH_CODES.get(exc.code, "did.web_unreachable"),
                fetch_code=exc.code,
                **{k: v for k, v in exc.details.items() if k in ("limit", "reason")},
            ) from None
        try:
            return parse_json_document(result.body, max_bytes=self.max_bytes)
        except InputError as exc:
            raise DidError(
                f"{url} did not return a usable JSON document: {exc}", code="did.web_invalid"
            ) from None
