"""Service settings, read from ``BADGEWORKS_*`` environment variables.

Built by ``get_settings()``, never at import, so tests and several app instances can hold
different settings side by side. Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _seconds(default: float, doc: str, *, most: float) -> Any:
    """A duration in seconds, above zero and at most ``most``."""
    return Field(default=default, gt=0, le=most, description=doc)


def _count(default: int | None, doc: str, *, least: int, most: int) -> Any:
    """A whole number from ``least`` to ``most``."""
    return Field(default=default, ge=least, le=most, description=doc)


def _size(default: int, doc: str) -> Any:
    """A size in bytes, above zero."""
    return Field(default=default, gt=0, description=doc)


def _rate_limit(default: float, doc: str) -> Any:
    """A rate limit's rate per minute or burst; both at 0 turn the limit off."""
    return Field(default=default, ge=0, description=doc)


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
    db_pool_size: int | None = _count(
        None,
        "Database connections each process keeps open. Unset: 10 (or fewer "
        "when db_max_overflow is set so the two add up to the threads that can use the "
        "database at once; docs/operations.md).",
        least=1,
        most=1000,
    )
    db_max_overflow: int | None = _count(
        None,
        "Extra connections opened under load beyond db_pool_size and closed "
        "again. Unset: enough that every request thread gets one without waiting (40 "
        "request threads + 8 for background work, minus db_pool_size).",
        least=0,
        most=1000,
    )
    workers: int = _count(
        1,
        "Worker processes serving requests (set by `badgeworks serve --workers`): the "
        "connection pools are sized for them, and with more than one the rate limits "
        'are kept in the database (docs/operations.md, "Worker processes").',
        least=1,
        most=256,
    )
    rate_limit_store: Literal["auto", "memory", "database"] = Field(
        default="auto",
        description="Where the per-client rate limits count: 'memory' (each process on "
        "its own), 'database' (shared by every process and host using the database) or "
        "'auto' (the database when workers is above 1, else memory).",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0). Set: the per-client rate limits "
        "count in Redis, shared by every process on every host (unless rate_limit_store "
        "is 'memory'), the public documents the verifier fetches (status lists, did:web and "
        "key documents) are shared there for 60 s, and start-up fails when Redis cannot be "
        "reached. Unset: the limits count as rate_limit_store says, fetched documents are "
        "kept per process.",
    )
    worker_in_process: bool = Field(
        default=True,
        description="When true, 'badgeworks serve' also runs one job worker in its own "
        "process; set false when dedicated 'badgeworks worker' processes run the jobs.",
    )
    job_lease_seconds: float = _seconds(
        60.0,
        "A claimed job whose worker has not renewed its claim for this long is released "
        "to another worker (the worker renews it every third of this).",
        most=3600,
    )
    job_max_attempts: int = _count(
        5,
        "Runs a job gets before it is dead-lettered (shown in the console, where staff "
        "can retry it).",
        least=1,
        most=100,
    )
    job_retry_seconds: float = _seconds(
        10.0,
        "Back-off before a failed job's first retry; each further retry waits twice as long.",
        most=3600,
    )
    worker_poll_seconds: float = _seconds(
        1.0, "Seconds an idle worker waits before looking for jobs again.", most=60
    )
    db_pool_timeout: float = _seconds(
        30.0, "Seconds a request waits for a free database connection before failing.", most=600
    )
    storage_url: str | None = Field(
        default=None,
        description="Where deliverables, photos and images are kept: unset, the blobs "
        "folder of data_dir; s3://bucket/prefix, an S3-compatible bucket (docs/storage.md). "
        "Start-up fails when the URL is malformed or the bucket cannot be used.",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="The S3-compatible server's URL (MinIO, Ceph, another cloud's); unset: "
        "AWS S3, or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set.",
    )
    s3_region: str | None = Field(
        default=None, description="The bucket's region; unset: AWS_DEFAULT_REGION or AWS_REGION."
    )
    s3_access_key_id: SecretStr | None = Field(
        default=None,
        description="S3 access key id; unset: AWS_ACCESS_KEY_ID, a shared credentials file "
        "or the host's role, as boto3 finds them.",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key; unset: AWS_SECRET_ACCESS_KEY and so on."
    )
    s3_timeout_seconds: float = _seconds(
        10.0, "Seconds one connection to or read from the object store may take.", most=300
    )
    storage_signed_urls: bool = Field(
        default=False,
        description="With an s3:// storage_url: answer /blobs/<sha256> with a redirect (302) "
        "to a short-lived signed URL of the bucket instead of streaming the file through "
        "the service. Only public files; photos are always streamed.",
    )
    storage_signed_url_seconds: int = _count(
        300, "Seconds a signed URL of storage_signed_urls stays valid.", least=10, most=3600
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL the service is reached at; credential ids and did:web ids use it.",
    )
    key_secret: SecretStr | None = Field(
        default=None,
        description="Secret used to encrypt issuers' private keys at rest. Required to sign.",
    )
    key_secret_previous: SecretStr | None = Field(
        default=None,
        description="The key secret being replaced, while 'badgeworks keys rotate-secret' "
        "re-encrypts the stored keys under key_secret; read, never written with "
        "(docs/deployment.md).",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="'json': one JSON object per log line (time, level, logger, message, "
        "request_id, method, route, status, duration_ms); 'text': plain lines.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a remote Prometheus scraper sends to read /metrics; "
        "unset: /metrics answers loopback clients only (docs/operations.md).",
    )
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, description="Largest deliverable or image upload accepted."
    )
    max_json_bytes: int = Field(
        default=2 * 1024 * 1024, description="Largest JSON request body accepted."
    )
    max_json_depth: int = _count(
        64, "Deepest nesting a JSON request body may have.", least=8, most=256
    )
    max_concurrent_uploads: int = _count(
        8,
        "Request bodies over 64 KiB this process receives at once; more get a "
        "503 before their body is read.",
        least=1,
        most=10_000,
    )
    max_buffered_upload_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024 * 1024,
        description="Bytes of request bodies over 64 KiB this process holds at once; past it "
        "an upload gets a 503 (raised to max_upload_bytes if lower).",
    )
    request_body_timeout_seconds: float = _seconds(
        120.0,
        "Seconds a client has to send a whole request body; a slower one gets 408.",
        most=3600,
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Comma-separated proxy addresses (or CIDR networks) trusted to report "
        "the client in X-Forwarded-For/-Proto; empty: none, the peer is the client.",
    )
    portfolio_photo_max_bytes: int = _size(
        5 * 1024 * 1024,
        "Largest portfolio photo upload accepted (also capped by max_upload_bytes).",
    )
    fetch_allow_private: bool = Field(
        default=False,
        description="Let the verifier fetch keys and status lists from loopback and private "
        "addresses. For tests and local development only: it turns off SSRF protection.",
    )
    fetch_timeout: float = _seconds(5.0, "Seconds one outbound fetch may take in all.", most=60)
    fetch_max_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        le=64 * 1024 * 1024,
        description="Largest document (key, DID document, status list) the verifier fetches.",
    )
    fetch_request_max_fetches: int = _count(
        50,
        "Most outbound requests one verification request (a credential or a "
        "whole presentation) may send; cached answers are free. Checks beyond it are not run.",
        least=0,
        most=10_000,
    )
    fetch_request_max_bytes: int = Field(
        default=48 * 1024 * 1024,
        ge=0,
        le=1024 * 1024 * 1024,
        description="Most bytes one verification request may download in all.",
    )
    fetch_request_deadline: float = _seconds(
        20.0, "Seconds all of one verification request's fetches may take together.", most=600
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
    review_link_days: int = _count(
        14, "Days a mentor's review link stays valid.", least=1, most=365
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
    smtp_timeout: float = _seconds(10.0, "Seconds before an SMTP operation gives up.", most=300)
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
    verify_rate_per_minute: float = _rate_limit(
        30.0,
        "Verifications each client address may make per minute on /verify, "
        "POST /api/v1/verify and anonymous VC-API /credentials/verify and "
        "/presentations/verify calls (after the burst); 0 with verify_rate_burst 0 turns it off.",
    )
    verify_rate_burst: int = _rate_limit(
        20, "Verifications a client may make at once before limiting."
    )
    verify_max_json_bytes: int = _size(
        1024 * 1024, "Largest credential JSON or JWS the verifier reads."
    )
    verify_max_file_bytes: int = _size(
        8 * 1024 * 1024,
        "Largest upload (JSON or baked PNG/SVG) or fetched credential the verifier "
        "reads; a larger request is refused with 413 before it is read.",
    )
    verify_max_json_depth: int = _count(
        64, "Deepest JSON nesting the verifier reads.", least=8, most=256
    )
    verify_max_deliverable_bytes: int = _size(
        25 * 1024 * 1024, "Largest deliverable file the verifier fetches to compare its digest."
    )
    verify_max_proofs: int = _count(
        32,
        "Most proofs one verified credential may carry, its embedded "
        "endorsements' included; more is refused (proof.too_many) before any is checked.",
        least=1,
        most=1000,
    )
    verify_workers: int = _count(
        4,
        "Verifications the public verifier and the VC-API's verify endpoints run "
        "at once, in their own threads (others queue), so they cannot starve other requests.",
        least=1,
        most=64,
    )
    verify_queue: int = _count(
        256,
        "Verifications that may wait for a free worker (a waiting one holds no "
        "thread); beyond that a request is answered 503 (verify.busy) with Retry-After.",
        least=0,
        most=10_000,
    )
    shutdown_grace_seconds: float = _seconds(
        5.0,
        "On SIGTERM, 'badgeworks serve' lets requests in flight finish for this "
        "many seconds, then cancels them and exits.",
        most=300,
    )
    candidate_sign_in_rate_per_minute: float = _rate_limit(
        2.0,
        "Sign-in links each client address may ask for per minute at /me/sign-in "
        "(after the burst); 0 with candidate_sign_in_rate_burst 0 turns it off.",
    )
    candidate_sign_in_rate_burst: int = _rate_limit(
        10, "Sign-in links a client may ask for at once."
    )
    candidate_link_rate_per_minute: float = _rate_limit(
        10.0,
        "Sign-in links each client address may open or use per minute at "
        "/me/link/<token> (after the burst; guessing links); 0 with "
        "candidate_link_rate_burst 0 turns it off.",
    )
    candidate_link_rate_burst: int = _rate_limit(
        20, "Sign-in links a client may open or use at once."
    )
    wallet_offer_minutes: int = _count(
        30,
        "Minutes a wallet offer shown at /me or on a credential's page stays usable.",
        least=1,
        most=1440,
    )
    wallet_email_offer_hours: int = _count(
        72,
        "Hours the wallet offer in a credential's issuance email stays usable.",
        least=1,
        most=720,
    )
    wallet_rate_per_minute: float = _rate_limit(
        30.0,
        "Requests each client address may make per minute to the wallet endpoints "
        "(/oid4vci/...) after the burst; 0 with wallet_rate_burst 0 turns it off.",
    )
    wallet_rate_burst: int = _rate_limit(30, "Wallet endpoint requests a client may make at once.")

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
