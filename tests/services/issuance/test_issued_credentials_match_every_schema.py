"""What we issue validates against every bundled version of the OB 3.0 JSON Schemas, as a
consumer runs them: plain ``jsonschema``, the document as served, no wrapping of compacted
values. One published AchievementCredential schema accepts ``proof`` only as an array, a
later one an object or an array; the credentials are issued through the service (project
completion, bulk rows, the VC-API, mentor and host endorsements, embedded and hosted), on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema_rs
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import validators
from sqlmodel import select

from badgeworks.adapters.resources import resource_dir
from badgeworks.core import credential as c
from badgeworks.core.contexts import OB3_CONTEXT, VC2_CONTEXT
from badgeworks.core.structure import credential_kind
from badgeworks.db.models import Credential
from badgeworks.services.issuance import bulk
from badgeworks.services.programs import issuers
from tests.issuer_app import IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path

BASE = "http://127.0.0.1:8000"
BULK_HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"


def _bundled(*, formats: bool = False) -> dict[str, list[tuple[str, Any]]]:
    """Every bundled schema file, by the class it validates: (file name, validator).

    ``formats``: jsonschema-rs asserting ``format`` (as ajv with ajv-formats does), for a
    consumer stricter than the draft 2019-09 default."""
    root = resource_dir("schemas")
    files = sorted(set(json.loads((root / "index.json").read_text("utf-8")).values()))
    out: dict[str, list[tuple[str, Any]]] = {"achievement": [], "endorsement": []}
    for name in files:
        schema = json.loads((root / name).read_text("utf-8"))
        kind = "endorsement" if "endorsementcredential" in name else "achievement"
        if formats:
            strict = jsonschema_rs.validator_for(schema, validate_formats=True, offline=True)
            out[kind].append((name, strict))
        else:
            out[kind].append((name, validators.validator_for(schema)(schema)))
    return out


def _problems(document: dict[str, Any], bundled: dict[str, list[tuple[str, Any]]]) -> list[str]:
    kind = credential_kind(document)
    assert kind in bundled, document.get("type")
    return [
        f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for name, validator in bundled[kind]
        for e in validator.iter_errors(document)
    ]


def _ob_credential(issuer: str) -> dict[str, Any]:
    """An OB 3.0 credential as a caller sends it to ``POST /credentials/issue``."""
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT, c.OB3_EXTENSIONS_CONTEXT],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer,
        "name": "Workshop: data cleaning",
        "validFrom": "2025-06-01T12:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "id": "did:example:learner",
            "achievement": {
                "id": "https://acme.example/achievements/data-cleaning",
                "type": ["Achievement"],
                "name": "Data cleaning",
                "description": "Cleaned a real dataset.",
                "criteria": {"narrative": "Attended and delivered the exercise."},
            },
        },
        "credentialSchema": [
            {"id": c.OB3_SCHEMA_URL, "type": c.JSON_SCHEMA_VALIDATOR_TYPE},
        ],
    }


def _endorsed_completion(client: TestClient, acme: IssuerHandle) -> list[dict[str, Any]]:
    """A mentor endorses, the project completes with it embedded, the host endorses later."""
    ids = draft_project(client, acme)
    project = ids["project"]
    mentor = invite(client, acme, project, organization="Northwind Traders")
    path = review_path(mentor)
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "rating.quality": "exceeds", "comment": "Great."},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    hosted = r.headers["location"].split("?")[0]
    endorsement = client.get(hosted, headers={"Accept": "application/vc+ld+json"}).json()
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    credential = r.json()["credential"]
    assert len(credential["endorsement"]) == 1
    host = invite(client, acme, project, kind="host", name="Northwind", email="p@northwind.example")
    hpath = review_path(host)
    r = client.post(hpath, data={"nonce": open_form(client, hpath), "comment": "Thanks."})
    assert r.status_code == 201, r.text
    later = client.get(r.json()["json_url"].removeprefix(BASE)).json()
    return [endorsement, credential, later]


def test_every_issued_credential_validates_against_every_bundled_schema(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    bundled = _bundled()
    assert len(bundled["achievement"]) >= 2  # both published AchievementCredential versions
    assert bundled["endorsement"]
    served = _endorsed_completion(client, acme)

    ids = draft_project(client, acme)
    rows = "".join(
        f"{ids['achievement']},Person {i},p{i}@example.org,Project {i},Host,row-{i}\n"
        for i in range(3)
    )
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, acme.slug)
        checked = bulk.check(session, issuer, (BULK_HEADER + rows).encode())
        assert not checked.problems, checked.problems
        results = bulk.issue_rows(session, app.state.ctx, issuer, checked.good, actor="test")
    assert len(results) == 3

    r = client.post(
        "/credentials/issue", json={"credential": _ob_credential(acme.did)}, headers=acme.auth
    )
    assert r.status_code == 201, r.text
    served.append(r.json()["verifiableCredential"])

    with app.state.session_factory() as session:
        stored = [json.loads(row.document) for row in session.exec(select(Credential)).all()]
    ob = [d for d in stored if credential_kind(d) != "vc"]
    assert len(ob) == 5  # the endorsed completion, three bulk rows, the VC-API credential
    documents = served + ob
    asserting = _bundled(formats=True)
    for document in documents:
        assert isinstance(document["proof"], list) and len(document["proof"]) == 1
        assert _problems(document, bundled) == [], document.get("id")
        kind = credential_kind(document)
        assert [n for n, v in asserting[kind] if not v.is_valid(document)] == []
    embedded = [e for d in documents for e in d.get("endorsement", [])]
    assert embedded and all(isinstance(e["proof"], list) for e in embedded)


def test_a_single_proof_object_fails_the_stricter_version_as_served(
    client: TestClient, acme: IssuerHandle
) -> None:
    """What the test above guards against: a consumer running the version that wants an
    array refuses the same credential with its proof as one object."""
    issued = client.post(
        f"/api/v1/projects/{draft_project(client, acme)['project']}/complete", headers=acme.auth
    ).json()["credential"]
    (proof,) = issued["proof"]
    single = {**issued, "proof": proof}
    problems = _problems(single, _bundled())
    # The earlier version refuses it at $.proof; the later one accepts it.
    assert [p.split(": ")[:2] for p in problems] == [
        ["ob_v3p0_achievementcredential_schema.json", "proof"]
    ]
