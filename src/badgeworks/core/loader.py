"""The strict offline document loader.

It serves exactly the bundled JSON-LD contexts (handed in as data by the caller) and
resolves ``did:key`` in pure code. Any other context raises ``ContextError`` with code
``context.not_allowed``: the core never fetches what a credential tells it to, which
would make every verifier an SSRF vector. A key or controller document that neither the
bundle, ``did:key`` nor a resolver provides raises ``DidError`` ``proof.key_not_found``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from . import did_key
from .errors import ContextError, DidError

#: An extra resolver (for example a did:web adapter at the edge): URL -> document or None.
Resolver = Callable[[str], Any | None]


class DocumentLoader:
    """Serves bundled documents by URL; callable the way pyld expects a loader to be."""

    def __init__(
        self, documents: Mapping[str, Any], *, resolvers: tuple[Resolver, ...] = ()
    ) -> None:
        self._documents = dict(documents)
        self._resolvers = resolvers

    @property
    def urls(self) -> frozenset[str]:
        """The context URLs this loader serves."""
        return frozenset(self._documents)

    def with_documents(self, extra: Mapping[str, Any]) -> DocumentLoader:
        """A new loader that also serves ``extra`` (tests add example contexts this way)."""
        return DocumentLoader({**self._documents, **extra}, resolvers=self._resolvers)

    def with_resolver(self, resolver: Resolver) -> DocumentLoader:
        """A new loader that also asks ``resolver`` for URLs it does not bundle."""
        return DocumentLoader(self._documents, resolvers=(*self._resolvers, resolver))

    def load_context(self, url: str) -> Any:
        """Return a bundled JSON-LD context; never asks resolvers, never fetches.

        JSON-LD processing (ours and pyld's) goes through here, so an unlisted context
        URL in a hostile credential can never cause an outbound request.
        """
        if not isinstance(url, str):
            raise ContextError(f"a context reference must be a URL string, got {url!r:.80}")
        doc = self._documents.get(url)
        if doc is None:
            raise ContextError(
                f"the context {url!r:.200} is not one this verifier bundles; "
                "badgeworks never fetches contexts from the network",
                code="context.not_allowed",
                url=url,
            )
        return doc

    def load(self, url: str) -> Any:
        """Return the document for ``url``: a bundled context, a did:key, or what a resolver gives.

        Used for verification methods and controller documents. The result is a shared
        object: callers must not mutate it. Raises ``DidError`` (``proof.key_not_found``)
        when nothing serves ``url``, and whatever a resolver raises.
        """
        if not isinstance(url, str):
            raise ContextError(f"a context reference must be a URL string, got {url!r:.80}")
        doc = self._documents.get(url)
        if doc is not None:
            return doc
        if url.startswith("did:key:"):
            try:
                return did_key.resolve(url)
            except DidError:
                raise
        for resolver in self._resolvers:
            found = resolver(url)
            if found is not None:
                return found
        # Not a context lookup: a key or controller document (VC Data Integrity 1.0,
        # "Retrieve Verification Method") that nothing here can look up, for
        # example a did:web key when verifying offline. Say the key was not found rather
        # than blame a context. DidError: the proof layer reports lookup errors by code.
        where = (
            "this verification looks nothing up over the network"
            if not self._resolvers
            else "no lookup this verification may use handles it"
        )
        raise DidError(
            f"the key document {url!r:.200} is not bundled, not a did:key, and {where}",
            code="proof.key_not_found",
            url=url,
        )

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """pyld's loader protocol (contexts only): a RemoteDocument with a private copy."""
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self.load_context(url)),
        }
