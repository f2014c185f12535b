"""The W3C CCG Verifiable Credentials API (VC-API): issue, verify, status.

``issue_credential`` signs any well-formed VC 2.0 (or 1.1) credential for the token's
issuer with eddsa-rdfc-2022, and stores and hosts it like a project's credential:

- ``issuer`` becomes the issuer's DID (a Profile object keeps its other fields);
- ``id``: absent → ``<base>/credentials/<uuid>``; ``urn:uuid:<uuid>`` → kept, hosted at
  ``<base>/credentials/<uuid>``; any other id is refused (``vcapi.id_not_hostable``): we
  cannot host a credential at someone else's URL, and ids under our URL are ours to give;
- ``credentialStatus``: we add a ``BitstringStatusListEntry`` per purpose (revocation and
  suspension; revocation only for Open Badges credentials, whose schema allows one).
  Entries the caller sends are validated (a malformed one is refused); a well-formed
  entry of another status type is kept, a ``BitstringStatusListEntry`` is refused (we
  allocate those);
- anything the signature could not secure faithfully is refused: unknown contexts,
  undefined terms, relative IRIs (strict canonicalization), and structural MUSTs.

``verify_presentation`` checks a presentation and then every credential in it with the
one pipeline ``POST /credentials/verify`` runs (``verification.pipeline.verify``: named
issuers, status, deliverable digests), so a credential gets the same checks inside a
presentation as on its own; ``report_body`` gives each report the VC-API's shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from badgeworks.adapters.resources import schema_documents
from badgeworks.core.contexts import STATUS_CONTEXT, VC1_CONTEXT
from badgeworks.core.credential import issuer_id as credential_issuer_id
from badgeworks.core.credential import xsd_datetime
from badgeworks.core.errors import CredentialError, InputError
from badgeworks.core.issue import issue
from badgeworks.core.status import ENTRY_TYPE
from badgeworks.core.structure import check_credential, is_url
from badgeworks.db.endorsements import CredentialReservation
from badgeworks.db.engine import begin_write
from badgeworks.db.models import Credential, Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ValidationFailed
from badgeworks.services.infra import audit
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs.issuers import signing_key
from badgeworks.services.verification import pipeline as verification
from badgeworks.services.verification.pipeline import KnownIssuer, Report, Verification, verdict

OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
_URN_UUID = re.compile(r"urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
#: Issue options we understand (VC-API "IssueCredentialOptions").
ISSUE_OPTIONS = frozenset({"credentialStatus"})


def _types(node: Any) -> list[str]:
    value = node.get("type") if isinstance(node, dict) else None
    if isinstance(value, str):
        return [value]
    return [t for t in value if isinstance(t, str)] if isinstance(value, list) else []


def _purposes(credential: dict[str, Any]) -> tuple[str, ...]:
    if OB_TYPES & set(_types(credential)):
        return status_lists.OB_PURPOSES
    return status_lists.PURPOSES


def _caller_status(credential: dict[str, Any]) -> list[dict[str, Any]]:
    """The caller's own ``credentialStatus`` entries we keep; refuse malformed ones."""
    given = credential.get("credentialStatus")
    if given is None:
        return []
    entries = given if isinstance(given, list) else [given]
    kept: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict) or not _types(entry):
            raise CredentialError(
                "each credentialStatus entry must be an object with a 'type'",
                code="credential.status",
            )
        if "id" in entry and not is_url(entry["id"]):
            raise CredentialError(
                f"credentialStatus.id must be a URL, got {entry['id']!r:.80}",
                code="credential.status",
            )
        if ENTRY_TYPE in _types(entry):
            raise ValidationFailed(
                "credentialStatus: this service allocates BitstringStatusListEntry entries "
                "itself (revocation and suspension, on its own lists); remove the entry",
                code="vcapi.status_not_ours",
            )
        kept.append(entry)
    return kept


def _assign_id(ctx: ServiceContext, credential: dict[str, Any], credential_id: str) -> str:
    """The row id for the credential, setting or checking its ``id``."""
    given = credential.get("id")
    if given is None:
        credential["id"] = f"{ctx.base_url}/credentials/{credential_id}"
        return credential_id
    if isinstance(given, str):
        match = _URN_UUID.fullmatch(given.lower())
        if match is not None:
            return match.group(1)
    raise ValidationFailed(
        f"id {given!r:.120}: this service hosts the credentials it issues, so the id must be "
        "absent (we assign <base>/credentials/<uuid>) or a urn:uuid: URN",
        code="vcapi.id_not_hostable",
    )


def _lock_id(session: Session, row_id: str) -> None:
    # Two callers may send the same id at the same moment. Each would pass the check
    # below before the other commits, and the second would then search the status lists
    # for entries that its id can never get. Holding a lock on the id until the commit
    # makes the second see the first's credential: a transaction-scoped advisory lock
    # on PostgreSQL, the database's write lock on SQLite.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"badgeworks credential id {row_id}"},
        )
    else:
        begin_write(session)


def check_id_free(session: Session, row_id: str, *, shown: str) -> None:
    """Refuse a credential id that is issued or reserved here, before any work is done.

    A project's credential id is reserved when its first mentor is invited, and the
    endorsements signed before the badge name it publicly; a caller who copies it must
    not get that hosted URL. ``shown`` is the id as the caller wrote it.
    """
    if session.get(Credential, row_id) is not None:
        raise ValidationFailed(
            f"a credential with id {shown!r:.80} was already issued here; leave 'id' out "
            "and this service assigns a new one",
            code="vcapi.id_taken",
        )
    reserved = session.exec(
        select(CredentialReservation.project_id).where(
            CredentialReservation.credential_id == row_id
        )
    ).first()
    if reserved is not None:
        raise ValidationFailed(
            f"the id {shown!r:.80} is reserved for a credential this service is about to "
            "issue; leave 'id' out and this service assigns a new one",
            code="vcapi.id_reserved",
        )


def prepare(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential: Any,
    *,
    credential_id: str | None = None,
    keep_id: bool = True,
) -> dict[str, Any]:
    """The unsigned credential as we will sign it: issuer, id and status entries set.

    Raises ``CredentialError``/``ValidationFailed`` for input we will not sign. The status
    entries are claimed in ``session`` (committed with the credential).
    """
    if not isinstance(credential, dict):
        check_credential(credential)  # raises credential.not_object
        raise CredentialError("the credential must be a JSON object")  # pragma: no cover
    unsigned = dict(credential)
    if "proof" in unsigned:
        raise CredentialError(
            "the credential already has a proof; send it unsigned", code="credential.already_signed"
        )
    kept = _caller_status(unsigned)
    given_issuer = unsigned.get("issuer")
    if isinstance(given_issuer, dict):
        unsigned["issuer"] = {**given_issuer, "id": issuer.did}
    else:
        unsigned["issuer"] = issuer.did
    contexts = unsigned.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first == VC1_CONTEXT and "issuanceDate" not in unsigned:
        unsigned["issuanceDate"] = xsd_datetime(ctx.clock())
    if not keep_id:
        unsigned.pop("id", None)
    chosen = "id" in unsigned
    row_id = _assign_id(ctx, unsigned, credential_id or str(uuid.uuid4()))
    if chosen:
        _lock_id(session, row_id)
    check_id_free(session, row_id, shown=str(unsigned["id"]))
    # Check the structure before claiming status indexes, so bad input changes nothing.
    check_credential({**unsigned, "credentialStatus": kept} if kept else unsigned)
    entries = status_lists.allocate_entries(
        session, ctx, issuer, row_id, purposes=_purposes(unsigned)
    )
    if first == VC1_CONTEXT and isinstance(contexts, list) and STATUS_CONTEXT not in contexts:
        # VC 1.1's context does not define BitstringStatusListEntry; its own context does.
        unsigned["@context"] = [*contexts, STATUS_CONTEXT]
    status = [*kept, *entries]
    unsigned["credentialStatus"] = status[0] if len(status) == 1 else status
    return unsigned


def row_id_of(ctx: ServiceContext, document: dict[str, Any]) -> str:
    """The database id of a credential we issued, from its ``id``."""
    cid = str(document.get("id", ""))
    prefix = f"{ctx.base_url}/credentials/"
    if cid.startswith(prefix):
        return cid[len(prefix) :]
    match = _URN_UUID.fullmatch(cid.lower())
    return match.group(1) if match else cid


def sign(
    session: Session, ctx: ServiceContext, issuer: Issuer, unsigned: dict[str, Any]
) -> dict[str, Any]:
    """Sign with the issuer's current key; the bundled schemas it names are checked."""
    named = unsigned.get("credentialSchema")
    named_list = named if isinstance(named, list) else [named] if named else []
    bundled = schema_documents()
    known = all(isinstance(s, dict) and s.get("id") in bundled for s in named_list)
    now = ctx.clock()
    return issue(
        unsigned,
        signing_key(session, ctx, issuer),
        ctx.loader,
        now=now,
        schemas=bundled if named_list and known else None,
    )


def issue_credential(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential: Any,
    options: Any,
    *,
    actor: str,
) -> tuple[Credential, dict[str, Any]]:
    """``POST /credentials/issue``: sign, store and host a credential; returns both."""
    if options is not None and not isinstance(options, dict):
        raise ValidationFailed("options must be a JSON object", code="vcapi.options_invalid")
    unknown = sorted(set(options or {}) - ISSUE_OPTIONS)
    if unknown:
        raise ValidationFailed(
            f"unsupported issue option(s): {', '.join(unknown)[:200]} "
            f"(supported: {', '.join(sorted(ISSUE_OPTIONS))})",
            code="vcapi.option_unsupported",
        )
    wanted = (options or {}).get("credentialStatus")
    if wanted is not None and (not isinstance(wanted, dict) or wanted.get("type") != ENTRY_TYPE):
        raise ValidationFailed(
            f"options.credentialStatus: only {{'type': '{ENTRY_TYPE}'}} is supported",
            code="vcapi.option_unsupported",
        )
    unsigned = prepare(session, ctx, issuer, credential)
    signed = sign(session, ctx, issuer, unsigned)
    if credential_issuer_id(signed) != issuer.did:  # pragma: no cover - prepare sets it
        raise CredentialError("issuer mismatch", code="credential.issuer")
    from badgeworks.services.issuance.completion import serialize

    row_id = row_id_of(ctx, signed)
    row = Credential(
        id=row_id,
        issuer_id=issuer.id or 0,
        document=serialize(signed),
        issued_at=ctx.clock(),
    )
    session.add(row)
    audit.commit(
        session,
        actor=actor,
        action="credential.issue",
        issuer_id=issuer.id,
        target=f"credential:{row_id}",
        detail={"via": "vc-api"},
        now=ctx.clock(),
        # Another request took the same caller-supplied id in the meantime.
        conflict=ValidationFailed(
            f"a credential with id {signed.get('id')!r:.80} was issued here at the same "
            "time; leave 'id' out and this service assigns a new one",
            code="vcapi.id_taken",
        ),
    )
    return row, signed


# --------------------------------------------------------------------------- verifying


def report_body(report: Report) -> dict[str, Any]:
    """A report in the VC-API's shape: ``verified`` and ``checks``, with the failed checks
    repeated as ``errors`` and the warnings as ``warnings`` (docs/vc-api.md), and the
    ``verdict``: ``could_not_verify`` when a check could not run (its ``errors`` entry
    says so): try again; it says nothing against the credential."""
    body = report.as_dict()
    body["verdict"] = report.verdict
    body["errors"] = [
        {"code": c.code, "message": c.message}
        for c in report.checks
        if c.outcome in ("fail", "indeterminate")
    ]
    body["warnings"] = [
        {"code": c.code, "message": c.message} for c in report.checks if c.outcome == "warning"
    ]
    return body


def _credential_result(result: Verification, document: Any) -> dict[str, Any]:
    credential_id = result.credential.get("id") if result.credential is not None else None
    return {
        **report_body(result.report),
        "credentialId": credential_id if isinstance(credential_id, str) else None,
        "format": "jwt" if isinstance(document, str) else "json",
    }


def check_presentation_size(vp: Mapping[str, Any]) -> None:
    """``InputError`` for more than ``MAX_PRESENTED_CREDENTIALS`` credentials."""
    count = len(verification.presented_credentials(vp))
    if count > verification.MAX_PRESENTED_CREDENTIALS:
        raise InputError(
            f"the presentation carries {count} credentials; this service verifies at most "
            f"{verification.MAX_PRESENTED_CREDENTIALS} in one request",
            code="vcapi.too_many_credentials",
        )


def verify_presentation(
    ctx: ServiceContext,
    vp: dict[str, Any],
    *,
    known: Mapping[str, KnownIssuer],
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """``POST /presentations/verify``: the presentation's own checks, then each credential
    through the one pipeline (``verification.pipeline.verify_presented``); never fails
    on what it verifies.

    Returns ``{"verified", "presentationResult", "credentialResults", "checks", "errors",
    "warnings"}``: the top-level ``checks`` are the presentation's own, and each
    credential result carries its own ``checks``, ``errors`` and ``warnings``, identical
    to ``POST /credentials/verify``'s for that credential. ``InputError`` (before any
    work) for more than ``MAX_PRESENTED_CREDENTIALS`` credentials: each one may fetch
    its status list and deliverables, so the number bounds one request's work.
    """
    check_presentation_size(vp)
    result = verification.verify_presented(ctx, vp, known=known, challenge=challenge, domain=domain)
    # As in the core's presentation checks: a signed presentation's result is its proof and holder
    # checks; an unsigned one has none.
    presentation_result = (
        Report([c for c in result.report.checks if c.check in ("proof", "holder")]).as_dict()
        if result.signed
        else None
    )
    everything = [*result.report.checks, *(c for v in result.credentials for c in v.report.checks)]
    return {
        **report_body(result.report),
        "verified": result.verified,
        "verdict": verdict(everything),
        "presentationResult": presentation_result,
        "credentialResults": [
            _credential_result(item, document)
            for item, document in zip(result.credentials, result.documents, strict=True)
        ],
    }
