"""``badgeworks verify --status-list [URL=]FILE``: which URL a given status list answers for.

Bitstring Status List v1.0 §2.2: a list credential MAY have an ``id`` matching the entry's
``statusListCredential``. A list with an ``id`` answers for that URL only; a list without
one answers for the URL given with it, or for the one entry it fits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from badgeworks.adapters.resources import default_loader
from badgeworks.cli import badgeworks
from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.identity import identity_object
from badgeworks.core.proof import add_proof
from badgeworks.core.status import (
    encode_list,
    new_bitstring,
    set_status,
    status_entry,
    status_list_credential,
)

ISSUED = datetime(2025, 5, 1, tzinfo=UTC)
NOW = "2025-06-01T00:00:00Z"
LIST_URL = "https://northwind.example/status/1?list=revocation"
RAW_URL = "https://raw.githubusercontent.example/northwind/lists/main/1.json"


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def _run(*args: str) -> Any:
    return CliRunner().invoke(badgeworks, list(args))


def _badge(key: Ed25519KeyPair, tmp_path: Path, *entries: dict[str, Any]) -> Path:
    achievement = ob.achievement(
        id="https://northwind.example/achievements/a",
        name="Micro-internship",
        description="Four weeks of work.",
        criteria_narrative="Deliver.",
    )
    subject = ob.achievement_subject(
        achievement=achievement, identifier=[identity_object("a@example.com", salt="s")]
    )
    unsigned = ob.achievement_credential(
        id="urn:uuid:2c1fd2a4-4ac7-4bd1-9f36-8e8cbbb07f0e",
        issuer=ob.profile(id=key.controller, name="Northwind"),
        valid_from=ob.xsd_datetime(ISSUED),
        subject=subject,
        name="Micro-internship",
        credential_status=list(entries) if len(entries) > 1 else entries[0],
    )
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(add_proof(unsigned, key, default_loader(), created=ISSUED)))
    return path


def _list(
    key: Ed25519KeyPair,
    tmp_path: Path,
    name: str,
    *,
    id: str | None = LIST_URL,
    purpose: str = "revocation",
) -> Path:
    bits = new_bitstring()
    set_status(bits, 5, 1)
    unsigned = status_list_credential(
        id=id or "urn:placeholder",
        issuer=key.controller,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    if id is None:
        del unsigned["id"]
    path = tmp_path / name
    path.write_text(json.dumps(add_proof(unsigned, key, default_loader(), created=ISSUED)))
    return path


def _entry(url: str = LIST_URL, purpose: str = "revocation") -> dict[str, Any]:
    return status_entry(status_list_credential=url, index=5, purpose=purpose)


def test_a_list_is_used_for_the_url_its_id_names(key: Ed25519KeyPair, tmp_path: Path) -> None:
    badge = _badge(key, tmp_path, _entry())
    listed = _list(key, tmp_path, "list.json")
    result = _run("verify", str(badge), "--now", NOW, "--status-list", str(listed))
    assert result.exit_code == 1 and "status.revoked" in result.stdout
    # Named by the URL the credential's entry gives (a query with '=' in it too).
    result = _run("verify", str(badge), "--now", NOW, "--status-list", f"{LIST_URL}={listed}")
    assert result.exit_code == 1 and "status.revoked" in result.stdout


def test_a_list_without_id_answers_for_the_url_given_with_it(
    key: Ed25519KeyPair, tmp_path: Path
) -> None:
    badge = _badge(key, tmp_path, _entry(RAW_URL))
    listed = _list(key, tmp_path, "raw.json", id=None)
    result = _run("verify", str(badge), "--now", NOW, "--status-list", f"{RAW_URL}={listed}")
    assert result.exit_code == 1, result.output
    assert "status.revoked" in result.stdout
    # Given alone, it answers for the one entry it fits.
    result = _run("verify", str(badge), "--now", NOW, "--status-list", str(listed))
    assert result.exit_code == 1 and "status.revoked" in result.stdout
    # The same list named for a URL the credential does not use checks nothing.
    other = f"https://elsewhere.example/list={listed}"
    result = _run("verify", str(badge), "--now", NOW, "--status-list", other)
    assert result.exit_code == 0 and "status.not_checked" in result.stdout


def test_a_list_is_never_used_for_a_url_other_than_its_id(
    key: Ed25519KeyPair, tmp_path: Path
) -> None:
    """Substitution: a genuine list of the same issuer for other credentials (index 5 is
    someone else's) must not answer for this credential's list."""
    badge = _badge(key, tmp_path, _entry(RAW_URL))
    elsewhere = _list(key, tmp_path, "other.json", id="https://northwind.example/status/9")
    result = _run("verify", str(badge), "--now", NOW, "--status-list", str(elsewhere))
    assert result.exit_code == 0 and "status.not_checked" in result.stdout
    result = _run("verify", str(badge), "--now", NOW, "--status-list", f"{RAW_URL}={elsewhere}")
    assert result.exit_code == 2
    assert "names itself" in result.output


def test_a_list_without_id_must_fit_exactly_one_entry(key: Ed25519KeyPair, tmp_path: Path) -> None:
    revocation = _entry(RAW_URL)
    suspension = _entry("https://northwind.example/status/s", "suspension")
    badge = _badge(key, tmp_path, revocation, suspension)
    unnamed = _list(key, tmp_path, "raw.json", id=None)
    # The purpose tells the two entries apart.
    result = _run("verify", str(badge), "--now", NOW, "--status-list", str(unnamed))
    assert result.exit_code == 1 and "status.revoked" in result.stdout
    # A suspension list fits the suspension entry only.
    suspended = _list(key, tmp_path, "s.json", id=None, purpose="suspension")
    result = _run("verify", str(badge), "--now", NOW, "--status-list", str(suspended))
    assert result.exit_code == 1 and "status.suspended" in result.stdout
    # A 'message' list fits no entry; two revocation lists without id are ambiguous.
    message = _list(key, tmp_path, "m.json", id=None, purpose="message")
    for given in ([message], [unnamed, unnamed]):
        args = [a for path in given for a in ("--status-list", str(path))]
        result = _run("verify", str(badge), "--now", NOW, *args)
        assert result.exit_code == 2
        assert "URL=FILE" in result.output


def test_two_lists_for_one_url_are_a_usage_error(key: Ed25519KeyPair, tmp_path: Path) -> None:
    badge = _badge(key, tmp_path, _entry())
    listed = _list(key, tmp_path, "list.json")
    result = _run("verify", str(badge), "--status-list", str(listed), "--status-list", str(listed))
    assert result.exit_code == 2 and "two status lists" in result.output
