"""The W3C CCG Verifiable Credentials API: ``/credentials/issue``, ``/credentials/verify``,
``/presentations/verify`` and ``/credentials/status`` (docs/vc-api.md).

Writes (issue, status) need the issuer's API token; verifying is public. Malformed
requests get the one error shape (400/422); a verification that fails is ``422`` with the
same report a success returns with ``200``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field, StringConstraints
from sqlalchemy.exc import SQLAlchemyError

from badgeworks.services.context import ServiceContext
from badgeworks.services.exchange import vcapi
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.models import Strict
from badgeworks.services.verification import pipeline as verification
from badgeworks.services.verification.hosted import hosted_view
from badgeworks.services.verification.pipeline import KnownIssuer, unavailable_report
from badgeworks.services.verification.pool import VerifierBusy
from badgeworks.services.verification.public import known_issuers_kept
from badgeworks.web.deps import ContextDep, OptionalPrincipalDep, PrincipalDep, SessionDep
from badgeworks.web.routes.verifier import busy_response, trust_registry, verify_pool

router = APIRouter(tags=["vc-api"])

Text = Annotated[str, StringConstraints(max_length=2000)]


#: ``options`` is read by the service (``vcapi.issue_options``/``verify_options``), so a
#: malformed or unknown option is a 400 with a code of its own rather than a schema error.
Options = Annotated[
    Any,
    Field(
        description="A JSON object. Verify: challenge, domain, checks (e.g. "
        '["proof", "status"]); presentations also returnPresentation. Issue: '
        'credentialStatus ({"type": "BitstringStatusListEntry"}), securingMechanism '
        '("application/vc+jwt": answer with an EnvelopedVerifiableCredential). Unknown '
        "options are 400 vcapi.option_unknown.",
        json_schema_extra={"type": "object"},
    ),
]


class IssueRequest(Strict):
    """``POST /credentials/issue``'s body (no NUL anywhere, as every request model).

    Its fields are read leniently, so that a body without ``credential``, with another
    field or with a malformed credential is the VC-API's ``400``
    (``vcapi.check_issue_request``, ``vcapi.check_credential_shape``), as the W3C issuer
    test suite expects, rather than a schema error."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"required": ["credential"], "additionalProperties": False},
    )

    credential: Annotated[
        Any,
        Field(
            description="The unsigned credential (a JSON object with @context, type, "
            "issuer and credentialSubject).",
            json_schema_extra={"type": "object"},
        ),
    ] = None
    options: Options = None


class VerifyCredentialRequest(Strict):
    verifiableCredential: dict[str, Any] | str
    options: Options = None


class VerifyPresentationRequest(Strict):
    verifiablePresentation: dict[str, Any]
    options: Options = None


class StatusItem(Strict):
    type: Literal["BitstringStatusListEntry", "BitstringStatusListCredential"] | None = None
    status: Literal["revoked", "suspended", "unsuspended"]


class StatusRequest(Strict):
    credentialId: Text
    credentialStatus: list[StatusItem] = Field(min_length=1, max_length=2)
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


@router.post("/credentials/issue", status_code=201)
def issue_credential(
    data: IssueRequest, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> JSONResponse:
    """Sign ``credential`` for the token's issuer (its cryptosuite), add status entries,
    store and host it; ``201 {"verifiableCredential": …}``, an enveloped credential
    (VC-JOSE-COSE) when ``options.securingMechanism`` is ``application/vc+jwt``."""
    credential = vcapi.check_issue_request(
        {**data.model_dump(exclude_unset=True), **(data.model_extra or {})}
    )
    _row, signed = vcapi.issue_credential(
        session, ctx, who.issuer, credential, data.options, actor=who.actor
    )
    answer = vcapi.issued_answer(session, ctx, who.issuer, signed, data.options)
    return JSONResponse({"verifiableCredential": answer}, status_code=201)


async def _verified(
    request: Request,
    ctx: ServiceContext,
    verify: Callable[[dict[str, KnownIssuer]], dict[str, Any]],
) -> JSONResponse:
    """Run ``verify`` with the known issuers on the verifier's bounded pool: 200 with its
    answer when that says ``verified``, 422 with the same answer when not (503 when the
    pool is full)."""
    registry = trust_registry(request)

    def work() -> dict[str, Any]:
        # On a worker of the bounded pool, holding no database session across fetches.
        # One reading of ``hosted_version`` serves the known issuers and the verification
        # (the hosted issuers kept while it stays the same), as for POST /api/v1/verify.
        with hosted_view(ctx.session_factory):
            try:
                known = known_issuers_kept(ctx, registry)
            except SQLAlchemyError as exc:
                return vcapi.report_body(unavailable_report(exc))
            return verify(known)

    try:
        result = await verify_pool(request).run(work)
    except VerifierBusy as exc:
        return busy_response(exc)
    return JSONResponse(result, status_code=200 if result["verified"] else 422)


@router.post("/credentials/verify")
async def verify_credential(
    data: VerifyCredentialRequest,
    request: Request,
    ctx: ContextDep,
    _caller: OptionalPrincipalDep,
) -> JSONResponse:
    """Verify a credential (object or VC-JWT): 200 with the report when it verifies, 422
    with the same report when it does not.

    The report is the public verifier's (``POST /api/v1/verify``): the same pipeline, the
    same known issuers (hosted and the trust registry's), deliverable digests included.

    ``options.checks`` names the checks that decide the answer and appear in it; the
    pipeline still runs whole (docs/vc-api.md).
    """
    options = vcapi.verify_options(data.options)

    def verify(known: dict[str, KnownIssuer]) -> dict[str, Any]:
        result = verification.verify(
            ctx,
            data.verifiableCredential,
            known=known,
            challenge=options.challenge,
            domain=options.domain,
        )
        return vcapi.report_body(vcapi.select_checks(result.report, options.checks))

    return await _verified(request, ctx, verify)


@router.post("/presentations/verify")
async def verify_presentation(
    data: VerifyPresentationRequest,
    request: Request,
    ctx: ContextDep,
    _caller: OptionalPrincipalDep,
) -> JSONResponse:
    """Verify a presentation (signed or not) and every credential in it: 200 when it all
    verifies, 422 with the same answer when not.

    Each credential gets exactly the checks ``POST /credentials/verify`` gives it (the
    same pipeline and known issuers, deliverable digests included).
    """
    options = vcapi.verify_options(data.options, presentation=True)
    vcapi.check_presentation_size(data.verifiablePresentation)

    def verify(known: dict[str, KnownIssuer]) -> dict[str, Any]:
        body = vcapi.verify_presentation(
            ctx,
            data.verifiablePresentation,
            known=known,
            challenge=options.challenge,
            domain=options.domain,
            checks=options.checks,
        )
        if options.return_presentation:
            # "If true, then the verified presentation MUST be returned" (VC-API,
            # VerifyPresentationOptions.returnPresentation); otherwise it MUST NOT be.
            body["presentation"] = data.verifiablePresentation
        return body

    return await _verified(request, ctx, verify)


#: The lifecycle change each ``credentialStatus`` item's ``status`` asks for.
STATUS_CHANGES = {
    "revoked": lifecycle.revoke,
    "suspended": lifecycle.suspend,
    "unsuspended": lifecycle.unsuspend,
}


@router.post("/credentials/status")
def update_status(
    data: StatusRequest, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> dict[str, Any]:
    """Set a credential's status: ``revoked`` (permanent), ``suspended`` or ``unsuspended``."""
    row_id = vcapi.row_id_of(ctx, {"id": data.credentialId})
    row = lifecycle.own_credential(session, who.issuer, row_id)
    for item in data.credentialStatus:
        change = STATUS_CHANGES[item.status]
        change(session, ctx, who.issuer, row.id, reason=data.reason, actor=who.actor)
    return {"credentialId": data.credentialId, **lifecycle.state(session, ctx, row).as_dict()}
