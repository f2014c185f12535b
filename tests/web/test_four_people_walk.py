"""The four people who use badgeworks, walked through their pages in a real browser
(Debian's Chromium through Playwright), once in English and once in Spanish.

* **Staff** sign in to the program console, fill in the issuer's profile, create an
  achievement, open the Candidates page, create a project, add a deliverable, assess it,
  invite a mentor (the review link copied with the Copy button), issue with the candidate
  told by email, download the bulk CSV template and upload it filled, revoke a credential
  with a reason, and read the audit trail as sentences.
* The **mentor** opens the invitation link, reads the deliverables, endorses with a comment
  and a rating, and follows the signed endorsement's "Endorses" link before the credential
  exists: a page says it is still to come.
* The **candidate** asks for a sign-in link, which arrives through the local SMTP server;
  at ``/me`` a refused save keeps what was typed; the credential list shows each badge
  image; the credential page offers share links and a QR code, the baked badge image and
  the PDF certificate.
* An **employer** verifies at ``/verify`` by pasting, uploading the baked image and giving
  the URL (Verified, with the candidate's name), the revoked credential (the reason
  shown), a tampered one (not verified: the checks that rest on the signature say "not
  checked"), and reads the API docs at ``/docs``.

Every browser context routes each request: anything not addressed to the served app on
127.0.0.1 is aborted and recorded, and the walk ends by requiring that none was attempted.
Every page visited passes axe-core's WCAG 2.2 AA rules. ``make screenshots`` writes the
English walk's screenshots into ``docs/`` (the guides for staff, candidates and employers
show them).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from badgeworks.core.baking import extract_png
from badgeworks.services.accounts import staff
from badgeworks.services.demo import badge_image, pdf_report
from badgeworks.services.infra import outbox
from badgeworks.web.i18n import Translator
from tests.browser_support import assert_accessible, requires_chromium, screenshot, served_app
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import make_issuer
from tests.servers import Inbox, free_port

pytestmark = requires_chromium

ADA = "ada@example.org"
OWNER = "owner@acme.example"
REASON = {"en": "Issued to the wrong cohort", "es": "Emitida a la cohorte equivocada"}

#: What each walk types, in the language of its people.
TYPED = {
    "en": {
        "achievement": "Data Analysis Micro-internship",
        "description": "Completed a mentored data analysis project.",
        "criteria": "Delivered a cleaned dataset and a written report.",
        "rubric": "quality | Quality of work | "
        "meets=Meets expectations; exceeds=Exceeds expectations",
        "level": "Exceeds expectations",
        "project": "Churn analysis for Northwind",
        "comment": "Careful, well-documented work.",
    },
    "es": {
        "achievement": "Microprácticas de análisis de datos",
        "description": "Completó un proyecto de análisis de datos con mentoría.",
        "criteria": "Entregó un conjunto de datos limpio y un informe escrito.",
        "rubric": "quality | Calidad del trabajo | "
        "meets=Cumple lo esperado; exceeds=Supera lo esperado",
        "level": "Supera lo esperado",
        "project": "Análisis de bajas para Northwind",
        "comment": "Un trabajo cuidadoso y bien documentado.",
    },
}

#: A few words each language's pages must show: Spanish pages in Spanish words.
WORDS = {
    "en": {"dashboard": "Dashboard", "verified": "Verified", "endorses": "Endorses"},
    "es": {"dashboard": "Panel", "verified": "Verificada", "endorses": "Avala"},
}


@dataclass
class Walk:
    """One served app, its outgoing mail and what the browser did, for one language."""

    lang: str
    base: str
    app: FastAPI
    inbox: Inbox
    browser: Any = None
    #: Requests the browser attempted to anywhere but the served app (all aborted).
    blocked: list[str] = field(default_factory=list)
    #: Every page that passed axe-core, in order.
    checked: list[str] = field(default_factory=list)
    #: What one person's flow leaves for the next.
    found: dict[str, str] = field(default_factory=dict)
    #: The baked badge image the candidate downloaded (the employer uploads it).
    baked: bytes = b""

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    def context(self, **options: Any) -> Any:
        """A browser context in the walk's language, with every request that leaves the
        served app aborted and recorded."""
        locale = {"en": "en-GB", "es": "es-ES"}[self.lang]
        context = self.browser.new_context(
            locale=locale, viewport={"width": 1280, "height": 900}, **options
        )
        port = urlsplit(self.base).port

        def only_the_app(route: Any) -> None:
            url = route.request.url
            parts = urlsplit(url)
            if url.startswith(("data:", "blob:")) or (
                parts.hostname == "127.0.0.1" and parts.port == port
            ):
                route.continue_()
            else:
                self.blocked.append(url)
                route.abort()

        context.route("**/*", only_the_app)
        return context

    def check(self, page: Any, shot: str | None = None, *, lang: str | None = None) -> None:
        """The page is in the walk's language (or ``lang``) and passes axe-core; an English
        page named ``shot`` is also a screenshot for the docs."""
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == (lang or self.lang), page.url
        assert_accessible(page)
        self.checked.append(page.url)
        if shot and self.lang == "en":
            screenshot(page, shot)

    def mail_to(self, address: str, needle: str, timeout: float = 20.0) -> Message:
        """The first message to ``address`` whose text has ``needle``, once the outbox
        has delivered it to the local SMTP server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in list(self.inbox.messages):
                if message["To"] == address and needle in _text(message):
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {address} with {needle!r}: {self.inbox.messages}")


def _text(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _show_mail(walk: Walk, page: Any, message: Message, shot: str) -> None:
    """Open the mail's HTML part in a tab of ``page``'s context, as a mail program shows it
    (nothing it loads may leave the machine either); the English one is a screenshot."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    tab = page.context.new_page()
    try:
        tab.set_content(payload.decode(part.get_content_charset() or "utf-8"))
        assert tab.locator(f"a[href='{walk.found['credential']}']").count() >= 1
        if walk.lang == "en":
            screenshot(tab, shot)
    finally:
        tab.close()


def _follow(page: Any, target: Any) -> None:
    """Click ``target`` (a link or a submit button) and wait until the page it leads to
    has loaded, so that nothing is read from the page before it."""
    with page.expect_navigation():
        target.click()


def _beside(page: Any, box_id: str) -> None:
    """The checkbox ``box_id`` and its label are on one line, the label after the box."""
    # Both boxes in one layout pass: two separate reads can straddle an image above them
    # finishing loading, which moves the second one down the page.
    box, label = page.evaluate(
        """(id) => [document.getElementById(id), document.querySelector(`label[for="${id}"]`)]
            .map((e) => { const r = e.getBoundingClientRect();
                          return {x: r.x, y: r.y, width: r.width, height: r.height}; })""",
        box_id,
    )
    assert label["x"] > box["x"], (box_id, box, label)
    assert label["y"] < box["y"] + box["height"] and box["y"] < label["y"] + label["height"], (
        box_id,
        box,
        label,
    )


def _subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


@pytest.fixture(scope="module", params=["en", "es"])
def walk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Walk]:
    """A served app per language on SQLite; its outbox delivers every 0.2 s to a local
    SMTP server; staff hash passwords cheaply (the format and the checks are the real ones)."""
    lang: str = request.param
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10
    try:
        with served_app(
            tmp_path_factory.mktemp(f"walk-{lang}"),
            fetch_allow_private=True,  # the verifier fetches the credential from this app
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            outbox_interval_seconds=0.2,
        ) as (base, app):
            make_issuer(app, "acme")
            add_staff(app, "acme", OWNER, "owner")
            worker = outbox.worker_for(app.state.settings, app.state.session_factory, app.state.ctx)
            assert worker is not None
            worker.start()
            try:
                yield Walk(lang=lang, base=base, app=app, inbox=inbox)
            finally:
                worker.stop()
    finally:
        staff._SCRYPT_N = original
        controller.stop()


def test_four_people_walk(walk: Walk, browser: Any) -> None:
    walk.browser = browser
    started = time.monotonic()
    owner = walk.context(permissions=["clipboard-read", "clipboard-write"], accept_downloads=True)
    try:
        page = owner.new_page()
        _staff_prepares(walk, page)
        _mentor_endorses(walk)
        _staff_issues(walk, page)
    finally:
        owner.close()
    _candidate_shares(walk)
    _employer_verifies(walk)
    assert walk.blocked == [], walk.blocked
    assert len(walk.checked) >= 30, walk.checked
    print(f"{walk.lang}: {len(walk.checked)} pages in {time.monotonic() - started:.1f} s")


# --- Staff ---------------------------------------------------------------------------


def _staff_prepares(walk: Walk, page: Any) -> None:
    t, base, typed = walk.t, walk.base, TYPED[walk.lang]
    page.goto(f"{base}/console/login")
    walk.check(page)
    page.locator("#email").fill(OWNER)
    page.locator("#password").fill(PASSWORD)
    _follow(page, page.get_by_role("button", name=t("console.login.submit")))
    page.wait_for_url(re.compile(r"/console/acme/$"))
    assert page.get_by_role("heading", name=WORDS[walk.lang]["dashboard"]).is_visible()
    walk.check(page)

    # The issuer's public profile.
    _follow(page, page.get_by_role("link", name=t("console.nav.settings"), exact=True))
    page.locator("#p-url").fill("https://acme.example")
    page.locator("#p-description").fill(typed["description"])
    _follow(page, page.locator("form:has(#p-name) button[type=submit]"))
    assert page.locator("#p-url").input_value() == "https://acme.example"
    _beside(page, "name-in-credentials")
    walk.check(page)

    # An achievement, previewed, saved, with its image.
    _follow(page, page.get_by_role("link", name=t("console.nav.achievements"), exact=True))
    walk.check(page)
    _follow(page, page.locator("a[href$='/achievements/new']").first)
    page.locator("#name").fill(typed["achievement"])
    page.locator("#description").fill(typed["description"])
    page.locator("#criteria_narrative").fill(typed["criteria"])
    page.locator("#in_language").select_option(walk.lang)
    page.locator("#tags").fill("data, python")
    page.locator("#alignments").fill(
        "Data analysis | https://esco.example/skill/data-analysis | ESCO | S1.2"
    )
    page.locator("#rubric").fill(typed["rubric"])
    _follow(page, page.locator("button[value=preview]"))
    walk.check(page)
    _follow(page, page.locator("button[value=save]"))
    page.locator("#image-file").set_input_files(
        {"name": "badge.png", "mimeType": "image/png", "buffer": badge_image()}
    )
    page.locator("#caption").fill("A teal disc with a chart")
    _follow(page, page.locator("form:has(#image-file) button[type=submit]"))
    walk.check(page)

    # A project for a new candidate, with a deliverable and an assessment.
    _follow(page, page.get_by_role("link", name=t("console.nav.projects"), exact=True))
    walk.check(page)
    _follow(page, page.locator("a[href$='/projects/new']").first)
    page.locator("#candidate_name").fill("Ada Lovelace")
    page.locator("#candidate_email").fill(ADA)
    page.locator("#title").fill(typed["project"])
    page.locator("#host_name").fill("Northwind Traders")
    page.locator("#host_url").fill("https://northwind.example")
    page.locator("#start_date").fill("2025-03-03")
    page.locator("#end_date").fill("2025-03-28")
    walk.check(page)
    _follow(page, page.locator("form[action$='/projects/new'] button[type=submit]"))
    page.wait_for_url(re.compile(r"/projects/\d+"))
    project_url = page.url.split("?")[0]
    walk.found["project"] = project_url
    page.locator("#d-file").set_input_files(
        {
            "name": "report.pdf",
            "mimeType": "application/pdf",
            "buffer": pdf_report("Churn analysis", ["Findings", "Recommendations"]),
        }
    )
    page.locator("#d-name").fill("Final report")
    _follow(page, page.locator("form[action$='/deliverables'] button[type=submit]"))
    page.locator("#level-quality").select_option("exceeds")
    _follow(page, page.locator("form[action$='/assessment'] button[type=submit]"))
    assert page.locator("#level-quality").input_value() == "exceeds"

    # The mentor's invitation: its link shown once, copied with the Copy button.
    page.locator("#r-name").fill("Grace Hopper")
    page.locator("#r-email").fill("grace@example.org")
    page.locator("#r-title").fill("Lead analyst")
    page.locator("#r-org").fill("Northwind Traders")
    _follow(page, page.get_by_role("button", name=t("console.reviews.send")))
    link = page.locator("#review-link").input_value()
    assert link.startswith(f"{base}/review/"), link
    # The mentor gets the same link by email, through the outbox and the SMTP server.
    walk.mail_to("grace@example.org", link)
    assert page.locator("[aria-current=step]").inner_text() == t("console.state.awaiting_mentor")
    copy = page.locator("button.copy[data-copy=review-link]")
    assert copy.is_visible() and copy.inner_text() == t("forms.copy")
    copy.click()
    page.locator("#review-link-copied", has_text=t("forms.copied")).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == link
    walk.check(page, "console/15-invitation-copied.png")
    walk.found["review_link"] = link

    # The Candidates page lists her, with her project.
    _follow(page, page.get_by_role("link", name=t("console.nav.candidates"), exact=True))
    row = page.locator("tr", has=page.get_by_role("link", name="Ada Lovelace"))
    assert row.count() == 1
    walk.check(page)


def _staff_issues(walk: Walk, page: Any) -> None:
    t, base, typed = walk.t, walk.base, TYPED[walk.lang]
    page.goto(walk.found["project"])
    assert page.locator("[aria-current=step]").inner_text() == t("console.state.ready")
    walk.check(page)
    _follow(page, page.locator("a[href$='/issue']"))
    assert "EndorsementCredential" in (page.locator("pre").first.text_content() or "")
    notify = page.locator("#notify-candidate")
    assert notify.is_checked()
    _beside(page, "notify-candidate")
    label = page.locator("label[for=notify-candidate]").inner_text()
    assert label == t("console.issue.notify_candidate", candidate="Ada Lovelace"), label
    walk.check(page, "console/16-issue-and-email.png")
    _follow(page, page.get_by_role("button", name=t("console.issue.sign")))
    page.wait_for_url(re.compile(r"/console/acme/credentials/"))
    credential_id = page.url.split("/credentials/")[1].split("?")[0]
    walk.found["credential"] = f"{base}/credentials/{credential_id}"
    walk.check(page)

    # The candidate is told by email, in the credential's language.
    mail = walk.mail_to(ADA, walk.found["credential"])
    subject = _subject(mail)
    assert typed["achievement"] in subject
    assert subject.startswith("Your credential" if walk.lang == "en" else "Tu credencial")
    _show_mail(walk, page, mail, "images/candidate-email.png")

    # Bulk: the template, filled in and uploaded, checked, then issued.
    _follow(page, page.get_by_role("link", name=t("console.nav.bulk"), exact=True))
    walk.check(page, "console/17-bulk-template.png")
    with page.expect_download() as download:
        page.get_by_role("link", name=t("console.bulk.template_download")).click()
    template = Path(download.value.path()).read_text("utf-8")
    rows = list(csv.reader(io.StringIO(template)))
    header, first = rows[0], rows[1]
    achievement_id = first[0]
    assert header[:5] == [
        "achievement_id",
        "candidate_name",
        "candidate_email",
        "project_title",
        "host_name",
    ]
    filled = io.StringIO()
    writer = csv.writer(filled, lineterminator="\r\n")
    writer.writerow(header)
    for name, email in [("Bo Good", "bo@example.org"), ("Cy Bad", "not-an-email")]:
        writer.writerow(
            [achievement_id, name, email, "Cohort project", "Northwind", *[""] * (len(header) - 5)]
        )
    page.locator("#csv-file").set_input_files(
        {"name": "cohort.csv", "mimeType": "text/csv", "buffer": filled.getvalue().encode()}
    )
    _follow(page, page.get_by_role("button", name=t("console.bulk.validate")))
    problems = page.locator("table.problems tbody tr")
    assert problems.count() == 1 and "candidate_email" in problems.first.inner_text()
    walk.check(page)
    _beside(page, "notify-candidates")
    issue = page.locator("form[action$='/issue'] button[type=submit]")
    assert "1" in issue.inner_text()  # "Issue 1 credential", "Emitir 1 credencial"
    _follow(page, issue)
    page.get_by_text(t("console.bulk.status_done"), exact=True).wait_for(timeout=60_000)
    walk.check(page)

    # Revoke Bo's credential, with a reason the public sees.
    _follow(page, page.get_by_role("link", name=t("console.nav.candidates"), exact=True))
    _follow(page, page.get_by_role("link", name="Bo Good"))
    walk.check(page)
    _follow(page, page.locator("a[href*='/credentials/']").first)
    page.wait_for_url(re.compile(r"/console/acme/credentials/"))
    bo = page.url.split("/credentials/")[1].split("?")[0]
    walk.found["revoked"] = f"{base}/credentials/{bo}"
    _follow(page, page.get_by_role("link", name=t("console.lifecycle.do_revoke")))
    walk.check(page)
    page.locator("#reason").fill(REASON[walk.lang])
    _follow(page, page.locator("form button.danger[type=submit]"))
    page.wait_for_url(re.compile(rf"/credentials/{bo}"))
    assert page.get_by_text(REASON[walk.lang]).first.is_visible()
    walk.check(page)

    # The audit trail, as sentences with names.
    _follow(page, page.get_by_role("link", name=t("console.nav.dashboard"), exact=True))
    activity = page.locator("main").inner_text()
    assert "Grace Hopper" in activity and "Ada Lovelace" in activity, activity
    assert "Bo Good" in activity and REASON[walk.lang] in activity, activity
    walk.check(page)
    _follow(page, page.get_by_role("link", name=t("console.nav.candidates"), exact=True))
    assert page.get_by_role("link", name="Bo Good").count() == 1, (
        page.url,
        page.locator("main").inner_text(),
    )
    walk.check(page)


# --- Mentor --------------------------------------------------------------------------


def _mentor_endorses(walk: Walk) -> None:
    t, typed = walk.t, TYPED[walk.lang]
    context = walk.context()
    try:
        page = context.new_page()
        page.goto(walk.found["review_link"])
        assert page.get_by_role("link", name="Final report").count() >= 1
        walk.check(page, "images/mentor-review.png")
        level = page.locator("input[name='rating.quality'][value='exceeds']")
        level.check()
        assert (
            page.locator(f"label[for='{level.get_attribute('id')}']").inner_text().strip()
            == (typed["level"])
        )
        page.locator("#comment").fill(typed["comment"])
        _follow(page, page.get_by_role("button", name=t("mentor.sign_button")))
        assert page.get_by_text(typed["comment"]).count() >= 1
        walk.check(page, "images/mentor-endorsement.png")

        # Before the credential exists, its address says it is still to come.
        assert t("mentor.endorses") == WORDS[walk.lang]["endorses"]
        endorses = page.locator(
            f"xpath=//dt[normalize-space()='{t('mentor.endorses')}']/following-sibling::dd[1]//a"
        )
        assert endorses.count() == 1
        _follow(page, endorses)
        assert page.locator("h1").inner_text() == t("pending.title")
        walk.check(page, "images/credential-pending.png")
    finally:
        context.close()


# --- Candidate -----------------------------------------------------------------------


def _candidate_shares(walk: Walk) -> None:
    t, base = walk.t, walk.base
    context = walk.context(accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/me/sign-in")
        walk.check(page)
        page.locator("form[action='/me/sign-in'] input[type=email]").fill(ADA)
        _follow(page, page.locator("form[action='/me/sign-in'] button[type=submit]"))
        assert page.get_by_role("status").count() == 1
        walk.check(page)
        mail = walk.mail_to(ADA, "/me/link/")
        match = re.search(re.escape(base) + r"/me/link/[A-Za-z0-9_-]+", _text(mail))
        assert match, _text(mail)
        page.goto(match.group(0))
        walk.check(page)
        _follow(page, page.locator("form button[type=submit]"))
        page.wait_for_url(re.compile(r"/me(\?.*)?$"))
        walk.check(page)

        # A refused save keeps every field as typed; fixed, it saves.
        section = page.locator("section[aria-labelledby^='pf-']").first
        cid = (section.get_attribute("aria-labelledby") or "").removeprefix("pf-")
        page.locator(f"#headline-{cid}").fill("Junior data analyst")
        page.locator(f"#vis-{cid}").select_option("public")
        page.locator(f"#handle-{cid}").fill("admin")  # reserved
        _follow(page, section.locator("form[action='/me/portfolio'] button"))
        assert page.get_by_role("alert").count() == 1
        assert page.locator(f"#handle-{cid}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#handle-{cid}").input_value() == "admin"
        assert page.locator(f"#headline-{cid}").input_value() == "Junior data analyst"
        assert page.locator(f"#vis-{cid}").input_value() == "public"
        walk.check(page, "images/me-refused.png")
        page.locator(f"#handle-{cid}").fill(f"ada-{walk.lang}")
        _follow(page, section.locator("form[action='/me/portfolio'] button"))
        assert page.get_by_role("alert").count() == 0
        assert page.locator(f"#headline-{cid}").input_value() == "Junior data analyst"

        # Her credential, with its image, opens its page.
        credential = walk.found["credential"]
        link = section.locator(".me-credentials a:has(img)")
        assert link.count() == 1
        assert link.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
        walk.check(page, "images/me-credentials.png")
        _follow(page, link)
        page.wait_for_url(f"{credential}*")
        assert page.locator("[data-signed-name]").inner_text() == "Ada Lovelace"
        shares = page.locator("section[aria-labelledby=share] a")
        assert shares.count() >= 2
        assert page.locator("a[href*='linkedin.com/profile/add']").count() == 1
        qr = page.locator(".qr-section img.qr")
        assert qr.evaluate("i => i.complete && i.naturalWidth > 0")
        walk.check(page)

        # The baked badge image and the PDF certificate, downloaded.
        with page.expect_download() as baked:
            page.get_by_role("link", name=t("portfolio.download_png")).click()
        png = Path(baked.value.path()).read_bytes()
        assert json.loads(extract_png(png))["id"] == credential
        assert baked.value.suggested_filename.endswith(".png")
        walk.baked = png
        with page.expect_download() as pdf:
            page.get_by_role("link", name=t("portfolio.download_pdf")).click()
        assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")
        qr_png = page.request.get(f"{credential}/qr.png")
        assert qr_png.ok and qr_png.body().startswith(b"\x89PNG")
    finally:
        context.close()


# --- Employer ------------------------------------------------------------------------


def _verdict(page: Any) -> str:
    return page.locator("#verdict").get_attribute("data-verdict") or ""


def _employer_verifies(walk: Walk) -> None:
    t, base = walk.t, walk.base
    credential = walk.found["credential"]
    context = walk.context()
    try:
        page = context.new_page()
        text = page.request.get(f"{credential}.json").text()

        # Pasted.
        page.goto(f"{base}/verify")
        walk.check(page)
        page.locator("#field-credential").fill(text)
        _follow(page, page.get_by_role("button", name=t("verify.submit"), exact=True))
        assert _verdict(page) == "verified"
        assert WORDS[walk.lang]["verified"] in page.locator("#verdict-title").inner_text()
        assert page.locator("[data-signed-name]").inner_text() == "Ada Lovelace"
        walk.check(page, "images/verify-verified.png")

        # The baked image the candidate downloaded, uploaded.
        page.goto(f"{base}/verify")
        page.locator("#field-file").set_input_files(
            {"name": "badge.png", "mimeType": "image/png", "buffer": walk.baked}
        )
        _follow(page, page.get_by_role("button", name=t("verify.submit"), exact=True))
        assert _verdict(page) == "verified"
        assert page.locator("[data-signed-name]").inner_text() == "Ada Lovelace"
        walk.check(page)

        # By its address (what the QR code and the "Verify" link carry).
        page.goto(f"{base}/verify?url={quote(credential, safe='')}")
        assert _verdict(page) == "verified"
        walk.check(page)

        # The revoked one: not verified, with the reason staff gave.
        page.goto(f"{base}/verify?url={quote(walk.found['revoked'], safe='')}")
        assert _verdict(page) == "not_verified"
        reason = page.locator('li[data-code="status.revoked"] .withdrawal-reason')
        assert REASON[walk.lang] in reason.inner_text()
        walk.check(page, "images/verify-revoked.png")
        page.goto(walk.found["revoked"])
        assert page.locator("#lifecycle-status").get_attribute("data-status") == "revoked"
        assert REASON[walk.lang] in page.locator("#lifecycle-status").inner_text()
        walk.check(page, "images/credential-revoked.png")

        # Tampered: red, and the checks that rest on the signature are not checked.
        tampered = json.loads(text)
        tampered["credentialSubject"]["name"] = "Someone Else"
        page.goto(f"{base}/verify")
        page.locator("#field-credential").fill(json.dumps(tampered))
        _follow(page, page.get_by_role("button", name=t("verify.submit"), exact=True))
        assert _verdict(page) == "not_verified"
        assert page.locator("li.check-fail[data-code^='proof.']").count() >= 1
        skipped = page.locator("li.check-skipped:has(.not-checked-note)")
        assert skipped.count() == 3  # who issued it, the dates, revoked or not
        for item in skipped.all():
            words = item.inner_text().lstrip("– ")
            # "Not checked: <why>", said once, in the page's language.
            assert words.startswith(t("verify.outcome.skipped")), words
            why = item.locator(".not-checked-note").inner_text()
            assert words.count(why) == 1 and not re.search(r"[.:][^\s\d]", words), words
        walk.check(page, "images/verify-tampered.png")

        # The API docs, offline, with an operation opened: one English page (the language
        # of the API's descriptions), so the English walk reads it.
        if walk.lang != "en":
            return
        page.goto(f"{base}/docs")
        health = page.locator(".opblock", has_text="/api/v1/health").first
        health.wait_for(timeout=15_000)
        health.locator(".opblock-summary-control").click()
        health.locator(".opblock-body").wait_for()
        walk.check(page, lang="en")
    finally:
        context.close()
