"""The app refuses to start without a usable key secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from badgeworks.adapters.keystore import EXAMPLE_KEY_SECRET
from badgeworks.core.errors import ConfigError
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app


@pytest.mark.parametrize(
    ("secret", "code"),
    [(None, "config.key_secret_missing"), (EXAMPLE_KEY_SECRET, "config.example_secret")],
)
def test_refuses_to_start(tmp_path: Path, secret: str | None, code: str) -> None:
    settings = get_settings(data_dir=tmp_path, key_secret=secret)
    with pytest.raises(ConfigError) as err:
        create_app(settings)
    assert err.value.code == code


def test_openapi_has_examples(tmp_path: Path) -> None:
    app = create_app(get_settings(data_dir=tmp_path, key_secret="test-only-key-secret-0123456789"))
    try:
        schema = app.openapi()
        assert "/api/v1/projects/{project_id}/complete" in schema["paths"]
        assert schema["components"]["schemas"]["ProjectCreate"]["examples"]
    finally:
        app.state.engine.dispose()
