"""The PDF certificate of a credential: who, what, by whom, when, and how to verify it.

The certificate is a printable picture of the credential, not the credential: it carries
a QR code and the URL of the credential page, where the signed original is and where
anyone can verify it. A revoked or suspended credential gets no certificate: the same URL
serves a plain notice saying so, when and why (``standing``), so a printed or forwarded
copy never looks valid.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from badgeworks.adapters import pdf, qr
from badgeworks.db.models import Credential
from badgeworks.services.context import ServiceContext
from badgeworks.services.locale_format import local_date
from badgeworks.services.portfolio import badges
from badgeworks.services.portfolio.pages import credential_page_data
from badgeworks.services.portfolio.standing import Standing, standing

Translate = Callable[..., str]


def _date(value: datetime | str | None, lang: str) -> str:
    """A date as the certificate's language writes it ("3 de diciembre de 2026")."""
    return local_date(value, lang)


def certificate_pdf(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    t: Translate,
    lang: str,
    compress: bool = True,
) -> bytes:
    """The certificate for ``row`` in language ``lang`` (``t`` translates message keys), or
    the notice that it was revoked or suspended."""
    data = credential_page_data(session, ctx, row, lang=lang)
    c: dict[str, Any] = data["c"]
    now = standing(session, row)
    if now.withdrawn:
        return _notice(c, now, t=t, lang=lang, compress=compress)
    dates = []
    if c["issued"] is not None:
        dates.append(t("portfolio.pdf_issued", date=_date(c["issued"], lang)))
    if c["start"] or c["end"]:
        dates.append(
            t(
                "portfolio.pdf_activity",
                start=_date(c["start"], lang),
                end=_date(c["end"], lang),
            )
        )
    if c["host"] and c["host"]["name"]:
        dates.append(t("portfolio.pdf_host", host=c["host"]["name"]))
    if c["expires"] is not None:
        dates.append(t("portfolio.pdf_expires", date=_date(c["expires"], lang)))
    state = c["status"].state
    note = None if state == "valid" else t(f"portfolio.pdf_status_{state}")
    content = pdf.CertificateContent(
        heading=t("portfolio.pdf_heading"),
        presented_to=t("portfolio.pdf_presented_to"),
        recipient=c["candidate_name"] or t("portfolio.pdf_holder"),
        achievement=c["achievement"]["name"],
        issuer_line=t("portfolio.pdf_issued_by", issuer=c["issuer"]["name"]),
        dates=dates,
        description=c["achievement"]["description"],
        credential_url=c["url"],
        credential_id_label=t("portfolio.pdf_credential_id"),
        credential_id=c["id"],
        verify_label=t("portfolio.pdf_verify"),
        verify_url=c["verify_url"],
        qr_caption=t("portfolio.pdf_qr_caption"),
        qr_modules=qr.matrix(c["url"]),
        status_note=note,
        title=f"{c['achievement']['name']} — {c['issuer']['name']}",
        language=lang,
        image_png=badges.og_image_png(session, ctx, row, c["name"]),
        keywords=[c["url"], c["verify_url"]],
    )
    return pdf.certificate(content, compress=compress)


def _notice(c: dict[str, Any], now: Standing, *, t: Translate, lang: str, compress: bool) -> bytes:
    """The document served instead of the certificate of a withdrawn credential."""
    state = now.state
    issued = _date(c["issued"], lang)
    lines = [
        t(
            "standing.notice_what",
            achievement=c["achievement"]["name"],
            recipient=c["candidate_name"] or t("portfolio.pdf_holder"),
            issuer=c["issuer"]["name"],
            date=issued,
        ),
        t(f"standing.notice_{state}_on", date=_date(now.since, lang))
        if now.since is not None
        else t(f"portfolio.pdf_status_{state}"),
    ]
    if now.reason:
        lines.append(f"{t('standing.reason')}: {now.reason}")
    lines.append(t(f"standing.notice_no_certificate_{state}", url=c["url"]))
    return pdf.status_notice(
        pdf.StatusNotice(
            heading=t(f"standing.notice_heading_{state}"),
            lines=lines,
            credential_url=c["url"],
            verify_label=t("portfolio.pdf_verify"),
            verify_url=c["verify_url"],
            title=t(f"standing.title_{state}", title=c["achievement"]["name"]),
            language=lang,
        ),
        compress=compress,
    )
