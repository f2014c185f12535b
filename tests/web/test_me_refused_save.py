"""A refused save at ``/me`` keeps what the candidate typed and says what is wrong once, in
the page's language; ``/me`` lists each credential with its image and a link to its page."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.html_page import Page, csrf_of
from tests.issuer_app import Issued
from tests.web.candidate_sign_in import sign_in

TYPED = {
    "handle": "ada-analyst",
    "visibility": "public",
    "show_name": "on",
    "headline": "Data analyst in training",
    "link_label_0": "GitHub",
    "link_url_0": "https://github.com/ada",
}


def _post(client: TestClient, issued: Issued, lang: str = "en", **changes: str) -> tuple[int, str]:
    token = csrf_of(client.get("/me").text)
    data = {
        "csrf_token": token,
        "candidate_id": str(issued.candidate),
        f"credential:{issued.id}": "hidden",
        **TYPED,
        **changes,
    }
    r = client.post(f"/me/portfolio?lang={lang}", data=data)
    return r.status_code, r.text


def _by_id(page: Page, ident: str) -> dict[str, str]:
    found = [a for _, a in page.elements if a.get("id") == ident]
    assert len(found) == 1, ident
    return found[0]


def _chosen(page: Page, select_id: str) -> str:
    """The selected option of the select ``select_id``."""
    start = next(i for i, (_, a) in enumerate(page.elements) if a.get("id") == select_id)
    for tag, attrs in page.elements[start + 1 :]:
        if tag != "option":
            break
        if "selected" in attrs:
            return attrs["value"]
    raise AssertionError(f"nothing selected in {select_id}")


def _alert_text(html: str) -> str:
    start = html.index('role="alert"')
    return Page(html[start : html.index("</div>", start)]).text


@pytest.mark.parametrize(
    ("changes", "bad_field", "english", "spanish"),
    [
        ({"handle": "admin"}, "handle", "is reserved", "está reservado"),
        ({"handle": "a--b"}, "handle", "single hyphens", "guiones sueltos"),
        ({"headline": "x" * 201}, "headline", "at most 200", "como máximo 200"),
        ({"link_url_0": "javascript:alert(1)"}, None, "Link 1", "Enlace 1"),
    ],
)
def test_a_refused_save_keeps_every_other_field_as_typed(
    app: FastAPI,
    client: TestClient,
    issued: Issued,
    changes: dict[str, str],
    bad_field: str | None,
    english: str,
    spanish: str,
) -> None:
    sign_in(app, client)
    status, html = _post(client, issued, **changes)
    assert status == 422, html
    assert html.count('role="alert"') == 1
    text = _alert_text(html)
    assert english in text and "Nothing was saved" in text
    # Said once: no service or pydantic wording repeated after our sentence.
    assert "Value error" not in text and "address must start" not in text.split(".", 1)[1]
    # Everything else is as the candidate typed it, not as it was saved.
    typed = {**TYPED, **changes}
    page = Page(html)
    cid = issued.candidate
    assert _by_id(page, f"handle-{cid}")["value"] == typed["handle"]
    assert _chosen(page, f"vis-{cid}") == "public"
    assert "checked" in _by_id(page, f"name-{cid}")
    assert _by_id(page, f"headline-{cid}")["value"] == typed["headline"]
    assert _chosen(page, f"c-{issued.id}") == "hidden"
    assert _by_id(page, f"link-label-{cid}-0")["value"] == "GitHub"
    assert _by_id(page, f"link-url-{cid}-0")["value"] == typed["link_url_0"]
    if bad_field:
        assert _by_id(page, f"{bad_field}-{cid}").get("aria-invalid") == "true"
    # The same refusal in Spanish.
    status, html = _post(client, issued, lang="es", **changes)
    assert status == 422
    text = _alert_text(html)
    assert spanish in text and "No se guardó nada" in text


def test_a_refused_form_saves_nothing(app: FastAPI, client: TestClient, issued: Issued) -> None:
    sign_in(app, client)
    status, _ = _post(client, issued, handle="admin")
    assert status == 422
    page = Page(client.get("/me").text)
    cid = issued.candidate
    assert _chosen(page, f"vis-{cid}") != "public"
    assert _by_id(page, f"headline-{cid}")["value"] == ""


def test_me_lists_each_credential_with_its_image_and_page(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    html = client.get("/me").text
    start = html.index('class="me-credentials"')
    listed = Page(html[start : html.index("</ul>", start)])
    # The credential's page, then its wallet offer (docs/wallets.md).
    assert listed.hrefs() == [f"/credentials/{issued.id}", f"/me/wallet/{issued.id}"]
    assert "Data Analysis Micro-internship" in listed.text
    images = listed.all("img")
    assert len(images) == 1 and images[0]["alt"] == ""  # the name beside it says it
    assert client.get(images[0]["src"]).status_code == 200
    assert client.get(f"/credentials/{issued.id}").status_code == 200


def test_sign_out_is_not_the_primary_button(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    html = client.get("/me").text
    sign_out = html[html.index('action="/me/sign-out"') :]
    assert '<button type="submit" class="secondary">' in sign_out[: sign_out.index("</form>")]
    save = html[html.index('action="/me/portfolio"') :]
    save = save[: save.index("</form>")]
    assert '<button type="submit">' in save
