"""The pages read each stored credential's text once per process, and stay current.

What a stored text says by itself (its reading, the DIDs its proofs name, its dates) is
kept under the SHA-256 of the text (``services.portfolio.readings``); a view reads only
texts it has not seen, and a different text under the same id is read again. The
portfolio page builds no share links for its cards (it shows only its own).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from badgeworks.services.portfolio import readings, sharing
from badgeworks.services.portfolio.readings import READINGS, KeptReadings, read_text
from badgeworks.services.verification import kept
from badgeworks.services.verification.kept import KEPT
from tests.issuer_app import ACHIEVEMENT, BASE, NOW, IssuerHandle
from tests.web.test_pages_cost_what_they_show import _view, portfolio_with, states


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    KEPT.clear()
    READINGS.clear()
    yield
    KEPT.clear()
    READINGS.clear()


def test_a_second_view_reads_no_stored_text_again(client: TestClient, acme: IssuerHandle) -> None:
    portfolio, paths = portfolio_with(client, acme, 5, handle="five-texts")
    READINGS.clear()
    assert states(_view(client, portfolio)) == ["valid"] * 5
    assert READINGS.computed == 5
    assert states(_view(client, portfolio)) == ["valid"] * 5
    assert states(_view(client, paths[0])) == ["valid"]
    assert READINGS.computed == 5 and READINGS.reused == 6


def test_a_changed_text_under_the_same_id_is_read_again(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    portfolio, paths = portfolio_with(client, acme, 2, handle="changed-text")
    assert states(_view(client, portfolio)) == ["valid"] * 2
    cid = paths[0].rsplit("/", 1)[-1]
    name = str(ACHIEVEMENT["name"])
    with app.state.engine.begin() as conn:
        conn.execute(
            text("UPDATE credential SET document = REPLACE(document, :old, :new) WHERE id = :id"),
            {"old": name, "new": "Forged Title", "id": cid},
        )
    page = _view(client, paths[0])
    assert states(page) == ["invalid"]
    assert "Forged Title" in page
    assert sorted(states(_view(client, portfolio))) == ["invalid", "valid"]


def test_kept_readings_are_bounded() -> None:
    kept = KeptReadings(limit=2)
    texts = {f"id-{n}": f'{{"name": "credential {n}"}}' for n in range(3)}
    for ident, body in texts.items():
        kept.read(BASE, "credential", ident, body)
    assert len(kept) == 2 and kept.computed == 3
    kept.read(BASE, "credential", "id-2", texts["id-2"])
    assert kept.reused == 1
    kept.read(BASE, "credential", "id-0", texts["id-0"])  # the oldest left: read again
    assert kept.computed == 4 and len(kept) == 2


def test_a_text_that_is_not_json_is_never_kept() -> None:
    kept = KeptReadings()
    with pytest.raises(ValueError):
        kept.read(BASE, "credential", "id", "{not json")
    assert len(kept) == 0


def test_the_portfolio_page_builds_share_links_only_for_itself(
    client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio, paths = portfolio_with(client, acme, 3, handle="shared-once")
    calls: list[str] = []
    real = sharing.share_links

    def counted(url: str, title: str) -> Any:
        calls.append(url)
        return real(url, title)

    monkeypatch.setattr(sharing, "share_links", counted)
    _view(client, portfolio)
    assert calls == [f"{BASE}{portfolio}"]
    calls.clear()
    page = _view(client, paths[0])
    assert calls == [f"{BASE}{paths[0]}"]
    assert "linkedin.com/profile/add" in page and "twitter.com/intent/tweet" in page


def test_threads_reading_texts_while_readings_are_dropped_agree(
    client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    portfolio, _ = portfolio_with(client, acme, 4, handle="threads-read")
    monkeypatch.setattr(readings, "READINGS", KeptReadings(limit=2))
    seen: list[list[str]] = []
    failures: list[BaseException] = []

    def views() -> None:
        try:
            for _ in range(5):
                seen.append(states(_view(client, portfolio)))
        except BaseException as exc:
            failures.append(exc)

    crowd = [threading.Thread(target=views) for _ in range(4)]
    for t in crowd:
        t.start()
    for t in crowd:
        t.join()
    assert not failures, failures
    assert seen == [["valid"] * 4] * 20


def test_a_reading_gives_the_key_and_reach_of_its_document(
    client: TestClient, acme: IssuerHandle
) -> None:
    _, paths = portfolio_with(client, acme, 1, handle="same-key")
    cid = paths[0].rsplit("/", 1)[-1]
    stored = client.get(f"/credentials/{cid}", headers={"Accept": "application/json"}).text
    document = json.loads(stored)
    reading = read_text(BASE, "credential", stored)
    keys = {did: "fingerprint" for did in reading.dids}
    for now in (NOW - timedelta(days=1), NOW, NOW + timedelta(days=3650)):
        expected = kept.report_key(
            origin=BASE,
            kind="credential",
            ident=cid,
            text=stored,
            document=document,
            keys=keys,
            now=now,
        )
        assert expected == kept.key_of(
            origin=BASE,
            kind="credential",
            ident=cid,
            text_digest=reading.digest,
            dids=reading.dids,
            dates=reading.dates,
            keys=keys,
            now=now,
        )
    for known in (True, False):
        for fingerprints in (keys, {}):
            assert kept.reaches_only(
                document, BASE, fingerprints, lists_known=known
            ) == kept.reaches_only_named(
                reading.dids,
                reading.lists,
                reading.digested,
                BASE,
                fingerprints,
                lists_known=known,
            )


@pytest.mark.parametrize(
    "evidence",
    [f"{BASE}/blobs/{'a' * 64}", "https://elsewhere.example/report.pdf"],
)
def test_a_reading_reaches_what_its_document_reaches(evidence: str) -> None:
    document = {
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialStatus": {"statusListCredential": f"{BASE}/status/1"},
        "evidence": [{"id": evidence, "digestMultibase": "uEiB"}],
        "proof": {"verificationMethod": "did:key:z6Mk#z6Mk", "created": "2025-01-01T00:00:00Z"},
    }
    reading = read_text(BASE, "credential", json.dumps(document))
    keys = {"did:key:z6Mk": kept.IMMUTABLE}
    for known in (True, False):
        assert kept.reaches_only(document, BASE, keys, lists_known=known) == (
            kept.reaches_only_named(
                reading.dids, reading.lists, reading.digested, BASE, keys, lists_known=known
            )
        )
    assert kept.reaches_only(document, BASE, keys, lists_known=True) == (evidence.startswith(BASE))
