"""VC-API options and inputs, each test built from the requirement its docstring quotes.

Sources: the VC-API specification (w3c-ccg/vc-api ``index.html``, "Handling Unknown Options
and Data"; ``issuer.yml``; ``components/VerifyPresentationOptions.yml``), the W3C CCG issuer
and verifier test suites (``w3c-ccg/vc-api-issuer-test-suite`` ``tests/10-issuer.js`` and
``tests/assertions.js``; ``w3c-ccg/vc-api-verifier-test-suite`` ``tests/helpers.js``, whose
every request sends ``"options": {"checks": ["proof"]}``) and the VC Data Model 2.0.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.proof import add_proof
from badgeworks.core.verification.presentation import create_presentation, sign_presentation
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import VC2, plain_credential

VC1 = "https://www.w3.org/2018/credentials/v1"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
DI_V2 = "https://w3id.org/security/data-integrity/v2"


@pytest.fixture(scope="module")
def oapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("vcapi-options")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'vcapi.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        max_json_bytes=256 * 1024,
        # Many anonymous verify calls from one client; the shared limit is tested elsewhere.
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def http(oapp: FastAPI) -> TestClient:
    return TestClient(oapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def issuer(oapp: FastAPI) -> IssuerHandle:
    return make_issuer(oapp, "options")


@pytest.fixture(scope="module")
def did(issuer: IssuerHandle) -> str:
    return issuer.did


def _issue(http: TestClient, who: IssuerHandle, credential: Any, **body: Any) -> Any:
    return http.post(
        "/credentials/issue", json={"credential": credential, **body}, headers=who.auth
    )


def _issued(http: TestClient, who: IssuerHandle, credential: Any, **body: Any) -> dict[str, Any]:
    r = _issue(http, who, credential, **body)
    assert r.status_code == 201, r.text
    vc: dict[str, Any] = r.json()["verifiableCredential"]
    return vc


def _verify(http: TestClient, vc: Any, options: Any = None) -> Any:
    body: dict[str, Any] = {"verifiableCredential": vc}
    if options is not None:
        body["options"] = options
    return http.post("/credentials/verify", json=body)


def _areas(response: Any) -> set[str]:
    return {c["check"] for c in response.json()["checks"]}


def _codes(response: Any) -> list[str]:
    return [c["code"] for c in response.json()["checks"]]


def _revoke(http: TestClient, who: IssuerHandle, vc: dict[str, Any]) -> None:
    r = http.post(
        "/credentials/status",
        json={
            "credentialId": vc["id"],
            "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "revoked"}],
        },
        headers=who.auth,
    )
    assert r.status_code == 200, r.text


def _entries(vc: dict[str, Any]) -> list[dict[str, Any]]:
    status = vc.get("credentialStatus", [])
    return status if isinstance(status, list) else [status]


# --- verify: options.checks -------------------------------------------------------------


def test_checks_name_what_decides_the_answer(http: TestClient, issuer: IssuerHandle) -> None:
    """The verifier suite sends ``options.checks: ["proof"]`` with every credential and
    expects 200 for a valid one; VerifyPresentationOptions allows "fine-grained controls for
    credential verification aspects such as status checks ... proof verification". Only
    the named checks decide ``verified`` and appear in ``checks``.
    """
    vc = _issued(http, issuer, plain_credential(issuer.did))
    _revoke(http, issuer, vc)
    assert _verify(http, vc).status_code == 422

    proof_only = _verify(http, vc, {"checks": ["proof"]})
    assert proof_only.status_code == 200, proof_only.text
    body = proof_only.json()
    assert body["verified"] is True and body["errors"] == []
    assert _areas(proof_only) == {"proof", "issuer"}
    assert "proof.verified" in _codes(proof_only)

    with_status = _verify(http, vc, {"checks": ["proof", "status"]})
    assert with_status.status_code == 422
    assert _areas(with_status) == {"proof", "issuer", "status"}
    assert [e["code"] for e in with_status.json()["errors"]] == ["status.revoked"]

    status_only = _verify(http, vc, {"checks": ["status", "status"]})
    assert _areas(status_only) == {"status"} and status_only.status_code == 422


def test_checks_proof_still_binds_the_key_to_the_issuer(oapp: FastAPI, http: TestClient) -> None:
    """A proof only counts when its key belongs to the issuer (VC Data Model 2.0 §4.7
    Issuer; Data Integrity's ``assertionMethod`` purpose): ``checks: ["proof"]`` must not
    verify a credential signed by one key in another issuer's name."""
    signer, victim = Ed25519KeyPair.generate(), Ed25519KeyPair.generate()
    credential = {
        "@context": [VC2],
        "type": ["VerifiableCredential"],
        "issuer": victim.controller,
        "credentialSubject": {"id": "did:example:alice"},
    }
    forged = add_proof(credential, signer, oapp.state.ctx.loader, created=NOW)
    r = _verify(http, forged, {"checks": ["proof"]})
    assert r.status_code == 422, r.text
    assert "issuer.key_mismatch" in _codes(r)


def test_a_malformed_credential_fails_whatever_checks_are_named(
    http: TestClient, issuer: IssuerHandle
) -> None:
    """The verifier suite: "MUST not verify if "credentialSubject" property is missing",
    sent with ``checks: ["proof"]``. A document that is not a well-formed credential is
    never verified, even when only other checks are named."""
    vc = _issued(http, issuer, plain_credential(issuer.did))
    broken = {k: v for k, v in vc.items() if k != "credentialSubject"}
    for checks in (["proof"], ["status"], ["validity"]):
        r = _verify(http, broken, {"checks": checks})
        assert r.status_code == 422, (checks, r.text)
        assert r.json()["verified"] is False
        assert any(c["check"] == "structure" and c["outcome"] == "fail" for c in r.json()["checks"])


def test_unknown_check_names_are_a_400_naming_them(http: TestClient, issuer: IssuerHandle) -> None:
    """VC-API, "Handling Unknown Options and Data": "Implementations MUST throw an error if
    an endpoint receives data, options, or option values that it does not understand or
    know how to process"; invalid input is 400 (verifier.yml)."""
    vc = _issued(http, issuer, plain_credential(issuer.did))
    r = _verify(http, vc, {"checks": ["proof", "bogusCheck"]})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "vcapi.check_unknown" and "bogusCheck" in body["error"]
    assert "proof" in body["error"] and body["ok"] is False


def test_unknown_options_are_a_400_never_ignored(http: TestClient, issuer: IssuerHandle) -> None:
    """VC-API, "Handling Unknown Options and Data": "Implementations MUST throw an error if
    an endpoint receives data, options, or option values that it does not understand or
    know how to process" (problem type UNKNOWN_OPTION_PROVIDED)."""
    vc = _issued(http, issuer, plain_credential(issuer.did))
    r = _verify(http, vc, {"checks": ["proof"], "returnResults": True})
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unknown"
    assert "returnResults" in r.json()["error"]
    # returnPresentation is a presentation option, not a credential one.
    r = _verify(http, vc, {"returnPresentation": True})
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unknown"
    r = _issue(http, issuer, plain_credential(issuer.did), options={"bogus": 1})
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unknown"
    r = _issue(
        http, issuer, plain_credential(issuer.did), options={"mandatoryPointers": ["/issuer"]}
    )
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unsupported"


def test_challenge_and_domain_must_be_strings(http: TestClient, issuer: IssuerHandle) -> None:
    """VerifyPresentationOptions: ``challenge`` and ``domain`` are of ``type: string``; an
    option value we cannot process is an error (Handling Unknown Options and Data)."""
    vc = _issued(http, issuer, plain_credential(issuer.did))
    for options in ({"challenge": 5}, {"domain": ["a"]}, {"challenge": "x" * 2001}):
        r = _verify(http, vc, options)
        assert r.status_code == 400 and r.json()["code"] == "vcapi.option_invalid", options


# --- presentations ----------------------------------------------------------------------


def _presented(
    oapp: FastAPI, vc: dict[str, Any], *, challenge: str = "c-1", domain: str = "ex.org"
) -> dict[str, Any]:
    holder = Ed25519KeyPair.generate()
    vp = create_presentation([vc], holder=holder.controller)
    return sign_presentation(
        vp, holder, oapp.state.ctx.loader, now=NOW, challenge=challenge, domain=domain
    )


def test_presentation_checks_select_each_credentials_checks(
    oapp: FastAPI, http: TestClient, issuer: IssuerHandle
) -> None:
    """VerifyPresentationOptions: "fine-grained controls for credential verification aspects
    such as status checks ... proof verification"; the presentation's own proof "(including
    domain and challenge validation, if provided)" is always verified (verifier.yml)."""
    vc = _issued(http, issuer, plain_credential(issuer.did))
    _revoke(http, issuer, vc)
    vp = _presented(oapp, vc)
    options: dict[str, Any] = {"challenge": "c-1", "domain": "ex.org"}

    def post(extra: dict[str, Any]) -> Any:
        return http.post(
            "/presentations/verify",
            json={"verifiablePresentation": vp, "options": {**options, **extra}},
        )

    assert post({}).status_code == 422
    r = post({"checks": ["proof"]})
    assert r.status_code == 200, r.text
    result = r.json()["credentialResults"][0]
    assert {c["check"] for c in result["checks"]} == {"proof", "issuer"}
    assert {c["check"] for c in r.json()["checks"]} >= {"presentation", "proof"}
    r = post({"checks": ["proof", "status"]})
    assert r.status_code == 422
    assert r.json()["credentialResults"][0]["errors"][0]["code"] == "status.revoked"
    # The presentation's challenge is checked whatever checks are named.
    r = post({"checks": ["proof"], "challenge": "c-2"})
    assert r.status_code == 422 and "proof.challenge_mismatch" in _codes(r)


def test_return_presentation(oapp: FastAPI, http: TestClient, issuer: IssuerHandle) -> None:
    """VerifyPresentationOptions.returnPresentation: "If true, then the verified
    presentation MUST be returned. If false or not provided, then the verified presentation
    MUST NOT be returned." A value that is not a boolean is refused."""
    vp = _presented(oapp, _issued(http, issuer, plain_credential(issuer.did)))
    options: dict[str, Any] = {"challenge": "c-1", "domain": "ex.org"}
    for flag, returned in ((True, True), (False, False), (None, False)):
        extra = {} if flag is None else {"returnPresentation": flag}
        r = http.post(
            "/presentations/verify",
            json={"verifiablePresentation": vp, "options": {**options, **extra}},
        )
        assert r.status_code == 200, r.text
        assert ("presentation" in r.json()) is returned
        if returned:
            assert r.json()["presentation"] == vp
    r = http.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {"returnPresentation": "yes"}},
    )
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_invalid"


# --- issue: id and issuer ---------------------------------------------------------------


def test_null_id_is_refused(http: TestClient, issuer: IssuerHandle) -> None:
    """VC Data Model 2.0 §4.4 Identifiers: "If present, the value of the id property MUST
    be a single URL"; ``null`` is present and not a URL. The issuer suite answers invalid
    input with 400 (``shouldThrowInvalidInput``)."""
    r = _issue(http, issuer, plain_credential(issuer.did, id=None))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.id_invalid"


@pytest.mark.parametrize(
    "given",
    [None, True, 4, [], "not a url", {"name": "No id"}, {"id": 5}, {"id": None}, [{"id": "x"}]],
)
def test_malformed_issuer_is_a_400(http: TestClient, issuer: IssuerHandle, given: Any) -> None:
    """Issuer suite, '"credential.issuer" MUST be a string or an object' (null, true, 4,
    [] expect 400); VC Data Model 2.0 §4.7: "The value of the issuer property MUST be
    either a URL or an object containing an id property whose value is a URL"."""
    r = _issue(http, issuer, plain_credential(issuer=given))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.issuer_invalid"


def test_another_issuers_id_is_a_400_not_replaced(
    http: TestClient, issuer: IssuerHandle, did: str
) -> None:
    """VC-API issuer.yml, ``/credentials/issue`` 400: "The provided value of 'issuer' does
    not match the expected configuration." It is refused, never silently replaced."""
    for given in ("did:example:someone-else", {"id": "https://other.example/issuer"}):
        r = _issue(http, issuer, plain_credential(issuer=given))
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "vcapi.issuer_not_yours"
        assert did in r.json()["error"]
    vc = _issued(http, issuer, plain_credential(issuer=did))
    assert vc["issuer"] == did


# --- issue: status entries --------------------------------------------------------------


def _vc1(issuer: IssuerHandle) -> dict[str, Any]:
    return {
        "@context": [VC1],
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "credentialSubject": {"id": "did:example:bob"},
    }


def test_vc1_gets_status_only_when_asked(http: TestClient, issuer: IssuerHandle) -> None:
    """A VC 1.1 credential gets no status entry and no status context it did not ask for
    (a consumer with a closed document loader for VC 1.1 cannot load the status context);
    ``options.credentialStatus: {"type": "BitstringStatusListEntry"}`` asks for them."""
    plain = _issued(http, issuer, _vc1(issuer))
    assert plain["@context"] == [VC1, DI_V2] and "credentialStatus" not in plain
    asked = _issued(
        http,
        issuer,
        _vc1(issuer),
        options={"credentialStatus": {"type": "BitstringStatusListEntry"}},
    )
    assert asked["@context"] == [VC1, STATUS_V1, DI_V2]
    purposes = [e["statusPurpose"] for e in _entries(asked)]
    assert purposes == ["revocation", "suspension"]
    assert _verify(http, asked).status_code == 200
    _revoke(http, issuer, asked)
    assert "status.revoked" in _codes(_verify(http, asked))


@pytest.mark.parametrize(
    "wanted",
    [
        {"type": "StatusList2021Entry"},
        {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        {},
        "BitstringStatusListEntry",
        [{"type": "BitstringStatusListEntry"}],
    ],
)
def test_status_options_we_cannot_honour_are_a_400(
    http: TestClient, issuer: IssuerHandle, wanted: Any
) -> None:
    """An option value the issuer cannot process is an error (VC-API, "Handling Unknown
    Options and Data"): this issuer keeps Bitstring Status Lists only."""
    r = _issue(http, issuer, _vc1(issuer), options={"credentialStatus": wanted})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.option_unsupported"


def test_vc2_never_gets_two_entries_of_one_purpose(http: TestClient, issuer: IssuerHandle) -> None:
    """Bitstring Status List §2.1: each entry names its ``statusPurpose``; two entries of
    one purpose would leave a verifier to choose. A VC 2.0 credential keeps today's
    revocation and suspension entries, asking for them changes nothing, and a purpose the
    caller's own entry serves gets none of ours."""
    default = _issued(http, issuer, plain_credential(issuer.did))
    asked = _issued(
        http,
        issuer,
        plain_credential(issuer.did),
        options={"credentialStatus": {"type": "BitstringStatusListEntry"}},
    )
    for vc in (default, asked):
        assert [e["statusPurpose"] for e in _entries(vc)] == ["revocation", "suspension"]
        assert STATUS_V1 not in vc["@context"]
    own = {
        "id": "https://status.example/lists/1#7",
        "type": "https://status.example/vocab#StatusEntry",
        "statusPurpose": "revocation",
    }
    # The VC 2.0 context defines ``statusPurpose`` only inside its own entry types.
    vocab = {"statusPurpose": "https://status.example/vocab#statusPurpose"}
    mixed = _issued(
        http,
        issuer,
        plain_credential(issuer.did, credentialStatus=own, **{"@context": [VC2, vocab]}),
    )
    entries = _entries(mixed)
    assert entries[0] == own
    assert [e.get("statusPurpose") for e in entries] == ["revocation", "suspension"]
    assert entries[1]["type"] == "BitstringStatusListEntry"


def test_a_reissued_vc1_keeps_the_status_it_was_issued_with(
    http: TestClient, issuer: IssuerHandle
) -> None:
    """A replacement says what the credential it replaces said: a VC 1.1 credential issued
    without status entries is re-issued without them (and without the status context), one
    issued with them gets fresh ones."""
    for options, contexts, purposes in (
        ({}, [VC1, DI_V2], []),
        (
            {"credentialStatus": {"type": "BitstringStatusListEntry"}},
            [VC1, STATUS_V1, DI_V2],
            ["revocation", "suspension"],
        ),
    ):
        old = _issued(http, issuer, _vc1(issuer), options=options)
        row = old["id"].rsplit("/", 1)[-1]
        r = http.post(
            f"/api/v1/credentials/{row}/reissue", json={"reason": "typo"}, headers=issuer.auth
        )
        assert r.status_code == 201, r.text
        new = http.get(
            f"/credentials/{r.json()['id']}", headers={"Accept": "application/json"}
        ).json()
        assert new["id"] != old["id"]
        assert new["@context"] == contexts
        assert [e["statusPurpose"] for e in _entries(new)] == purposes
        if purposes:
            assert _entries(new) != _entries(old), "the replacement has entries of its own"
