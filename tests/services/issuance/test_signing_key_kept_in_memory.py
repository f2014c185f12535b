"""An issuer's key is decrypted once per process, and again whenever its stored row changes."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.adapters.keystore import decrypt_seed, decrypt_seed_with, encrypt_seed
from badgeworks.db.models import IssuerKey
from badgeworks.services.programs import issuers
from tests.issuer_app import TEST_SECRET, IssuerHandle
from tests.services.issuance.test_completion_signs_outside_the_write_lock import draft_completed


def test_completions_decrypt_the_key_once_until_its_ciphertext_changes(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    decrypted: list[str] = []

    def counting(token: str, secrets: list[str] | tuple[str, ...]) -> bytes:
        decrypted.append(token)
        return decrypt_seed_with(token, secrets)

    monkeypatch.setattr(issuers, "decrypt_seed_with", counting)
    first = draft_completed(client, acme)
    for _ in range(3):
        draft_completed(client, acme)
    assert len(decrypted) <= 1  # none if the key was already in memory
    # The same seed encrypted again (a new nonce, so a new ciphertext): decrypted again,
    # once, and the credentials still name and use the same key.
    with app.state.session_factory() as session:
        row = session.exec(select(IssuerKey)).one()
        seed = decrypt_seed(row.encrypted_secret, TEST_SECRET)
        row.encrypted_secret = encrypt_seed(seed, TEST_SECRET)
        session.add(row)
        session.commit()
        fresh = row.encrypted_secret
    decrypted.clear()
    again = [draft_completed(client, acme) for _ in range(2)]
    assert decrypted == [fresh]
    proofs = [d["proof"] for d in [first, *again]]
    methods = {(p[0] if isinstance(p, list) else p)["verificationMethod"] for p in proofs}
    assert len(methods) == 1
