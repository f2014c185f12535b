"""Service settings, read from ``BADGEWORKS_*`` environment variables.

Built by ``get_settings()``, never at import, so tests and several app instances can hold
different settings side by side. Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for the web service, the CLI's service commands and the workers."""

    model_config = SettingsConfigDict(env_prefix="BADGEWORKS_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Where the SQLite database, uploaded deliverables and generated files live.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file in data_dir. For PostgreSQL use "
        "postgresql+psycopg://user@host:5432/dbname.",
    )
    db_pool_size: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Database connections each process keeps open. Unset: 10 (or fewer "
        "when db_max_overflow is set so the two add up to the threads that can use the "
        "database at once; docs/operations.md).",
    )
    db_max_overflow: int | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Extra connections opened under load beyond db_pool_size and closed "
        "again. Unset: enough that every request thread gets one without waiting (40 "
        "request threads + 8 for background work, minus db_pool_size).",
    )
    db_pool_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds a request waits for a free database connection before failing.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL the service is reached at; credential ids and did:web ids use it.",
    )
    key_secret: SecretStr | None = Field(
        default=None,
        description="Secret used to encrypt issuers' private keys at rest. Required to sign.",
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, description="Largest deliverable or image upload accepted."
    )
    max_json_bytes: int = Field(
        default=2 * 1024 * 1024, description="Largest JSON request body accepted."
    )
    max_json_depth: int = Field(
        default=64, ge=8, le=256, description="Deepest nesting a JSON request body may have."
    )
    max_concurrent_uploads: int = Field(
        default=8,
        ge=1,
        le=10_000,
        description="Request bodies over 64 KiB this process receives at once; more get a "
        "503 before their body is read.",
    )
    max_buffered_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of request bodies over 64 KiB this process holds at once; past it "
        "an upload gets a 503 (raised to max_upload_bytes if lower).",
    )
    request_body_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Seconds a client has to send a whole request body; a slower one gets 408.",
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated proxy addresses (or CIDR networks) trusted to report "
        "the client in X-Forwarded-For/-Proto; empty: none, the peer is the client.",
    )
    portfolio_photo_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        gt=0,
        description="Largest portfolio photo upload accepted (also capped by max_upload_bytes).",
    )
    fetch_allow_private: bool = Field(
        default=False,
        description="Let the verifier fetch keys and status lists from loopback and private "
        "addresses. For tests and local development only: it turns off SSRF protection.",
    )
    fetch_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds one outbound fetch may take in all."
    )
    fetch_max_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        le=64 * 1024 * 1024,
        description="Largest document (key, DID document, status list) the verifier fetches.",
    )
    fetch_request_max_fetches: int = Field(
        default=50,
        ge=0,
        le=10_000,
        description="Most outbound requests one verification request (a credential or a "
        "whole presentation) may send; cached answers are free. Checks beyond it are not run.",
    )
    fetch_request_max_bytes: int = Field(
        default=48 * 1024 * 1024,
        ge=0,
        le=1024 * 1024 * 1024,
        description="Most bytes one verification request may download in all.",
    )
    fetch_request_deadline: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Seconds all of one verification request's fetches may take together.",
    )
    ssl_certfile: Path | None = Field(
        default=None, description="PEM certificate chain: serve HTTPS directly (small deployments)."
    )
    ssl_keyfile: Path | None = Field(default=None, description="PEM private key for ssl_certfile.")
    admin_token: SecretStr | None = Field(
        default=None,
        description="Operator token that may create issuers over the API "
        "(POST /api/v1/issuers); at least 32 characters, or the service refuses to start. "
        "Unset: issuers are created with the CLI only.",
    )
    review_link_days: int = Field(
        default=14, ge=1, le=365, description="Days a mentor's review link stays valid."
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server outbox messages are delivered through. Unset (and no "
        "mail_console): nothing is sent.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str | None = Field(default=None, description="SMTP login name, if needed.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str = Field(
        default="badgeworks@localhost", description="The From address of outgoing mail."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls (upgrade a plain connection), ssl (TLS from the start, port "
        "465) or none (local test servers only).",
    )
    smtp_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds before an SMTP operation gives up."
    )
    mail_console: bool = Field(
        default=False,
        description="Print each outgoing message in the server's terminal instead of sending "
        "it over SMTP. Local development only: messages hold single-use sign-in links.",
    )
    outbox_interval_seconds: float = Field(
        default=0.0,
        ge=0,
        le=86400,
        description="When > 0, 'badgeworks serve' delivers pending outbox messages itself "
        "every this many seconds; 0 leaves delivery to 'badgeworks outbox send'.",
    )
    bulk_lease_seconds: float = Field(
        default=60.0,
        ge=5,
        le=3600,
        description="A running bulk job whose worker has not reported for this long is "
        "taken as interrupted (sooner when its process is gone from this host) and can be "
        "resumed.",
    )
    bulk_resume_on_start: bool = Field(
        default=False,
        description="When true, the web process resumes interrupted bulk jobs when it "
        "starts; false leaves them for a person to resume (console or 'badgeworks jobs "
        "resume').",
    )
    verify_trust_registry: Path | None = Field(
        default=None,
        description="JSON file listing issuers the public verifier shows as known, besides "
        "the issuers hosted here (docs/verifier.md). Re-read when it changes.",
    )
    verify_rate_per_minute: float = Field(
        default=30.0,
        ge=0,
        description="Verifications each client address may make per minute on /verify, "
        "POST /api/v1/verify and anonymous VC-API /credentials/verify and "
        "/presentations/verify calls (after the burst); 0 with verify_rate_burst 0 turns it off.",
    )
    verify_rate_burst: int = Field(
        default=20, ge=0, description="Verifications a client may make at once before limiting."
    )
    verify_max_json_bytes: int = Field(
        default=1024 * 1024, gt=0, description="Largest credential JSON or JWS the verifier reads."
    )
    verify_max_file_bytes: int = Field(
        default=8 * 1024 * 1024,
        gt=0,
        description="Largest upload (JSON or baked PNG/SVG) or fetched credential the verifier "
        "reads; a larger request is refused with 413 before it is read.",
    )
    verify_max_json_depth: int = Field(
        default=64, ge=8, le=256, description="Deepest JSON nesting the verifier reads."
    )
    verify_max_deliverable_bytes: int = Field(
        default=25 * 1024 * 1024,
        gt=0,
        description="Largest deliverable file the verifier fetches to compare its digest.",
    )
    verify_max_proofs: int = Field(
        default=32,
        ge=1,
        le=1000,
        description="Most proofs one verified credential may carry, its embedded "
        "endorsements' included; more is refused (proof.too_many) before any is checked.",
    )
    verify_workers: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Verifications the public verifier and the VC-API's verify endpoints run "
        "at once, in their own threads (others queue), so they cannot starve other requests.",
    )
    verify_queue: int = Field(
        default=64,
        ge=0,
        le=10_000,
        description="Verifications that may wait for a free worker; beyond that a request "
        "is answered 503 (verify.busy) with Retry-After.",
    )
    shutdown_grace_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="On SIGTERM, 'badgeworks serve' lets requests in flight finish for this "
        "many seconds, then cancels them and exits.",
    )
    candidate_sign_in_rate_per_minute: float = Field(
        default=2.0,
        ge=0,
        description="Sign-in links each client address may ask for per minute at /me/sign-in "
        "(after the burst); 0 with candidate_sign_in_rate_burst 0 turns it off.",
    )
    candidate_sign_in_rate_burst: int = Field(
        default=10, ge=0, description="Sign-in links a client may ask for at once."
    )
    candidate_link_rate_per_minute: float = Field(
        default=10.0,
        ge=0,
        description="Sign-in links each client address may open or use per minute at "
        "/me/link/<token> (after the burst; guessing links); 0 with "
        "candidate_link_rate_burst 0 turns it off.",
    )
    candidate_link_rate_burst: int = Field(
        default=20, ge=0, description="Sign-in links a client may open or use at once."
    )

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``sqlite:///<data_dir>/badgeworks.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'badgeworks.db').resolve()}"

    @property
    def base_url(self) -> str:
        """``public_base_url`` without a trailing slash."""
        return self.public_base_url.rstrip("/")


def get_settings(**overrides: Any) -> Settings:
    """Read settings from the environment, with explicit overrides taking precedence."""
    return Settings(**overrides)
