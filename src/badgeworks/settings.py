"""Service settings, read from ``BADGEWORKS_*`` environment variables.

Built by ``get_settings()``, never at import, so tests and several app instances can hold
different settings side by side. Every field is documented in docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    admin_token: SecretStr | None = Field(
        default=None,
        description="Operator token that may create issuers over the API "
        "(POST /api/v1/issuers). Unset: issuers are created with the CLI only.",
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
