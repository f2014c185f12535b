"""Hostile ``options`` and inputs on the VC-API endpoints: each is a 400 with a code of its
own, never a 500 and never silently accepted.

VC-API, "Handling Unknown Options and Data": "Implementations MUST throw an error if an
endpoint receives data, options, or option values that it does not understand or know how
to process"; verifier.yml and issuer.yml answer invalid input with 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import plain_credential


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, IssuerHandle]]:
    tmp: Path = tmp_path_factory.mktemp("vcapi-hostile")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'vcapi.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        max_json_bytes=512 * 1024,
    )
    application: FastAPI = create_app(settings, clock=lambda: NOW)
    who = make_issuer(application, "hostile")
    yield TestClient(application, raise_server_exceptions=False), who
    application.state.engine.dispose()


def _deep(depth: int) -> Any:
    """Nested junk ``2 * depth`` levels deep (the body guard stops at 64 levels)."""
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


#: (options, the code expected on both verify endpoints)
HOSTILE_VERIFY_OPTIONS: list[tuple[Any, str]] = [
    ([], "vcapi.options_invalid"),
    ([{"checks": ["proof"]}], "vcapi.options_invalid"),
    ("checks=proof", "vcapi.options_invalid"),
    (5, "vcapi.options_invalid"),
    (True, "vcapi.options_invalid"),
    ({"checks": "proof"}, "vcapi.checks_invalid"),
    ({"checks": {"proof": True}}, "vcapi.checks_invalid"),
    ({"checks": []}, "vcapi.checks_invalid"),
    ({"checks": ["proof"] * 10_000}, "vcapi.checks_invalid"),
    ({"checks": [f"c{i}" for i in range(10_000)]}, "vcapi.checks_invalid"),
    ({"checks": [["proof"]]}, "vcapi.checks_invalid"),
    ({"checks": [None]}, "vcapi.checks_invalid"),
    ({"checks": [_deep(25)]}, "vcapi.checks_invalid"),
    ({"checks": ["proof", "x" * 5000]}, "vcapi.check_unknown"),
    ({"checks": ["Proof"]}, "vcapi.check_unknown"),
    ({"checks": ["__class__"]}, "vcapi.check_unknown"),
    ({"checks": ["proof\u0000"]}, ""),
    ({"challenge": {"nested": _deep(30)}}, "vcapi.option_invalid"),
    ({"domain": 1e308}, "vcapi.option_invalid"),
    ({"domain": "d" * 100_000}, "vcapi.option_invalid"),
    ({"junk": _deep(28)}, "vcapi.option_unknown"),
    ({f"k{i}": i for i in range(10_000)}, "vcapi.option_unknown"),
    ({"\u202echecks": ["proof"]}, "vcapi.option_unknown"),
]


@pytest.mark.parametrize(("options", "code"), HOSTILE_VERIFY_OPTIONS)
def test_hostile_verify_options_are_a_400(
    hostile: tuple[TestClient, IssuerHandle], options: Any, code: str
) -> None:
    """Every malformed ``options`` on both verify endpoints is a 400 with a code."""
    http, who = hostile
    credential = plain_credential()
    for path, body in (
        ("/credentials/verify", {"verifiableCredential": credential, "options": options}),
        (
            "/presentations/verify",
            {
                "verifiablePresentation": {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiablePresentation"],
                    "verifiableCredential": [credential],
                },
                "options": options,
            },
        ),
    ):
        # Authorized calls are not rate limited, so every case reaches the endpoint.
        r = http.post(path, json=body, headers=who.auth)
        assert r.status_code in (400, 422), (path, str(options)[:80], r.text[:300])
        answer = r.json()
        assert answer["ok"] is False and answer["error"], answer
        if code:
            assert r.status_code == 400 and answer["code"] == code, (path, answer)
        assert len(r.text) < 4000, "the refusal quotes a bounded part of the input"


@pytest.mark.parametrize(
    "options",
    [
        [],
        "credentialStatus",
        {"credentialStatus": "BitstringStatusListEntry"},
        {"credentialStatus": {"type": _deep(30)}},
        {"credentialStatus": [{"type": "BitstringStatusListEntry"}] * 10_000},
        {"credentialStatus": None, "junk": _deep(25)},
        {f"k{i}": i for i in range(10_000)},
    ],
)
def test_hostile_issue_options_are_a_400_and_issue_nothing(
    hostile: tuple[TestClient, IssuerHandle], options: Any
) -> None:
    """Issue options we cannot honour are refused before any status entry is claimed."""
    http, who = hostile
    r = http.post(
        "/credentials/issue",
        json={"credential": plain_credential(), "options": options},
        headers=who.auth,
    )
    assert r.status_code == 400, r.text[:300]
    assert r.json()["code"].startswith("vcapi.option"), r.json()
    assert len(r.text) < 4000


@pytest.mark.parametrize(
    "issuer",
    [
        {"id": _deep(30)},
        {"id": ["did:example:a"]},
        "did:example:" + "a" * 100_000,
        {"id": "did:example:a", "nested": _deep(20)},
        " did:web:127.0.0.1",
    ],
)
def test_hostile_issuers_are_a_400(hostile: tuple[TestClient, IssuerHandle], issuer: Any) -> None:
    """VC Data Model 2.0 §4.7: the issuer is a URL or an object whose ``id`` is a URL;
    the VC-API answers 400 when it "does not match the expected configuration"."""
    http, who = hostile
    body = json.dumps({"credential": plain_credential(issuer=issuer)}).encode()
    r = http.post(
        "/credentials/issue",
        content=body,
        headers={**who.auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text[:300]
    assert r.json()["code"] in ("vcapi.issuer_invalid", "vcapi.issuer_not_yours")
    assert len(r.text) < 4000


@pytest.mark.parametrize("purpose", [{"a": [1]}, ["revocation"], None, 5, "x" * 10_000])
def test_a_callers_status_entry_with_a_hostile_purpose_is_no_500(
    hostile: tuple[TestClient, IssuerHandle], purpose: Any
) -> None:
    """A caller's own ``credentialStatus`` entry is kept or refused, never a crash: its
    ``statusPurpose`` decides which of our purposes it already serves."""
    http, who = hostile
    entry = {
        "id": "https://status.example/lists/1#7",
        "type": "https://status.example/vocab#StatusEntry",
        "statusPurpose": purpose,
    }
    vocab = {"statusPurpose": "https://status.example/vocab#statusPurpose"}
    credential = plain_credential(
        credentialStatus=entry, **{"@context": ["https://www.w3.org/ns/credentials/v2", vocab]}
    )
    r = http.post("/credentials/issue", json={"credential": credential}, headers=who.auth)
    assert r.status_code in (201, 400, 422), r.text[:300]
    if r.status_code == 201:
        entries = r.json()["verifiableCredential"]["credentialStatus"]
        ours = [e["statusPurpose"] for e in entries if e["type"] == "BitstringStatusListEntry"]
        assert ours == ["revocation", "suspension"]
