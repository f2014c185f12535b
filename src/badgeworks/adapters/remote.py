"""The verifier's remote look-ups, each built on the one ``Fetcher``.

- ``StatusListFetcher``: a ``core.verification.status.StatusResolver`` that fetches
  Bitstring Status List credentials (optionally asking a local source first);
- ``HttpsKeyResolver``: a document-loader resolver for HTTP(S) verification-method URLs
  (OB 3.0 section 8.3, "Dereferencing the Public Key": verifiers MUST support them);
- ``remote_loader``: a loader that adds did:web and HTTPS keys to a strict offline one;
- ``fetch_credential``: the bytes of a credential an employer gives by URL;
- ``budget_skipped``: a report whose checks a spent ``FetchBudget`` stopped, restated as
  not run "because this request reached its limit of …".

JSON-LD contexts are never fetched. The loader answers from its bundled contexts before
it asks any resolver, and ``HttpsKeyResolver`` refuses the URLs in ``never_fetch`` (the
loader's bundled URLs) and well-known context locations, and serves only documents that
are keys or controller documents for the URL asked for. See docs/fetching.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from badgeworks.adapters.did_web import DidWebResolver, method_found_at
from badgeworks.adapters.fetcher import BUDGET_EXCEEDED, FetchBudget, Fetcher, FetchError
from badgeworks.core.document import parse_json_document
from badgeworks.core.errors import BadgeworksError, ContextError, DidError, StatusError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.report import Check, Report

#: Status lists are JSON credentials; a list kept as a plain file is often served as
#: ``text/plain`` (raw files on GitHub) or ``application/octet-stream``, so those are read
#: too, at a lower preference. The body must still parse as a JSON object.
STATUS_LIST_ACCEPT = (
    "application/vc+ld+json, application/json, text/plain;q=0.5, application/octet-stream;q=0.5"
)
KEY_ACCEPT = "application/did+ld+json, application/ld+json, application/jwk+json, application/json"
CREDENTIAL_ACCEPT = (
    "application/vc+ld+json, application/ld+json, application/json, "
    "application/vc+jwt, application/jwt, text/plain"
)
#: Where JSON-LD contexts live. A verification method is never published under these, so
#: ``HttpsKeyResolver`` does not fetch them even when the loader does not bundle the URL.
CONTEXT_PREFIXES: tuple[str, ...] = (
    "https://www.w3.org/ns/",
    "https://www.w3.org/2018/credentials",
    "https://w3id.org/security/",
    "https://w3id.org/vc/",
    "https://w3id.org/did/",
    "https://purl.imsglobal.org/spec/",
    "https://schema.org",
)

#: A local source of status list credentials: URL -> the credential, or None to fetch it.
LocalStatusLists = Callable[[str], dict[str, Any] | None]


def _is_http_url(url: object) -> bool:
    return isinstance(url, str) and url.split(":", 1)[0].lower() in ("http", "https")


class StatusListFetcher:
    """Fetches status list credentials; usable as ``core.verification.status.StatusResolver``.

    ``local`` (if given) is asked first, so the service answers for its own lists from its
    database without a network hop; it returns ``None`` for URLs it does not host. Every
    failure to fetch or read a list raises ``StatusError`` with code
    ``status.unavailable`` (``check_status`` reports it as a failed check whose message
    includes this error's); whether the list is a valid, signed list is ``check_status``'s
    job.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        local: LocalStatusLists | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.local = local
        self.max_bytes = fetcher.max_bytes if max_bytes is None else max_bytes

    def __call__(self, url: str) -> dict[str, Any]:
        """The status list credential at ``url``, or ``StatusError(status.unavailable)``."""
        if self.local is not None:
            found = self.local(url)
            if found is not None:
                return found
        try:
            result = self.fetcher.fetch(
                url, accept=STATUS_LIST_ACCEPT, max_bytes=self.max_bytes, share=True
            )
            document = parse_json_document(result.body, max_bytes=self.max_bytes)
        except BadgeworksError as exc:
            # FetchError (address, size, time, HTTP status) or InputError (not JSON).
            raise StatusError(
                str(exc), code="status.unavailable", url=url, cause=exc.code
            ) from None
        if not isinstance(document, dict):
            raise StatusError(
                "the status list is not a JSON object", code="status.unavailable", url=url
            )
        return document


def _method_id(ref: Any, base: str) -> Any:
    # A controller document may name its methods relative to itself ("#key-1").
    return base + ref if isinstance(ref, str) and ref.startswith("#") else ref


class HttpsKeyResolver:
    """Resolves HTTP(S) verification-method URLs; plug into ``DocumentLoader.with_resolver``.

    Returns ``None`` for a URL that is not http(s). Otherwise it fetches the document at the
    URL (without its fragment) through ``fetcher`` and returns:

    - for ``https://…#fragment``, the method with that id among the document's
      ``verificationMethod``, ``assertionMethod`` and ``authentication`` entries (its
      ``id`` made absolute, and the Multikey ``@context`` added to a Multikey, as
      ``DidWebResolver`` does), or ``DidError`` ``key.not_found``;
    - otherwise the document itself, which must be a key or controller document whose
      ``id`` is the URL (or a bare JWK / JWK Set), else ``DidError``
      ``key.document_invalid``.

    A URL in ``never_fetch`` or under ``CONTEXT_PREFIXES`` raises ``ContextError``
    (``context.not_allowed``) without a fetch: contexts are never loaded from the network.
    Fetch failures raise ``FetchError`` (``fetch.*``), which the proof layer reports with
    its code.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        never_fetch: Collection[str] = (),
        context_prefixes: Collection[str] = CONTEXT_PREFIXES,
        max_bytes: int | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.never_fetch = frozenset(never_fetch)
        self.context_prefixes = tuple(context_prefixes)
        self.max_bytes = fetcher.max_bytes if max_bytes is None else max_bytes

    def _refused(self, url: str) -> bool:
        document_url = url.split("#", 1)[0]
        if url in self.never_fetch or document_url in self.never_fetch:
            return True
        # Compare as https, so http://www.w3.org/ns/… is caught as well.
        scheme, _, rest = document_url.partition(":")
        as_https = "https:" + rest if scheme.lower() in ("http", "https") else document_url
        return any(as_https.startswith(prefix) for prefix in self.context_prefixes)

    def __call__(self, url: str) -> dict[str, Any] | None:
        """The document loader's resolver protocol: URL → key document, or None."""
        if not _is_http_url(url):
            return None
        if self._refused(url):
            raise ContextError(
                f"the document {url!r:.200} is a JSON-LD context or another document this "
                "verifier never fetches",
                code="context.not_allowed",
                url=url,
            )
        document_url, _, fragment = url.partition("#")
        result = self.fetcher.fetch(
            document_url, accept=KEY_ACCEPT, max_bytes=self.max_bytes, share=True
        )
        try:
            document = parse_json_document(result.body, max_bytes=self.max_bytes)
        except BadgeworksError as exc:
            raise DidError(
                f"the key document at {document_url:.200} is not usable JSON: {exc}",
                code="key.document_invalid",
            ) from None
        if not isinstance(document, dict):
            raise DidError(
                f"the key document at {document_url:.200} is not a JSON object",
                code="key.document_invalid",
            )
        if fragment:
            return self._method(document, document_url, url)
        if document.get("id") == url or (
            "@context" not in document and ("kty" in document or "keys" in document)
        ):
            return document
        raise DidError(
            f"the document at {url:.200} is not a key or controller document for that URL "
            f"(its 'id' is {document.get('id')!r:.120})",
            code="key.document_invalid",
        )

    @staticmethod
    def _method(document: dict[str, Any], document_url: str, url: str) -> dict[str, Any]:
        declared = document.get("id")
        base = declared if isinstance(declared, str) else document_url
        for relation in ("verificationMethod", "assertionMethod", "authentication"):
            entries = document.get(relation)
            for method in entries if isinstance(entries, list) else [entries]:
                if isinstance(method, dict) and _method_id(method.get("id"), base) == url:
                    return method_found_at(method, url)
        raise DidError(
            f"the document at {document_url:.200} has no verification method {url!r:.200}",
            code="key.not_found",
        )


def remote_loader(
    base_loader: DocumentLoader,
    fetcher: Fetcher,
    *,
    never_fetch: Collection[str] = (),
) -> DocumentLoader:
    """``base_loader`` plus did:web and HTTP(S) keys, both fetched through ``fetcher``.

    The loader still serves its bundled contexts and did:key first; the new resolvers are
    only asked for other URLs, and the HTTPS one refuses every bundled URL, the well-known
    context locations and ``never_fetch``.
    """
    keys = HttpsKeyResolver(fetcher, never_fetch={*base_loader.urls, *never_fetch})
    did_web = DidWebResolver(fetcher=fetcher)
    return base_loader.with_resolver(did_web).with_resolver(keys)


def fetch_credential(url: str, fetcher: Fetcher, *, max_bytes: int | None = None) -> bytes:
    """The bytes at ``url``, for the verifier's "enter a URL" input.

    Accepts JSON-LD credentials and compact JWS/JWT (served as ``text/plain`` or
    ``application/vc+jwt``); the caller parses them as it would pasted input. Raises
    ``FetchError``.
    """
    if not _is_http_url(url):
        raise FetchError(
            f"{url!r:.200} is not an http or https URL; enter the address of a hosted credential",
            code="fetch.bad_url",
        )
    return fetcher.fetch(url, accept=CREDENTIAL_ACCEPT, max_bytes=max_bytes).body


_NOTHING_AGAINST = "This says nothing against the credential: verify it on its own to check it."


def _restated(check: Check, limit: str, reason: str, refused: set[str]) -> Check:
    detail = check.detail
    status_url = detail.get("statusListCredential") if check.check == "status" else None
    if not (
        check.code == BUDGET_EXCEEDED
        or detail.get("reason") == BUDGET_EXCEEDED
        or (check.outcome != "pass" and status_url in refused)
    ):
        return check
    if check.check == "proof":
        message = (
            f"The signature was not checked, because {reason} before the signing key "
            f"could be fetched. {_NOTHING_AGAINST}"
        )
    elif check.check == "status":
        message = (
            f"Whether this credential was revoked was not checked, because {reason} before "
            f"its revocation list ({status_url!s:.200}) could be fetched. {_NOTHING_AGAINST}"
        )
    elif check.check == "deliverable":
        message = (
            f"The deliverable {detail.get('id')!s:.200} was not compared with its "
            f"fingerprint, because {reason}."
        )
    else:
        message = f"This check was not run, because {reason}. {_NOTHING_AGAINST}"
    # The outcome stays as the pipeline judged a fetch that did not happen ("could not
    # check", or a warning for a deliverable); only the words change.
    return Check(
        check.check,
        check.outcome,
        BUDGET_EXCEEDED,
        message,
        {**detail, "reason": BUDGET_EXCEEDED, "limit": limit},
    )


def budget_skipped(report: Report, budget: FetchBudget) -> Report:
    """``report`` with every check that ``budget`` stopped restated as not run.

    Such a check failed only because this request had spent its fetches, bytes or time
    (``FetchBudgetError``); the restated check has the code ``fetch.budget_exceeded``, a
    message naming the limit ("because this request reached its limit of 50 fetches")
    and ``detail.limit`` (``fetches``, ``bytes`` or ``time``). A report the budget did not
    touch is returned as it is.
    """
    if budget.exhausted is None:
        return report
    limit, reason, refused = budget.exhausted, budget.reason(), set(budget.refused)
    return Report(_restated(check, limit, reason, refused) for check in report.checks)
