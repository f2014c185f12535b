"""Start-up refuses a key-encryption secret other than the one the stored keys need."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from badgeworks.core.errors import ConfigError
from badgeworks.db.service_meta import ServiceMeta
from badgeworks.services.infra.secrets import FINGERPRINT_NAME
from badgeworks.services.programs import issuers
from badgeworks.services.programs.models import IssuerCreate
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app

FIRST = "first-key-secret-0123456789abcdef"
OTHER = "other-key-secret-0123456789abcdef"


def _settings(database_url: str, tmp_path: Path, secret: str) -> Settings:
    return get_settings(data_dir=tmp_path / "data", database_url=database_url, key_secret=secret)


def _start(settings: Settings, *, with_issuer: bool = False) -> str:
    """Start (and stop) the app once; returns the stored fingerprint."""
    app = create_app(settings)
    try:
        with app.state.session_factory() as session:
            if with_issuer:
                issuers.create_issuer(
                    session, app.state.ctx, IssuerCreate(slug="acme", name="Acme"), actor="test"
                )
            row = session.exec(select(ServiceMeta).where(ServiceMeta.name == FINGERPRINT_NAME))
            stored = row.one().value
    finally:
        app.state.engine.dispose()
    return stored


def test_fingerprint_is_stored_on_first_start(database_url: str, tmp_path: Path) -> None:
    stored = _start(_settings(database_url, tmp_path, FIRST), with_issuer=True)
    assert stored.startswith("sfp1.") and FIRST not in stored
    # The same secret starts again.
    assert _start(_settings(database_url, tmp_path, FIRST)) == stored


def test_a_changed_secret_is_refused_while_keys_exist(database_url: str, tmp_path: Path) -> None:
    _start(_settings(database_url, tmp_path, FIRST), with_issuer=True)
    with pytest.raises(ConfigError) as err:
        create_app(_settings(database_url, tmp_path, OTHER))
    assert err.value.code == "config.key_secret_changed"
    assert "BADGEWORKS_KEY_SECRET" in err.value.message
    assert OTHER not in err.value.message and FIRST not in err.value.message
    # Putting the original back works.
    _start(_settings(database_url, tmp_path, FIRST))


def test_without_keys_a_new_secret_replaces_the_fingerprint(
    database_url: str, tmp_path: Path
) -> None:
    first = _start(_settings(database_url, tmp_path, FIRST))
    second = _start(_settings(database_url, tmp_path, OTHER))
    assert first != second


def test_a_database_from_before_the_check_is_checked_by_decrypting_a_key(
    database_url: str, tmp_path: Path
) -> None:
    _start(_settings(database_url, tmp_path, FIRST), with_issuer=True)
    app = create_app(_settings(database_url, tmp_path, FIRST))
    with app.state.session_factory() as session:
        session.delete(session.get(ServiceMeta, FINGERPRINT_NAME))
        session.commit()
    app.state.engine.dispose()
    with pytest.raises(ConfigError) as err:
        create_app(_settings(database_url, tmp_path, OTHER))
    assert err.value.code == "config.key_secret_changed"
    assert _start(_settings(database_url, tmp_path, FIRST)).startswith("sfp1.")


def test_the_generated_development_secret_starts_an_owner_only_data_directory(
    tmp_path: Path,
) -> None:
    from badgeworks.services.infra.secrets import SECRET_FILE, ensure_dev_key_secret

    data = tmp_path / "fresh" / "data"
    settings = get_settings(
        data_dir=data, database_url=f"sqlite:///{data / 'badgeworks.db'}", key_secret=None
    )
    _, note = ensure_dev_key_secret(settings)
    assert note is not None
    assert (data.stat().st_mode & 0o777) == 0o700
    assert ((data / SECRET_FILE).stat().st_mode & 0o777) == 0o600
