"""What services need besides a database session: settings, blobs, the loader, the clock
and the verifier's capabilities."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import Lock
from typing import TYPE_CHECKING, Any

from badgeworks.adapters.blobstore import Blobs, open_blob_store
from badgeworks.adapters.keystore import check_secret
from badgeworks.adapters.resources import default_loader, schema
from badgeworks.core.credential import OB3_SCHEMA_URL
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.db.engine import SessionFactory
from badgeworks.services.infra.memory import Recent
from badgeworks.settings import Settings

if TYPE_CHECKING:
    from badgeworks.services.verification.capabilities import Verifier

OB3_SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"


def utcnow() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


#: Decrypted signing keys kept per process (issuers' and endorsers' current keys).
KEPT_KEYS = 1024


@dataclass
class ServiceContext:
    """Shared, long-lived collaborators of the services (one per app or CLI run)."""

    settings: Settings
    blobs: Blobs
    loader: DocumentLoader
    clock: Callable[[], datetime] = utcnow
    #: Opens database sessions; services that read outside the caller's session use it
    #: (the verifier reads our own status lists straight from the database).
    session_factory: SessionFactory | None = None
    # Decrypting a key runs scrypt; keep decrypted keys for the life of the process, the
    # most recently used ``KEPT_KEYS`` of them.
    _keys: Recent[Hashable, Ed25519KeyPair] = field(
        default_factory=lambda: Recent(KEPT_KEYS), repr=False
    )
    #: What verification uses (loaders, status lists, the fetcher, known issuers): built
    #: on first use by ``get_verifier`` unless set (the CLI sets its own). A copy made
    #: with ``dataclasses.replace`` builds its own, from its own settings.
    verifier: Verifier | None = field(default=None, init=False, repr=False)
    #: The status lists' slot secret, read once (``status_lists.slot_key``).
    slot_secret: str | None = field(default=None, init=False, repr=False)
    _verifier_lock: Lock = field(default_factory=Lock, init=False, repr=False)

    @property
    def base_url(self) -> str:
        """The public base URL without a trailing slash."""
        return self.settings.base_url

    @property
    def key_secret(self) -> str:
        """The key-encryption secret; ``ConfigError`` if missing or the example one."""
        value = self.settings.key_secret
        return check_secret(value.get_secret_value() if value is not None else None)

    @property
    def key_secrets(self) -> tuple[str, ...]:
        """The secrets stored keys may be encrypted under: the key secret, then, while it
        is being rotated, the previous one (``BADGEWORKS_KEY_SECRET_PREVIOUS``)."""
        previous = self.settings.key_secret_previous
        value = previous.get_secret_value() if previous is not None else ""
        return (self.key_secret, value) if value.strip() else (self.key_secret,)

    def schemas(self) -> dict[str, Any]:
        """The JSON Schemas we issue against (checked before signing)."""
        return {OB3_SCHEMA_URL: schema(OB3_SCHEMA_FILE)}

    def get_verifier(self) -> Verifier:
        """This context's verifier, built once and shared by every request."""
        with self._verifier_lock:
            if self.verifier is None:
                from badgeworks.services.verification.capabilities import service_verifier

                built = service_verifier(self)
                if built.fetcher is not None:
                    # Close the shared fetcher's connections with the context.
                    weakref.finalize(self, built.fetcher.close)
                self.verifier = built
            return self.verifier

    def cached_key(self, name: Hashable, build: Callable[[], Ed25519KeyPair]) -> Ed25519KeyPair:
        """The signing key kept under ``name``, decrypted (``build``) on first use only.

        ``name`` must change whenever the stored key does (issuers: the key row's id and
        the SHA-256 of its ciphertext).
        """
        return self._keys.get(name, build)


def build_context(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> ServiceContext:
    """A context whose loader also serves the DID documents of the issuers we host."""
    from badgeworks.services.verification.resolver import HostedDidResolver

    loader = default_loader().with_resolver(HostedDidResolver(session_factory, settings))
    return ServiceContext(
        settings=settings,
        blobs=open_blob_store(settings),
        loader=loader,
        clock=clock,
        session_factory=session_factory,
    )
