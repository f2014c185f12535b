"""What an employer sees in the verifier, over HTTP and in Chromium: a tampered
credential's own claims are "not checked" (never a green "passed")."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import HAVE_CHROMIUM, assert_accessible
from tests.verifier_app import Instance, served_instance

NOT_CHECKED = ("issuer.not_checked", "validity.not_checked", "status.not_checked")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Instance]]:
    with served_instance(tmp_path_factory.mktemp("verdict"), fetch_allow_private=True) as (
        instance,
        base,
    ):
        yield base, instance


def _forged(instance: Instance) -> dict[str, Any]:
    forged = copy.deepcopy(instance.credential)
    forged["credentialSubject"]["achievement"]["name"] = "Chief Data Scientist"
    return forged


def test_api_reports_a_tampered_credential_s_claims_as_not_checked(
    site: tuple[str, Instance],
) -> None:
    _, instance = site
    r = instance.client.post("/api/v1/verify", json=_forged(instance))
    assert r.status_code == 422
    body = r.json()
    assert body["verdict"] == "not_verified"
    found = {c["code"]: c for c in body["checks"]}
    for code in NOT_CHECKED:
        assert found[code]["outcome"] == "skipped"
        assert found[code]["detail"] == {"because": "proof.failed"}
    passed = {c["check"] for c in body["checks"] if c["outcome"] == "pass"}
    assert not passed & {"issuer", "validity", "status", "deliverable"}
    # The genuine credential still shows each of them passed.
    good = instance.client.post(
        "/api/v1/verify", content=instance.text, headers={"Content-Type": "application/json"}
    ).json()
    assert {"issuer", "validity", "status"} <= {
        c["check"] for c in good["checks"] if c["outcome"] == "pass"
    }


@pytest.mark.skipif(not HAVE_CHROMIUM, reason="!!! Debian's chromium is not installed")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_tampered_credential_in_the_browser_has_no_green_tick_for_its_claims(
    browser: Any, site: tuple[str, Instance], lang: str
) -> None:
    base, instance = site
    context = browser.new_context(locale=lang)
    page = context.new_page()
    try:
        page.goto(f"{base}/verify?lang={lang}")
        page.locator("textarea[name=credential]").fill(json.dumps(_forged(instance)))
        page.locator("form button[type=submit]").first.click()
        assert page.locator("#verdict").get_attribute("data-verdict") == "not_verified"
        for code in NOT_CHECKED:
            item = page.locator(f'li[data-code="{code}"]')
            assert item.count() == 1
            assert "check-skipped" in (item.get_attribute("class") or "")
            note = item.locator(".not-checked-note")
            expected = "signature failed" if lang == "en" else "la firma falló"
            assert expected in note.inner_text()
        # No "passed" for anything the credential says of itself.
        for area in ("issuer", "validity", "status"):
            passed = page.locator(f'li.check-pass[data-code^="{area}."]')
            assert passed.count() == 0, area
        assert_accessible(page)
    finally:
        context.close()
