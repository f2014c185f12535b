"""A credential as the portfolio and the credential page show it: the card.

The signed facts come from ``core.reading`` (the reader the public verifier uses too);
the card adds what only this service knows: the live status, the deliverables' files and
their visibility, the program's registered name, later endorsements, and the issuer's
edition of the achievement in the visitor's language.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from badgeworks.core.credential import check_digest_multibase, decode_digest_multibase
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.reading import (
    AchievementView,
    CredentialView,
    EndorsementView,
    safe_link,
)
from badgeworks.db.endorsements import Endorsement
from badgeworks.db.models import (
    AchievementEdition,
    AchievementVersion,
    Credential,
)
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow as endorsement_service
from badgeworks.services.endorsements.markdown import render as render_markdown
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.portfolio import page_memo, page_rows, readings, sharing
from badgeworks.services.portfolio.page_memo import Freshness
from badgeworks.services.portfolio.page_rows import PageRows
from badgeworks.services.portfolio.readings import Reading
from badgeworks.services.portfolio.store import item_visibility
from badgeworks.services.programs import achievements
from badgeworks.services.verification import kept, pipeline
from badgeworks.services.verification.pipeline import Check, Report
from badgeworks.services.verification.resolver import reading_with

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


@dataclass(frozen=True)
class Status:
    """The server-side status summary shown next to a credential."""

    state: str  # valid, revoked, suspended, expired, not_yet_valid, invalid, unchecked
    signature_ok: bool
    revoked_at: datetime | None = None
    reason: str | None = None
    valid_until: datetime | None = None


def _status(
    row: Credential, view: CredentialView, report: Report, rows: PageRows, now: datetime
) -> Status:
    """The card's status: the kept report for what the signature says, and the status
    rows and dates read now, against ``now`` (never kept)."""
    # The report also carries one check per embedded endorsement, which the credential
    # card shows next to each endorsement, so the card verifies the credential only once.
    failed = {c.check for c in report.checks if c.outcome == "fail"}
    # Dates and status are reported separately below; the rest must pass.
    signature_ok = not (failed - {"validity", "status", "endorsement"})
    # A check that could not run (the database was busy) says nothing against the badge.
    unchecked = any(
        c.outcome == "indeterminate" and c.check not in ("endorsement",) for c in report.checks
    )
    rev = rows.revocations.get(row.id)
    revoked = rev is not None or bool(rows.bits.get((row.id, "revocation")))
    suspended = rows.bits.get((row.id, "suspension")) == 1
    valid_until = view.expires
    valid_from = view.issued
    if revoked:
        state = "revoked"
    elif suspended:
        state = "suspended"
    elif not signature_ok:
        state = "invalid"
    elif unchecked:
        state = "unchecked"
    elif valid_until is not None and valid_until < now:
        state = "expired"
    elif valid_from is not None and valid_from > now:
        state = "not_yet_valid"
    else:
        state = "valid"
    return Status(
        state=state,
        signature_ok=signature_ok,
        revoked_at=rev.revoked_at if rev else None,
        reason=(rev.reason or None) if rev else None,
        valid_until=valid_until,
    )


def verify_url(ctx: ServiceContext, credential_url: str) -> str:
    """The public verifier, pre-filled with the credential's URL."""
    return f"{ctx.base_url}/verify?url={quote(credential_url, safe='')}"


def _preview(media_type: str | None, url: str | None, sha256: str | None) -> str:
    if sha256 and media_type in _IMAGE_TYPES:
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    if sha256:
        return "file"
    return "link" if url else "none"


def evidence_items(
    ctx: ServiceContext,
    view: Any,
    by_url: Mapping[str, Any] | Mapping[str | None, Any],
    recorded: Collection[str],
    choices: Mapping[tuple[str, str], str],
) -> list[dict[str, Any]]:
    """The credential page's evidence list: each item of the signed text with the
    deliverable it names (``by_url``), shown as the candidate chose (``choices``). The
    issue preview builds its list with this too, so the two never differ."""
    evidence = []
    for e in view.evidence:
        eid = e.id or ""
        d = by_url.get(eid)
        visible = d is None or choices.get(("deliverable", str(d.id)), "public") == "public"
        media_type = e.media_type or (d.media_type if d else None)
        evidence.append(
            {
                "id": eid,
                "href": e.url,
                "name": e.name or eid,
                "description": e.description,
                "genre": e.genre,
                "media_type": media_type,
                "digest": e.digest,
                "digest_check": digest_check(ctx, eid, e.digest, recorded),
                "preview": _preview(media_type, eid, d.sha256 if d else None)
                if visible
                else "none",
                "visible": visible,
                "deliverable_id": d.id if d else None,
            }
        )
    return evidence


def digest_check(
    ctx: ServiceContext, resource_id: str, digest: str | None, recorded: Collection[str] = ()
) -> str:
    """``ok`` / ``mismatch`` for a file we host, ``unavailable``, or ``none`` (no digest).

    Blobs are content-addressed: a stored blob's name is the SHA-256 computed while it was
    stored (``BlobStore.put_stream``, recorded on its ``Deliverable`` row), so a SHA-256
    ``digestMultibase`` is compared with the name, and no file is read. A blob named in
    ``recorded`` (the deliverables' recorded digests) is known to be stored; another one is
    looked up (a file-system look-up, no read). Only a digest of another algorithm reads
    the file to hash it.
    """
    if not digest:
        return "none"
    prefix = f"{ctx.base_url}/blobs/"
    sha = resource_id[len(prefix) :] if resource_id.startswith(prefix) else ""
    if not _SHA256.match(sha) or (sha not in recorded and not ctx.blobs.exists(sha)):
        return "unavailable"
    try:
        algorithm, expected = decode_digest_multibase(digest)
    except BadgeworksError:
        return "mismatch"
    if algorithm == "sha2-256":
        return "ok" if hmac.compare_digest(expected, bytes.fromhex(sha)) else "mismatch"
    try:
        with ctx.blobs.open(sha) as fh:
            data = fh.read()
        return "ok" if check_digest_multibase(digest, data) else "mismatch"
    except (BadgeworksError, ValueError, OSError):
        return "mismatch"


#: The most endorsements a page shows per credential (embedded and later together).
MAX_ENDORSEMENTS = 50


def _endorsement_view(
    item: EndorsementView, *, embedded: bool, verified: bool, message: str | None
) -> dict[str, Any]:
    """One endorsement as the pages show it, read from its signed JSON.

    The endorser's name, title (``description``) and organisation (``parentOrg``) are the
    ones they signed, so the page says exactly what a verifier sees.
    """
    endorser = item.endorser
    return {
        "id": item.id,
        # Our hosted endorsements (and any other http(s) id) are linked; a urn: is not.
        "href": item.url,
        "embedded": embedded,
        "verified": verified,
        "message": message,
        "quote": item.comment,
        "quote_html": render_markdown(item.comment),
        "by": endorser.name or endorser.id or "",
        "by_url": endorser.url,
        "title": endorser.description,
        "organization": endorser.organization,
        "organization_url": endorser.organization_url,
        "date": (item.valid_from or "")[:10],
        "name": item.name,
    }


def _later_report(
    session: Session,
    ctx: ServiceContext,
    stored: Endorsement,
    reading: Reading,
    rows: PageRows,
    now: datetime,
) -> tuple[Report, bool]:
    """A later endorsement's verification (``network`` reach, as the public verifier does),
    and whether it read only what is ours.

    Kept (``kept.KEPT``) when everything it reads is ours: DIDs we host (or ``did:key``),
    our status lists (their versions are part of the key) and our blobs; verified afresh
    otherwise, since another host's keys or lists can change without our knowing.
    """

    def fresh() -> Report:
        # Parsed afresh: the verifier never holds a reading shared with other requests.
        with reading_with(session):
            return pipeline.verify(ctx, json.loads(stored.document), now=now).report

    lists = rows.endorsement_lists.get(stored.id, ())
    if not kept.reaches_only_named(
        reading.dids,
        reading.lists,
        reading.digested,
        ctx.base_url,
        rows.keys,
        lists_known=bool(lists),
    ):
        return fresh(), False
    key = reading.report_key(ctx.base_url, "endorsement", stored.id, rows.keys, now, lists)
    return kept.KEPT.get(key, fresh), True


def endorsements(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    view: CredentialView,
    report: Report,
    rows: PageRows,
    now: datetime,
    fresh: list[Freshness] | None = None,
) -> list[dict[str, Any]]:
    """The endorsements a credential's pages show, as plain data, oldest kind first.

    - **Embedded** (``embedded: True``): signed into the badge at issuance. Each one's
      result is its ``endorsement`` check in ``report`` (the badge's own verification,
      which checks every embedded endorsement like a credential, and its subject).
    - **Later** (``embedded: False``): made after issuance, hosted at
      ``<base>/endorsements/<uuid>`` and read with the page's rows; each is verified on
      its own with the service's verifier (a kept report while nothing it read changed),
      and must name this credential or its achievement.

    Withdrawn endorsements are left out, embedded ones included: the badge keeps its
    signed copy, but our pages respect the endorser's withdrawal. ``fresh`` receives,
    for each later endorsement shown, how long its verdict holds (``page_memo``).
    """
    stored_rows = rows.endorsements.get(row.id, [])
    embedded_ids = {item.id for item in view.endorsements}
    withdrawn = {
        endorsement_service.endorsement_url(ctx, e.id)
        for e in stored_rows
        if e.withdrawn_at is not None
    }
    checks: list[Check] = [
        c
        for c in report.checks
        if c.check == "endorsement" and c.code != "endorsement.jwt_unsupported"
    ]
    out: list[dict[str, Any]] = []
    for item in view.endorsements:
        if item.id in withdrawn:
            continue
        # One check per embedded endorsement, in order; if the stage could not run (an
        # internal error), the counts differ and none is claimed verified.
        check = checks[item.position] if len(checks) >= view.embedded_endorsements else None
        out.append(
            _endorsement_view(
                item,
                embedded=True,
                verified=check is not None and check.outcome == "pass",
                message=check.message if check is not None else None,
            )
        )
    subjects = {view.id, view.achievement.id}
    for stored in stored_rows:
        url = endorsement_service.endorsement_url(ctx, stored.id)
        if url in embedded_ids or stored.withdrawn_at is not None:
            continue
        if len(out) >= MAX_ENDORSEMENTS:
            break
        reading = rows.endorsement_readings.get(stored.id)
        if reading is None or reading.endorsement is None:
            continue  # not JSON: nothing to show (we store only what we signed)
        result, ours = _later_report(session, ctx, stored, reading, rows, now)
        if fresh is not None:
            checked = ours and not result.unchecked()
            fresh.append(page_memo.freshness(reading.dates, now, checked=checked))
        later = reading.endorsement
        verified = result.verified and later.subject_id in subjects
        first = result.failures()[0].message if result.failures() else None
        if result.verified and not verified:
            first = f"The endorsement is genuine, but it endorses {str(later.subject_id)!r:.200}."
        out.append(_endorsement_view(later, embedded=False, verified=verified, message=first))
    return out[:MAX_ENDORSEMENTS]


def language_edition(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    ach: AchievementView,
    lang: str,
    rows: PageRows | None = None,
) -> tuple[AchievementVersion, AchievementEdition] | None:
    """The issuer's edition of the credential's achievement in the visitor's language.

    Only when the visitor reads another language than the signed ``inLanguage`` (compared
    by primary subtag: an ``es-MX`` visitor reads ``es``) and the achievement is one this
    service hosts for the credential's issuer; editions are read from our database (with
    the page's rows when they hold them), so a credential issued before the edition
    existed shows it too. Nothing is ever fetched.
    """
    in_language = ach.in_language
    if not in_language or achievements.primary_subtag(in_language) == (
        achievements.primary_subtag(lang)
    ):
        return None
    vid = row.achievement_version_id
    if rows is not None and vid is not None and vid in rows.versions:
        version: AchievementVersion | None = rows.versions[vid]
        editions = rows.editions.get(vid, [])
    else:
        version = achievements.hosted_version(session, ctx, row, ach.id)
        if version is None:
            return None
        editions = achievements.editions_of(session, version)
    if version is None:
        return None
    edition = achievements.pick_edition(editions, lang)
    return (version, edition) if edition is not None else None


def _credential_report(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    reading: Reading,
    rows: PageRows,
    now: datetime,
) -> Report:
    """The credential's ``offline`` verification: kept by ``kept.KEPT`` under its stored
    text, the DID documents its proofs name and the side of each of its dates ``now`` is on."""

    def fresh() -> Report:
        # Offline: our own credential, checked against bundled contexts, did:key and the
        # DIDs we host, with the hosted keys read on this request's connection. Parsed
        # afresh: the verifier never holds a reading shared with other requests.
        with reading_with(session):
            return pipeline.verify(ctx, json.loads(row.document), reach="offline", now=now).report

    if not reading.is_object:
        return fresh()
    key = reading.report_key(ctx.base_url, "credential", row.id, rows.keys, now)
    return kept.KEPT.get(key, fresh)


def credential_cards(
    session: Session,
    ctx: ServiceContext,
    credentials: Sequence[Credential],
    *,
    lang: str,
    choices: dict[tuple[str, str], str],
    candidate_name: str | None = None,
    original: bool = False,
    shares: bool = True,
) -> list[dict[str, Any]]:
    """The cards of ``credentials``, their rows read once for all of them (``page_rows``).

    ``shares=False`` leaves out the share and LinkedIn links (``shares``, ``linkedin``),
    for a page that does not show them (the portfolio page shows only its own).
    """
    # What each stored text says is read once per process (``readings``); everything
    # that can change is read below, for this request.
    kept_readings = readings.READINGS
    read = {
        r.id: kept_readings.read(ctx.base_url, "credential", r.id, r.document) for r in credentials
    }
    rows = page_rows.load(session, credentials, read, origin=ctx.base_url, lang=lang)
    now = ctx.clock()
    return [
        _card(
            session,
            ctx,
            r,
            rows,
            now,
            lang=lang,
            choices=choices,
            candidate_name=candidate_name,
            original=original,
            shares=shares,
        )
        for r in credentials
    ]


def credential_card(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    lang: str,
    choices: dict[tuple[str, str], str] | None = None,
    candidate_name: str | None = None,
    original: bool = False,
) -> dict[str, Any]:
    """Everything a page shows about one credential (``credential_cards`` of one)."""
    if choices is None:
        choices = item_visibility(session, row.candidate_id) if row.candidate_id else {}
    (card,) = credential_cards(
        session,
        ctx,
        [row],
        lang=lang,
        choices=choices,
        candidate_name=candidate_name,
        original=original,
    )
    return card


def _card(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    rows: PageRows,
    now: datetime,
    *,
    lang: str,
    choices: dict[tuple[str, str], str],
    candidate_name: str | None,
    original: bool,
    shares: bool,
) -> dict[str, Any]:
    """Everything a page shows about one credential, read from the stored JSON.

    When the issuer has an edition of the achievement in the visitor's language
    (``language_edition``), its name, description, criteria, image alt text and rubric
    names are shown instead of the signed ones, unless ``original`` asks for the signed
    text; ``edition`` then says which languages are involved, for the page's note. Every
    other line is the signed credential's.
    """
    reading = rows.readings[row.id]
    view = reading.credential
    assert view is not None  # read as a credential (``kind="credential"``)
    ach = view.achievement
    source = view.recipient.source
    url = issuance.credential_url(ctx, row.id)
    name = view.title
    caption = ach.image.caption if ach.image else None
    in_language = ach.in_language
    found = language_edition(session, ctx, row, ach, lang, rows)
    edition = found[1] if found is not None and not original else None
    signed_name = name
    name_lang = in_language if name == ach.name else None
    image_alt = caption or name
    image_alt_lang = in_language if caption else name_lang
    rubric_names: dict[str, str] = {}
    if edition is not None and found is not None:
        if name == ach.name:
            name, name_lang = edition.name, edition.lang
        if edition.image_caption:
            image_alt, image_alt_lang = edition.image_caption, edition.lang
        elif not caption:
            image_alt, image_alt_lang = name, name_lang
        rubric_names = achievements.edition_rubric_names(ach.id or "", found[0], edition)
    issued = view.issued
    expires = view.expires
    report = _credential_report(session, ctx, row, reading, rows, now)
    status = _status(row, view, report, rows, now)
    # How long what this card shows holds (``page_memo``): its verdicts compare ``now``
    # with the dates its text carries; a check that could not run is never kept.
    fresh = [
        page_memo.freshness(
            reading.dates, now, checked=reading.is_object and not report.unchecked()
        )
    ]
    files = rows.deliverables.get(row.project_id, []) if row.project_id is not None else []
    by_url = {(f"{ctx.base_url}/blobs/{d.sha256}" if d.sha256 else d.url): d for d in files}
    recorded = {d.sha256 for d in files if d.sha256}
    evidence = evidence_items(ctx, view, by_url, recorded, choices)
    results = []
    for r in view.recipient.results:
        rd_name = rubric_names.get(str(r.description_id))
        level_name = rubric_names.get(str(r.level_id))
        results.append(
            {
                "name": rd_name or r.name or "",
                "name_lang": edition.lang if edition and rd_name else in_language,
                "level": level_name or r.level_name,
                "level_lang": edition.lang if edition and level_name else in_language,
                "level_description": r.level_description,
                "level_description_lang": in_language,
                "value": r.value or r.status,
            }
        )
    # The program that signed, by its registered name and site: a VC-API caller chooses
    # the ``issuer`` object it sends, and may copy another program's name into it.
    signer = rows.issuers.get(row.issuer_id)
    org = signer.name if signer is not None else view.issuer.id or ""
    other_languages = [{"lang": o.lang, "href": o.url} for o in ach.other_languages]
    preferred = next((o for o in other_languages if o["lang"][:2] == lang), None)
    if found is not None:
        # Our own edition is shown on the page itself (or offered as a toggle), so the
        # link to another service's edition is not needed.
        preferred = None
    ach_view: dict[str, Any] = {
        "name": ach.name or signed_name,
        "description": ach.description,
        "criteria": ach.criteria,
        "lang": in_language,
        "criteria_lang": in_language,
    }
    if edition is not None:
        ach_view = {
            "name": edition.name,
            "description": edition.description,
            "criteria": edition.criteria_narrative or ach_view["criteria"],
            "lang": edition.lang,
            "criteria_lang": edition.lang if edition.criteria_narrative else in_language,
        }
    card: dict[str, Any] = {
        "row_id": row.id,
        "id": view.id or url,
        "url": url,
        "json_url": url + ".json",
        "name": name,
        "description": view.description,
        "name_lang": name_lang,
        "achievement": {
            **ach_view,
            "type": ach.type,
            "tags": list(ach.tags),
            "other_languages": other_languages,
            "preferred_edition": preferred if in_language and in_language[:2] != lang else None,
        },
        # Which text is shown: an edition (``shown``) or, with ``original``, the signed text
        # while an edition exists. None when there is no edition for this visitor.
        "edition": {
            "shown": edition is not None,
            "lang": found[1].lang,
            "original_lang": in_language,
            "url": achievements.edition_url(
                ctx, found[0].achievement_id, found[0].version, found[1].lang
            ),
        }
        if found is not None
        else None,
        "image": ach.image.url if ach.image else None,
        "image_alt": image_alt,
        "image_alt_lang": image_alt_lang,
        "issuer": {
            "id": view.issuer.id,
            "name": org,
            "url": safe_link(signer.url) if signer is not None else None,
        },
        "host": {"name": source.name, "url": source.url} if source else None,
        "role": view.recipient.role,
        "start": (view.recipient.start or "")[:10],
        "end": (view.recipient.end or "")[:10],
        "issued": issued,
        "expires": expires,
        "recipient_did": view.recipient.id,
        "hashed_identifiers": view.recipient.hashed_identifiers,
        # The name the issuer signed in, if it did: what any copy of the credential says.
        "recipient_name": view.recipient.name,
        # The name the candidate shows on their portfolio (it may be newer than the one
        # signed in), else the signed name: every copy of the credential says that one, so
        # its page and certificate name the holder even when the portfolio does not.
        "candidate_name": candidate_name or view.recipient.name,
        "skills": [
            {
                "name": a.name,
                "url": a.url,
                "framework": a.framework,
                "code": a.code,
                "description": a.description,
            }
            for a in ach.alignments
            if a.name
        ],
        "results": results,
        "evidence": evidence,
        "endorsements": endorsements(session, ctx, row, view, report, rows, now, fresh),
        "proofs": [{"cryptosuite": p.cryptosuite, "method": p.method} for p in view.proofs],
        "status": status,
        "verify_url": verify_url(ctx, url),
        "downloads": {
            "json": url + ".json",
            "png": f"{url}/badge.png",
            "svg": f"{url}/badge.svg",
            "pdf": f"{url}/certificate.pdf",
            "qr_png": f"{url}/qr.png",
            "qr_svg": f"{url}/qr.svg",
            "qr_print": f"{url}/qr.png?scale=40",
        },
        "og_image": f"{url}/preview.png",
        "freshness": page_memo.join(fresh),
    }
    if shares:
        # The certification record on LinkedIn names the credential as signed.
        card["linkedin"] = sharing.linkedin_add_to_profile(
            name=signed_name,
            organization=org,
            issued=issued,
            expires=expires,
            cert_url=url,
            cert_id=row.id,
        )
        card["shares"] = sharing.share_links(url, f"{name} — {org}")
    return card
