"""The cryptosuite on the command line: ``badgeworks sign --cryptosuite`` and an issuer's
setting (``badgeworks issuers create --cryptosuite``, ``badgeworks issuers cryptosuite``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from badgeworks.cli import badgeworks
from badgeworks.cli_service import service_commands
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.keys import key_pair_to_json
from badgeworks.services.programs import issuers
from badgeworks.settings import Settings
from tests.test_cli import NOW, unsigned_badge
from tests.test_cli_service import _env


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    key = Ed25519KeyPair.generate()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key_pair_to_json(key)))
    badge = tmp_path / "badge.json"
    badge.write_text(json.dumps(unsigned_badge(key)))
    return badge, key_file


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(badgeworks, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_sign_with_jcs_then_verify(files: tuple[Path, Path], tmp_path: Path) -> None:
    badge, key_file = files
    out = tmp_path / "signed.json"
    code, _, err = run(
        "sign", str(badge), "--key", str(key_file), "--created", NOW,
        "--cryptosuite", "eddsa-jcs-2022", "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    proof = json.loads(out.read_text())["proof"]
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["@context"] == json.loads(badge.read_text())["@context"]
    code, stdout, _ = run("verify", str(out), "--now", NOW)
    assert code == 0 and stdout.startswith("Verified"), stdout
    # Without the option the default stays eddsa-rdfc-2022.
    code, stdout, _ = run("sign", str(badge), "--key", str(key_file), "--created", NOW)
    assert code == 0 and json.loads(stdout)["proof"]["cryptosuite"] == "eddsa-rdfc-2022"


def test_sign_refuses_other_cryptosuites_and_the_envelope_mix(files: tuple[Path, Path]) -> None:
    badge, key_file = files
    for bad in ("eddsa-2022", "Ed25519Signature2020", "ecdsa-rdfc-2019"):
        code, stdout, err = run("sign", str(badge), "--key", str(key_file), "--cryptosuite", bad)
        assert code == 2 and stdout == "", (bad, err)
        assert "eddsa-jcs-2022" in err and "eddsa-rdfc-2022" in err
    code, stdout, err = run(
        "sign", str(badge), "--key", str(key_file), "--envelope",
        "--cryptosuite", "eddsa-jcs-2022",
    )  # fmt: skip
    assert code == 2 and stdout == "" and "--envelope" in err


def test_issuers_cryptosuite_shows_and_sets_it(
    app: FastAPI, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the CLI calls the same services; once is enough")
    env = _env(settings)
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(service_commands, list(args), env=env)
        return result.exit_code, result.output

    code, out = cli(
        "issuers", "create", "jcs-co", "--name", "JCS Co", "--cryptosuite", "eddsa-jcs-2022"
    )
    assert code == 0, out
    assert cli("issuers", "cryptosuite", "jcs-co") == (0, "jcs-co\teddsa-jcs-2022\n")
    assert cli("issuers", "cryptosuite", "jcs-co", "eddsa-rdfc-2022") == (
        0,
        "jcs-co\teddsa-rdfc-2022\n",
    )
    code, out = cli("issuers", "cryptosuite", "jcs-co", "eddsa-2022")
    assert code == 2 and "eddsa-jcs-2022" in out
    code, out = cli("issuers", "create", "plain-co", "--name", "Plain Co")
    assert code == 0, out
    with app.state.session_factory() as session:
        assert issuers.get_issuer(session, "jcs-co").cryptosuite == "eddsa-rdfc-2022"
        assert issuers.get_issuer(session, "plain-co").cryptosuite == "eddsa-rdfc-2022"
