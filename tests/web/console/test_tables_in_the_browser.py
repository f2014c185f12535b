"""Console tables in a real browser (Debian's Chromium) at 1280 px and at 320 px: no word
in a table is broken across lines mid-word (a long one scrolls inside its table instead),
the page never scrolls sideways, the console's column lines up with the header's, and the
candidates pages pass axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from tests.browser_support import (
    assert_accessible,
    assert_reflows,
    requires_chromium,
    screenshot,
    served_app,
)
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import NOW, draft_project, make_issuer

pytestmark = requires_chromium

#: Each word of every table cell whose pieces sit on more than one line. A break after a
#: hyphen is a line break between words, not inside one, so words are split there too.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('main table th, main table td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
      const re = /[^\\s\\-\u2010\u2014]+/g;
      let m;
      while ((m = re.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()]
          .filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""

#: The left edge of the header's content and of the page's content.
EDGES = """() => [document.querySelector('.site-header .wrap'), document.querySelector('main')]
  .map(e => Math.round(e.getBoundingClientRect().left
    + parseFloat(getComputedStyle(e).paddingLeft)))"""


@dataclass
class Server:
    base: str
    pages: list[str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10
    try:
        with served_app(tmp_path_factory.mktemp("console-tables"), clock=lambda: NOW) as (
            base,
            app,
        ):
            client = TestClient(app)
            acme = make_issuer(app, "acme")
            ids = draft_project(client, acme)
            done = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
            assert done.status_code == 201, done.text
            for n in range(3):
                r = client.post(
                    "/api/v1/issuers/acme/candidates",
                    json={
                        "name": f"Maximiliana Wolfeschlegelsteinhausen {n}",
                        "emails": [f"maximiliana.wolfeschlegelsteinhausen{n}@universidad.example"],
                    },
                    headers=acme.auth,
                )
                assert r.status_code == 201, r.text
            add_staff(app, "acme", "owner@acme.example", "owner")
            slug = "/console/acme"
            yield Server(
                base=base,
                pages=[
                    f"{slug}/",
                    f"{slug}/candidates",
                    f"{slug}/candidates/{ids['candidate']}",
                    f"{slug}/projects",
                    f"{slug}/achievements",
                    f"{slug}/credentials",
                    f"{slug}/credentials/{done.json()['id']}",
                    f"{slug}/settings",
                ],
            )
    finally:
        staff._SCRYPT_N = original


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("Email address").fill("owner@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/acme/$"))


@pytest.mark.parametrize("width", [1280, 320])
def test_console_tables_keep_words_whole(server: Server, browser: Any, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, server.base)
        for path in server.pages:
            page.goto(f"{server.base}{path}")
            assert page.locator("main table").count() > 0, path
            assert page.evaluate(BROKEN_WORDS) == [], (width, path)
            assert_reflows(page)
            header, main = page.evaluate(EDGES)
            assert header == main, (width, path, header, main)
            if "/candidates" in path:
                assert_accessible(page)
            if path.endswith("/candidates") and width == 1280:
                screenshot(page, "console/10-candidates.png")
        # The new pages in Spanish too (the language choice is kept in a cookie).
        for path in ("/console/acme/candidates", "/console/acme/bulk", server.pages[2]):
            page.goto(f"{server.base}{path}?lang=es")
            assert page.evaluate("document.documentElement.lang") == "es"
            assert page.evaluate(BROKEN_WORDS) == [], (width, path)
            assert_accessible(page)
        page.goto(f"{server.base}/console/acme/?lang=en")
    finally:
        context.close()


def test_bulk_template_then_the_same_file_again(server: Server, browser: Any) -> None:
    """The template downloads from the bulk page, filled it issues, and the same file
    uploaded again names the rows issued before and issues nothing twice."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        _sign_in(page, server.base)
        page.get_by_role("link", name="Bulk issue", exact=True).click()
        assert page.get_by_role(
            "table", name="This program's achievements and their ids"
        ).is_visible()
        assert_accessible(page)
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the CSV template").click()
        lines = download.value.path().read_text("utf-8").splitlines()
        assert lines[0].startswith("achievement_id,candidate_name,candidate_email")
        achievement_id = lines[1].split(",")[0]
        assert achievement_id.isdigit()
        filled = "\n".join(
            [
                lines[0],
                lines[1].replace(
                    f"{achievement_id},,,,",
                    f"{achievement_id},Bo Bulk,bo@example.org,Cohort,Northwind",
                    1,
                ),
            ]
        ).encode()
        for attempt in ("first", "again"):
            page.goto(f"{server.base}/console/acme/bulk")
            page.get_by_label("CSV file").set_input_files(
                {"name": "cohort.csv", "mimeType": "text/csv", "buffer": filled}
            )
            page.get_by_role("button", name="Check the file").click()
            page.get_by_text("1 row: 1 ready, 0 with problems.").wait_for()
            if attempt == "again":
                before = page.locator("ul[aria-labelledby='issued-before']")
                assert "Bo Bulk — " in before.inner_text()
                assert_accessible(page)
            page.get_by_role("button", name="Issue 1 credential").click()
            page.get_by_text("Finished", exact=True).wait_for(timeout=60_000)
            main = page.locator("main").inner_text()
            assert "Bo Bulk — " in main, main
            if attempt == "again":
                assert "Skipped" in main and "already issued" in main
    finally:
        context.close()
