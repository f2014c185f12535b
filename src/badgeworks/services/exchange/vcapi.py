"""The W3C CCG Verifiable Credentials API (VC-API): issue, verify, status.

``issue_credential`` signs any well-formed VC 2.0 (or 1.1) credential for the token's
issuer with the issuer's cryptosuite (eddsa-rdfc-2022 unless it chose eddsa-jcs-2022), and
stores and hosts it like a project's credential:

- the request: a body without ``credential`` or with another field, and a credential
  whose ``@context``, ``type`` or ``credentialSubject`` is missing or malformed, are 400
  (``check_issue_request``, ``check_credential_shape``), as the W3C issuer test suite
  expects;
- ``issuer``: required, never filled in (absent: ``vcapi.issuer_missing``); the issuer's
  DID (a string, or a Profile object whose ``id`` it is, other fields kept) → kept;
  anything else is refused with a 400: not a URL string or an object with a URL ``id``
  (``vcapi.issuer_invalid``), or another issuer's id (``vcapi.issuer_not_yours``);
- ``id``: absent → ``<base>/credentials/<uuid>``; ``urn:uuid:<uuid>`` → kept, hosted at
  ``<base>/credentials/<uuid>``; ``null`` is refused (``vcapi.id_invalid``); any other
  id is refused (``vcapi.id_not_hostable``): we cannot host a credential at someone
  else's URL, and ids under our URL are ours to give;
- ``credentialStatus``: a VC 2.0 credential gets a ``BitstringStatusListEntry`` per
  purpose (revocation and suspension; revocation only for Open Badges credentials, whose
  schema allows one); a VC 1.1 credential gets none, and no status context, unless
  ``options.credentialStatus`` asks for them. A purpose that an entry of the caller's
  already serves is not given a second entry. Entries the caller sends are validated (a
  malformed one is refused); a well-formed entry of another status type is kept, a
  ``BitstringStatusListEntry`` is refused (we allocate those);
- anything the signature could not secure faithfully is refused: unknown contexts,
  undefined terms, relative IRIs (strict canonicalization), and structural MUSTs.

``verify_presentation`` checks a presentation and then every credential in it with the
one pipeline ``POST /credentials/verify`` runs (``verification.pipeline.verify``: named
issuers, status, deliverable digests), so a credential gets the same checks inside a
presentation as on its own; ``report_body`` gives each report the VC-API's shape.

``verify_options`` reads the verify endpoints' ``options`` (``challenge``, ``domain``,
``checks``, and ``returnPresentation`` for presentations). The pipeline always runs
whole; ``options.checks`` then selects which of its checks decide the answer and appear
in it (``select_checks``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from badgeworks.adapters.resources import schema_documents
from badgeworks.core.contexts import STATUS_CONTEXT, VC1_CONTEXT
from badgeworks.core.credential import issuer_id as credential_issuer_id
from badgeworks.core.credential import xsd_datetime
from badgeworks.core.enveloped import MEDIA_TYPE, envelope_credential, envelope_kind
from badgeworks.core.errors import CredentialError, InputError
from badgeworks.core.issue import issue
from badgeworks.core.status import ENTRY_TYPE
from badgeworks.core.structure import check_credential, credential_problems, is_url
from badgeworks.db.endorsements import CredentialReservation
from badgeworks.db.engine import begin_write
from badgeworks.db.models import Credential, Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ValidationFailed
from badgeworks.services.infra import audit
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs.issuers import signing_key
from badgeworks.services.verification import pipeline as verification
from badgeworks.services.verification.pipeline import (
    Check,
    KnownIssuer,
    Report,
    Verification,
    verdict,
)

OB_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
_URN_UUID = re.compile(r"urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
#: Issue options we understand: ``credentialStatus`` and ``securingMechanism``, extensions
#: the VC-API allows ("Implementations MAY extend an options object with additional
#: properties").
ISSUE_OPTIONS = frozenset({"credentialStatus", "securingMechanism"})
#: ``options.securingMechanism``: the enveloping proof this issuer can add, named by its
#: media type (VC-JOSE-COSE §6.1.1; VC Data Model 2.0 §4.13 "Enveloped Verifiable
#: Credentials"). The answer is then an ``EnvelopedVerifiableCredential``.
ENVELOPING_MECHANISMS = frozenset({MEDIA_TYPE["vc"]})
#: Issue options the VC-API defines ("IssueCredentialOptions") that this service does not
#: implement: refused by name, so a caller knows they were not applied.
ISSUE_OPTIONS_NOT_IMPLEMENTED = frozenset(
    {"credentialId", "mandatoryPointers", "proofId", "previousProof"}
)
#: The status entry type ``options.credentialStatus`` may ask for (the only one we issue).
STATUS_OPTION_TYPES = frozenset({ENTRY_TYPE})


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
    status: bool | None = None,
) -> dict[str, Any]:
    """The unsigned credential as we will sign it: issuer, id and status entries set.

    ``status`` says whether to add our status entries: ``None`` follows the credential's
    version (a VC 2.0 credential gets them; a VC 1.1 credential only when its
    ``@context`` already lists the status context, as a re-issued one that had them
    does). A purpose that a caller's own entry serves gets no second entry.

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
    vc1 = first == VC1_CONTEXT
    if status is None:
        status = not vc1 or (isinstance(contexts, list) and STATUS_CONTEXT in contexts)
    # One entry per purpose: a purpose the caller's own entry already serves gets none of
    # ours (two revocation entries would leave a verifier to choose between them).
    served = {e.get("statusPurpose") for e in kept if isinstance(e.get("statusPurpose"), str)}
    purposes = tuple(p for p in _purposes(unsigned) if p not in served) if status else ()
    entries = status_lists.allocate_entries(session, ctx, issuer, row_id, purposes=purposes)
    if entries and vc1 and isinstance(contexts, list) and STATUS_CONTEXT not in contexts:
        # VC 1.1's context does not define BitstringStatusListEntry; its own context does.
        unsigned["@context"] = [*contexts, STATUS_CONTEXT]
    given_status = [*kept, *entries]
    if given_status:
        unsigned["credentialStatus"] = given_status[0] if len(given_status) == 1 else given_status
    else:
        unsigned.pop("credentialStatus", None)
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
    """Sign with the issuer's current key and cryptosuite; the bundled schemas it names
    are checked."""
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
        cryptosuite=issuer.cryptosuite,
    )


def _names(names: Any) -> str:
    """Up to five names from a caller, each quoted and cut short, for a message."""
    shown = [f"{str(n)[:40]!r}" for n in list(names)[:5]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def issue_options(options: Any) -> bool:
    """Read ``POST /credentials/issue``'s ``options``: whether they ask for status entries.

    VC-API, "Handling Unknown Options and Data": "Implementations MUST throw an error if
    an endpoint receives data, options, or option values that it does not understand or
    know how to process", so an option we do not know or do not implement, or a value we
    cannot honour, is ``InputError`` (400), never ignored.
    """
    if options is None:
        return False
    if not isinstance(options, dict):
        raise InputError(
            "options must be a JSON object, such as "
            '{"credentialStatus": {"type": "BitstringStatusListEntry"}}',
            code="vcapi.options_invalid",
        )
    not_implemented = sorted(set(options) & ISSUE_OPTIONS_NOT_IMPLEMENTED)
    if not_implemented:
        raise InputError(
            f"options: {_names(not_implemented)} is not implemented by this issuer; remove it "
            f"(supported: {', '.join(sorted(ISSUE_OPTIONS))})",
            code="vcapi.option_unsupported",
        )
    unknown = [name for name in options if name not in ISSUE_OPTIONS]
    if unknown:
        raise InputError(
            f"options: unknown option {_names(unknown)}; remove it "
            f"(supported: {', '.join(sorted(ISSUE_OPTIONS))})",
            code="vcapi.option_unknown",
        )
    mechanism = options.get("securingMechanism")
    # A list or object is no media type (and is unhashable: check the type first).
    if mechanism is not None and (
        not isinstance(mechanism, str) or mechanism not in ENVELOPING_MECHANISMS
    ):
        raise InputError(
            f"options.securingMechanism {str(mechanism)[:60]!r} is not one this issuer "
            f"adds; supported: {', '.join(sorted(ENVELOPING_MECHANISMS))} (VC-JOSE-COSE), "
            "or leave it out for a Data Integrity proof",
            code="vcapi.option_unsupported",
        )
    wanted = options.get("credentialStatus")
    if wanted is None:
        return False
    if (
        not isinstance(wanted, dict)
        or set(wanted) != {"type"}
        or not isinstance(wanted["type"], str)
        or wanted["type"] not in STATUS_OPTION_TYPES
    ):
        raise InputError(
            f'options.credentialStatus must be {{"type": "{ENTRY_TYPE}"}}: this issuer '
            "keeps Bitstring Status Lists only (it does not issue StatusList2021Entry), "
            "and chooses the purposes itself",
            code="vcapi.option_unsupported",
        )
    return True


def credential_version(credential: Mapping[str, Any]) -> int:
    """1 for a VC 1.1 credential (first ``@context`` is credentials/v1), else 2."""
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return 1 if first == VC1_CONTEXT else 2


#: The top-level fields of an issue request (VC-API ``IssueCredentialRequest``).
ISSUE_REQUEST_FIELDS = ("credential", "options")
#: Structural problems that make the request malformed (400) rather than name a credential
#: we refuse to sign (422): the W3C CCG issuer test suite (``tests/10-issuer.js``) expects
#: ``400`` ("Expected status code 400 invalid input!", ``shouldThrowInvalidInput``) for a
#: ``credential`` without ``@context``, ``type`` or ``credentialSubject``, or with one of
#: them of the wrong shape; the codes stay the rule's own.
_SHAPE_CODES = frozenset(
    {
        "credential.not_object",
        "credential.context",
        "credential.type",
        "credential.subject",
        "credential.null_value",
    }
)
_SHAPE_PATHS = ("$['@context']", "$.type", "$.credentialSubject")


def check_issue_request(fields: Mapping[str, Any]) -> Any:
    """The ``credential`` of an issue request body (its top-level ``fields``); ``InputError``
    (400) for a request without one or with fields the VC-API does not define.

    The issuer test suite sends ``{"verifiableCredential": …}`` and expects ``400``
    ("Request body MUST have property \"credential\""); the VC-API answers ``400`` for
    "Another condition that results in a Bad Request" (issuer.yml) and "MUST throw an
    error if an endpoint receives data … that it does not understand".
    """
    unknown = [name for name in fields if name not in ISSUE_REQUEST_FIELDS]
    if unknown:
        raise InputError(
            f"unknown field {_names(unknown)} in the request; send "
            '{"credential": {…}, "options": {…}}',
            code="vcapi.field_unknown",
        )
    credential = fields.get("credential")
    if credential is None:
        raise InputError(
            'the request has no "credential": send {"credential": {…}} with the unsigned '
            "credential to issue",
            code="vcapi.credential_missing",
        )
    return credential


def check_credential_shape(credential: Any) -> None:
    """Refuse a credential whose ``@context``, ``type`` or ``credentialSubject`` is missing
    or malformed with ``InputError`` (400), with the structural rule's code and message.

    VC Data Model 2.0 §4.3 (``@context`` an ordered set whose first item is the VC 2.0
    context), §4.5 (``type``), §4.8 (``credentialSubject`` one or more objects); the
    issuer test suite expects 400 for each ("credential MUST have property \"@context\"",
    "\"credential.type\" MUST be an array", "\"credential.credentialSubject\" MUST be an
    object"). Other structural problems stay 422 (``prepare`` reports them).
    """
    for problem in credential_problems(credential):
        path = str(problem.details.get("path", ""))
        if problem.code in _SHAPE_CODES and (path == "$" or path.startswith(_SHAPE_PATHS)):
            raise InputError(problem.message, code=problem.code, path=path)


def check_issue_input(credential: Mapping[str, Any], issuer: Issuer) -> None:
    """Refuse a ``null`` id and an ``issuer`` we will not sign as (``InputError``, 400).

    VC Data Model 2.0 §4.4 Identifiers: "If present, the value of the id property MUST be
    a single URL", so ``null`` is not an absent id. §4.7 Issuer: "The value of the issuer
    property MUST be either a URL or an object containing an id property whose value is a
    URL". The VC-API answers 400 when "the provided value of 'issuer' does not match the
    expected configuration": the token's issuer signs only as itself.
    """
    if "id" in credential and credential["id"] is None:
        raise InputError(
            "id is null: leave 'id' out (this service assigns <base>/credentials/<uuid>) "
            "or give a urn:uuid: URN",
            code="vcapi.id_invalid",
        )
    if "issuer" not in credential:
        # VC Data Model 2.0 §4.7: "A verifiable credential MUST have an issuer property";
        # the issuer test suite expects 400 ("credential MUST have property \"issuer\"").
        # We do not fill it in: the caller states who issues, and we check it is us.
        raise InputError(
            f'the credential has no issuer; add "issuer": "{issuer.did}" (this token\'s '
            "issuer), as a string or as the id of an issuer object",
            code="vcapi.issuer_missing",
        )
    given = credential["issuer"]
    named = given.get("id") if isinstance(given, dict) else given
    if not is_url(named):
        shown = "an object without a URL 'id'" if isinstance(given, dict) else f"{given!r:.80}"
        raise InputError(
            f"issuer must be a URL or an object whose 'id' is a URL, got {shown}; leave it "
            f"out or give this issuer's id, {issuer.did}",
            code="vcapi.issuer_invalid",
        )
    if named != issuer.did:
        raise InputError(
            f"issuer {named!r:.120} is not the issuer this token signs for ({issuer.did}); "
            "leave 'issuer' out or give that id",
            code="vcapi.issuer_not_yours",
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
    """``POST /credentials/issue``: sign, store and host a credential; returns both.

    ``InputError`` (400) for options we do not understand, a ``null`` id and an issuer
    that is malformed or not ``issuer``'s, before any work is done.
    """
    wants_status = issue_options(options)
    check_credential_shape(credential)
    if isinstance(credential, dict):
        check_issue_input(credential, issuer)
        status = wants_status or credential_version(credential) == 2
    else:
        status = wants_status
    unsigned = prepare(session, ctx, issuer, credential, status=status)
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


def issued_answer(
    session: Session, ctx: ServiceContext, issuer: Issuer, signed: dict[str, Any], options: Any
) -> dict[str, Any]:
    """What ``POST /credentials/issue`` answers with: the signed credential, or, when
    ``options.securingMechanism`` is ``application/vc+jwt``, an
    ``EnvelopedVerifiableCredential`` of it signed by the same key (VC-JOSE-COSE §3.1.1).

    The envelope's payload is exactly the credential stored and hosted (with its Data
    Integrity proof), so the credential page, status changes and both kinds of verifier
    agree on one text. ``options`` were read by ``issue_options`` before any work.
    """
    if not isinstance(options, dict) or options.get("securingMechanism") is None:
        return signed
    return envelope_credential(signed, signing_key(session, ctx, issuer), iat=ctx.clock())


# --------------------------------------------------------------------------- verifying

#: The names ``options.checks`` may hold, each with the report checks (``check`` areas,
#: docs/verification.md) it selects. ``proof`` brings the ``issuer`` checks with it: a
#: signature is only worth something when the key belongs to the credential's issuer
#: (VC Data Model 2.0 §4.7 and Data Integrity's assertionMethod purpose).
CHECKS: dict[str, frozenset[str]] = {
    "proof": frozenset({"proof", "issuer"}),
    "status": frozenset({"status"}),
    "validity": frozenset({"validity"}),
    "structure": frozenset({"structure"}),
    "schema": frozenset({"schema"}),
    "issuer": frozenset({"issuer"}),
    "endorsement": frozenset({"endorsement"}),
    "deliverable": frozenset({"deliverable"}),
}
#: Every area a check name selects; an ``internal`` check of another stage is kept.
_AREAS = frozenset().union(*CHECKS.values())
#: The most names ``options.checks`` may hold (there are eight; repeats are allowed).
MAX_CHECKS = 32
#: The longest ``challenge`` or ``domain`` we compare.
MAX_OPTION_TEXT = 2000
VERIFY_OPTIONS = frozenset({"challenge", "domain", "checks"})
PRESENTATION_OPTIONS = VERIFY_OPTIONS | {"returnPresentation"}


@dataclass(frozen=True)
class VerifyOptions:
    """The verify endpoints' ``options``, read by ``verify_options``.

    ``checks`` is ``None`` for every check, else the areas that decide the answer.
    """

    challenge: str | None = None
    domain: str | None = None
    checks: frozenset[str] | None = None
    return_presentation: bool = False


def _option_text(options: Mapping[str, Any], name: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_OPTION_TEXT:
        raise InputError(
            f"options.{name} must be a string of at most {MAX_OPTION_TEXT} characters",
            code="vcapi.option_invalid",
        )
    return value


def _checks(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    supported = ", ".join(CHECKS)
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_CHECKS
        or not all(isinstance(name, str) for name in value)
    ):
        raise InputError(
            f"options.checks must be a list of 1 to {MAX_CHECKS} check names, such as "
            f'["proof", "status"] (supported: {supported})',
            code="vcapi.checks_invalid",
        )
    unknown = [name for name in value if name not in CHECKS]
    if unknown:
        raise InputError(
            f"options.checks: unknown check {_names(unknown)} (supported: {supported})",
            code="vcapi.check_unknown",
        )
    return frozenset().union(*(CHECKS[name] for name in value))


def verify_options(options: Any, *, presentation: bool = False) -> VerifyOptions:
    """Read a verify endpoint's ``options``; ``InputError`` (400) for what we cannot honour.

    VC-API, "Handling Unknown Options and Data": "Implementations MUST throw an error if
    an endpoint receives data, options, or option values that it does not understand or
    know how to process." ``challenge`` and ``domain`` are strings ("VerifyPresentation
    Options"); ``checks`` is a list of check names; ``returnPresentation`` (presentations
    only) a boolean.
    """
    if options is None:
        return VerifyOptions()
    if not isinstance(options, dict):
        raise InputError(
            'options must be a JSON object, such as {"checks": ["proof", "status"]}',
            code="vcapi.options_invalid",
        )
    allowed = PRESENTATION_OPTIONS if presentation else VERIFY_OPTIONS
    unknown = [name for name in options if name not in allowed]
    if unknown:
        raise InputError(
            f"options: unknown option {_names(unknown)}; remove it "
            f"(supported: {', '.join(sorted(allowed))})",
            code="vcapi.option_unknown",
        )
    wanted = options.get("returnPresentation", False)
    if not isinstance(wanted, bool):
        raise InputError(
            "options.returnPresentation must be true or false", code="vcapi.option_invalid"
        )
    return VerifyOptions(
        challenge=_option_text(options, "challenge"),
        domain=_option_text(options, "domain"),
        checks=_checks(options.get("checks")),
        return_presentation=wanted,
    )


def _selected(check: Check, areas: frozenset[str]) -> bool:
    if check.check in areas:
        return True
    if check.check == "structure" and check.outcome == "fail":
        # A document that is not a well-formed credential is never verified, whatever
        # checks were asked for: the others looked at something that is not one.
        return True
    if check.check == "internal":
        # A stage that crashed belongs to its stage; a failure before any stage ran (the
        # database, the set-up) to every answer.
        stage = check.detail.get("stage")
        return stage in areas or stage not in _AREAS
    return False


def select_checks(report: Report, areas: frozenset[str] | None) -> Report:
    """The checks of ``report`` that ``options.checks`` asked for (``areas``; ``None``:
    all): only they appear in the answer and decide ``verified``.

    The pipeline always runs whole (it has no subsets); the selection is made here.
    """
    if areas is None:
        return report
    return Report(c for c in report.checks if _selected(c, areas))


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
        "format": (
            "jose"
            if envelope_kind(document) == "vc"
            else "jwt"
            if isinstance(document, str)
            else "json"
        ),
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
    checks: frozenset[str] | None = None,
) -> dict[str, Any]:
    """``POST /presentations/verify``: the presentation's own checks, then each credential
    through the one pipeline (``verification.pipeline.verify_presented``); never fails
    on what it verifies.

    ``checks`` (from ``options.checks``) selects the checks of each credential that decide
    its result (``select_checks``); the presentation's own checks (structure, proof with
    ``challenge`` and ``domain``, holder) always run and always count.

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
    credentials = [
        replace(item, report=select_checks(item.report, checks)) for item in result.credentials
    ]
    everything = [*result.report.checks, *(c for v in credentials for c in v.report.checks)]
    return {
        **report_body(result.report),
        "verified": result.report.verified and all(v.report.verified for v in credentials),
        "verdict": verdict(everything),
        "presentationResult": presentation_result,
        "credentialResults": [
            _credential_result(item, document)
            for item, document in zip(credentials, result.documents, strict=True)
        ],
    }
