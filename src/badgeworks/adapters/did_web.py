"""``did:web`` (W3C CCG did:web Method Specification): ids, URLs, documents and a resolver.

Our own issuers get ``did:web`` ids under the service's public URL, and we publish their
DID documents. ``DidWebResolver`` fetches other services' documents to verify their
credentials; it is the one place that reaches out to the network for a key, so it has an
address check (no private, loopback, link-local or reserved addresses), a timeout, a size
cap and no cross-host redirects. See docs/did-web.md.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from badgeworks.core import multikey
from badgeworks.core.errors import DidError

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
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
_JSON_TYPES = ("application/json", "application/did+json", "application/did+ld+json")


def _invalid(message: str) -> DidError:
    return DidError(message, code="did.invalid")


def _check_segment(segment: str, what: str) -> str:
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


def _forbidden_address(address: str) -> bool:
    """True for any address a verifier must not be steered to (SSRF)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is loopback; Python 3.11 does not look inside mapped addresses.
        ip = ip.ipv4_mapped
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


GetAddrInfo = Callable[..., Sequence[tuple[Any, ...]]]


class DidWebResolver:
    """Resolves ``did:web`` DIDs over the network; plug into ``DocumentLoader.with_resolver``.

    Calling it with a URL returns ``None`` for anything that is not ``did:web``, the DID
    document for a DID, and the verification method for ``did:web:…#fragment``. Errors
    are ``DidError`` with codes ``did.web_unreachable``, ``did.web_too_large``,
    ``did.web_invalid``, ``did.web_forbidden_address`` (and ``did.invalid`` /
    ``did.not_found`` for a malformed DID or an unknown fragment).

    Unless ``allow_private`` is set, the host is resolved once, every address is checked,
    and the request goes to the checked address (with the original ``Host`` header and
    TLS server name), so a DNS answer that changes between check and connect cannot
    steer the request to a private address.
    """

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_private: bool = False,
        allow_http_hosts: Collection[str] = LOCAL_HTTP_HOSTS,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
    ) -> None:
        if client is not None and transport is not None:
            raise ValueError("pass either client or transport, not both")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.allow_http_hosts = tuple(allow_http_hosts)
        self._getaddrinfo = getaddrinfo
        # trust_env=False: an environment proxy would connect on our behalf and make the
        # address check meaningless.
        self._client = client or httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )

    def close(self) -> None:
        """Close the HTTP client (also when it was injected)."""
        self._client.close()

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
                found = dict(method)
                found["id"] = url
                if found.get("controller") != did:
                    raise DidError(
                        f"the verification method {url!r:.200} has controller "
                        f"{found.get('controller')!r:.160}, not {did!r}",
                        code="did.web_invalid",
                    )
                if found.get("type") == "Multikey":
                    found.setdefault("@context", MULTIKEY_CONTEXT)
                return found
        raise DidError(
            f"the DID document of {did!r:.160} has no verification method {url!r:.200}",
            code="did.not_found",
        )

    def _checked_address(self, host: str, port: int) -> str:
        """Resolve ``host`` and return an address to connect to, refusing forbidden ones."""
        try:
            infos = self._getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise DidError(
                f"the did:web host {host!r} does not resolve: {exc}", code="did.web_unreachable"
            ) from None
        addresses = [str(info[4][0]) for info in infos]
        if not addresses:
            raise DidError(
                f"the did:web host {host!r} does not resolve", code="did.web_unreachable"
            )
        for address in addresses:
            if _forbidden_address(address):
                raise DidError(
                    f"the did:web host {host!r} resolves to {address}, a private, loopback, "
                    "link-local or reserved address this verifier does not contact",
                    code="did.web_forbidden_address",
                    address=address,
                )
        return addresses[0]

    def _fetch_json(self, url: str) -> Any:
        deadline = time.monotonic() + self.timeout
        origin = urlsplit(url)
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            request = self._build_request(url, host, port)
            try:
                response = self._client.send(request, stream=True, follow_redirects=False)
            except httpx.HTTPError as exc:
                raise DidError(
                    f"could not fetch {url}: {type(exc).__name__}: {exc}",
                    code="did.web_unreachable",
                ) from None
            try:
                if response.is_redirect:
                    url = self._redirect_target(origin.geturl(), url, response)
                    continue
                return self._read_json(url, response, deadline)
            finally:
                response.close()
        raise DidError(
            f"fetching the DID document from {origin.geturl()} took more than {MAX_REDIRECTS} "
            "redirects",
            code="did.web_invalid",
        )

    def _build_request(self, url: str, host: str, port: int) -> httpx.Request:
        if self.allow_private:
            return self._client.build_request("GET", url, headers={"Accept": _JSON_TYPES[0]})
        address = self._checked_address(host, port)
        parts = urlsplit(url)
        ip_host = f"[{address}]" if ":" in address else address
        pinned = parts._replace(netloc=f"{ip_host}:{port}").geturl()
        return self._client.build_request(
            "GET",
            pinned,
            headers={
                "Host": parts.netloc,
                "Accept": _JSON_TYPES[0],
                # The pinned address names the connection; never reuse it for another host.
                "Connection": "close",
            },
            extensions={"sni_hostname": host},
        )

    def _redirect_target(self, original: str, current: str, response: httpx.Response) -> str:
        location = response.headers.get("Location", "")
        target = urlsplit(str(httpx.URL(current).join(location)))
        first = urlsplit(original)
        if (
            target.hostname != first.hostname
            or target.port != first.port
            or (target.scheme != first.scheme and target.scheme != "https")
        ):
            raise DidError(
                f"{original} redirects to {target.geturl()!r:.200}, another host or a "
                "downgrade to http; did:web documents must be served by their own host",
                code="did.web_invalid",
            )
        return target.geturl()

    def _read_json(self, url: str, response: httpx.Response, deadline: float) -> Any:
        if response.status_code != 200:
            raise DidError(
                f"fetching {url} gave HTTP {response.status_code}", code="did.web_unreachable"
            )
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type not in _JSON_TYPES and not content_type.endswith("+json"):
            raise DidError(
                f"{url} is served as {content_type or 'no content type'!r}, not JSON",
                code="did.web_invalid",
            )
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(url)
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_large(url)
                if time.monotonic() > deadline:
                    raise DidError(
                        f"fetching {url} took longer than {self.timeout} s",
                        code="did.web_unreachable",
                    )
        except httpx.HTTPError as exc:
            raise DidError(
                f"could not read {url}: {type(exc).__name__}: {exc}", code="did.web_unreachable"
            ) from None
        try:
            return json.loads(bytes(body).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise DidError(f"{url} did not return valid JSON", code="did.web_invalid") from None

    def _too_large(self, url: str) -> DidError:
        return DidError(
            f"the DID document at {url} is larger than {self.max_bytes} bytes",
            code="did.web_too_large",
        )
