"""What an employer sees in the verifier, over HTTP and in Chromium: a tampered
credential's own claims are "not checked" (never a green "passed"); a revoked credential
we host says why (the reason staff gave)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser_support import HAVE_CHROMIUM, assert_accessible
from tests.verifier_app import Instance, issue_through_api, served_instance

NOT_CHECKED = ("issuer.not_checked", "validity.not_checked", "status.not_checked")
REASON = "The assessed report was not the candidate's own work"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Instance]]:
    with served_instance(tmp_path_factory.mktemp("verdict"), fetch_allow_private=True) as (
        instance,
        base,
    ):
        yield base, instance


@pytest.fixture(scope="module")
def revoked(site: tuple[str, Instance]) -> Instance:
    """A second issuer's credential, revoked with ``REASON``."""
    _, instance = site
    other = issue_through_api(instance.app, instance.client, slug="globex")
    r = other.client.post(
        f"/api/v1/credentials/{other.issued['id']}/revoke",
        json={"reason": REASON},
        headers=other.issuer.auth,
    )
    assert r.status_code == 200, r.text
    return other


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


def test_api_report_of_a_revoked_credential_we_host_gives_the_reason(
    revoked: Instance,
) -> None:
    r = revoked.client.post(
        "/api/v1/verify", content=revoked.text, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    (check,) = [c for c in r.json()["checks"] if c["code"] == "status.revoked"]
    assert check["detail"]["reason"] == REASON
    assert check["detail"]["since"] and REASON in check["message"]
    status_url = check["detail"]["statusUrl"]
    assert status_url == f"{revoked.issued['url']}/status"
    # The same reason, machine-readable for anyone, at the credential's public status.
    public = revoked.client.get(urlsplit(status_url).path)
    assert (public.status_code, public.json()["revocation_reason"]) == (200, REASON)


def test_a_copy_that_is_not_our_stored_credential_gets_no_reason(revoked: Instance) -> None:
    """Only the credential we stored is explained: an altered copy (its signature fails)
    is not, and neither is its status looked up."""
    forged = copy.deepcopy(revoked.credential)
    forged["name"] = "Something else"
    body = revoked.client.post("/api/v1/verify", json=forged).json()
    assert REASON not in json.dumps(body)


@pytest.mark.skipif(not HAVE_CHROMIUM, reason="!!! Debian's chromium is not installed")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_revoked_credential_in_the_browser_shows_the_reason(
    browser: Any, site: tuple[str, Instance], revoked: Instance, lang: str
) -> None:
    base, _ = site
    context = browser.new_context(locale=lang)
    page = context.new_page()
    try:
        page.goto(f"{base}/verify?lang={lang}")
        page.locator("textarea[name=credential]").fill(revoked.text)
        page.locator("form button[type=submit]").first.click()
        assert page.locator("#verdict").get_attribute("data-verdict") == "not_verified"
        reason = page.locator('li[data-code="status.revoked"] .withdrawal-reason')
        assert reason.count() == 1
        text = reason.inner_text()
        assert REASON in text
        assert ("reason they gave" if lang == "en" else "motivo que dio") in text
        link = reason.locator("a")
        assert link.get_attribute("href") == f"{revoked.issued['url']}/status"
        assert_accessible(page)
    finally:
        context.close()
