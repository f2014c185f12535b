"""Bulk CSV issuance and the service CLI commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from badgeworks.cli_service import service_commands
from badgeworks.core.errors import InputError
from badgeworks.services.issuance import bulk

SECRET = "test-only-key-secret-0123456789"
HEADER = (
    "achievement_id,candidate_name,candidate_email,project_title,host_name,"
    "deliverable_name,deliverable_url\n"
)


def test_wrong_header_and_bad_encoding_reject_the_file() -> None:
    with pytest.raises(InputError) as err:
        bulk.parse(b"achievement,name\n1,x\n")
    assert err.value.code == "csv.header"
    assert "missing column(s) achievement_id" in err.value.message
    with pytest.raises(InputError) as err:
        bulk.parse(HEADER.encode() + b"1,Ada,ada@example.org,T,H,,\n1,B\xff,b@x.org,T,H,,\n")
    assert err.value.code == "csv.encoding" and "line 3" in err.value.message


def test_bad_rows_are_reported_by_line() -> None:
    data = (
        HEADER
        + "1,Ada,ada@example.org,Project A,Host,Report,https://x.example/r\n"
        + "x,Bob,not-an-email,Project B,Host,,\n"
        + '1,"Multi\nline",cy@example.org,Project C,Host,,\n'
        + "1,Dee,dee@example.org,,Host,,\n"
    ).encode()
    good, bad = bulk.parse(data)
    assert [r.line for r in good] == [2, 4]
    assert [b.line for b in bad] == [3, 6]
    assert any("achievement_id" in e for e in bad[0].errors)
    assert any("title" in e for e in bad[1].errors)


def _run(runner: CliRunner, env: dict[str, str], *args: str) -> str:
    result = runner.invoke(service_commands, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def test_cli_flow(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {
        "BADGEWORKS_DATABASE_URL": database_url,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": SECRET,
    }
    _run(runner, env, "db", "upgrade")
    _run(runner, env, "issuers", "create", "acme", "--name", "Acme Academy")
    assert "acme" in _run(runner, env, "issuers", "list")
    token = _run(runner, env, "tokens", "create", "--issuer", "acme", "--label", "ci").strip()
    assert token.startswith("bwt_")
    _run(runner, env, "tokens", "revoke", "--issuer", "acme", "1")

    out = _run(runner, env, "seed-demo")
    assert "/credentials/" in out

    # A cohort CSV against the demo achievement (id 1 belongs to demo-academy, so acme
    # sees it as missing: that row is rejected, and the exit code says so).
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_text(
        HEADER
        + "1,Ada,ada@example.org,Project A,Host,Report,https://x.example/r\n"
        + "1,Bob,bob@example.org,Project B,Host,,\n"
        + "oops,Eve,eve@example.org,Project E,Host,,\n",
        "utf-8",
    )
    result = runner.invoke(
        service_commands,
        ["issue-csv", str(csv_file), "--issuer", "demo-academy", "--json"],
        env=env,
    )
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert len(payload["issued"]) == 2
    assert [r["line"] for r in payload["rejected"]] == [4]


def test_seed_demo_generates_a_dev_secret(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"BADGEWORKS_DATABASE_URL": database_url, "BADGEWORKS_DATA_DIR": str(tmp_path)}
    result = runner.invoke(service_commands, ["seed-demo"], env=env)
    assert result.exit_code == 0, result.output
    secret_file = tmp_path / "key-secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert "generated a random development secret" in result.stderr
