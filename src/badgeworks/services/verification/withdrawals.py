"""Why a credential we issued was revoked or suspended: the reason staff gave, in the report.

A status list says only that a credential is revoked or suspended. When the credential
verified is one this service hosts (its id is one of our credential URLs and it is,
byte for byte as JSON, the credential we stored), the verifier is ours and can read the
reason staff gave with the change, which is public (``services/lifecycle/changes.py``):
the ``status.revoked`` / ``status.suspended`` check then carries it, in its message and
in its ``detail`` (``reason``, ``since``, ``statusUrl``: the credential's public status,
``GET /credentials/{id}/status``).

The reason is written in the same transaction as the status list change, which moves
``hosted_version``, so a report kept under that version (``submitted``) stays right.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from badgeworks.core.verification.document import Verification
from badgeworks.core.verification.report import Check, Report
from badgeworks.db.engine import read_only_sessions
from badgeworks.db.models import Credential
from badgeworks.services.context import ServiceContext
from badgeworks.services.portfolio.standing import Standing, standing
from badgeworks.services.verification.resolver import scoped

#: The status checks a reason explains.
_WITHDRAWN = {"status.revoked": "revoked", "status.suspended": "suspended"}


def _hosted_standing(ctx: ServiceContext, credential: Any) -> Standing | None:
    """The standing of ``credential`` if it is one we host, else None."""
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str):
        return None
    prefix = f"{ctx.base_url}/credentials/"
    credential_id = credential["id"]
    if not credential_id.startswith(prefix) or ctx.session_factory is None:
        return None
    try:
        with scoped(read_only_sessions(ctx.session_factory))() as session:
            row = session.get(Credential, credential_id[len(prefix) :][:36])
            if row is None or json.loads(row.document) != credential:
                return None
            return standing(session, row)
    except (SQLAlchemyError, ValueError):
        # Without the reason the report still says revoked; nothing is lost but the why.
        return None


def with_reasons(ctx: ServiceContext, result: Verification) -> Verification:
    """``result`` with the issuer's reason on its revoked or suspended check, when the
    credential is ours and a reason was given."""
    checks = result.report.checks
    if not any(c.code in _WITHDRAWN and c.outcome == "fail" for c in checks):
        return result
    found = _hosted_standing(ctx, result.credential)
    if found is None or found.state is None:
        return result
    status_url = f"{result.credential['id']}/status" if result.credential else None
    explained: list[Check] = []
    for c in checks:
        if _WITHDRAWN.get(c.code) == found.state and c.outcome == "fail":
            detail: dict[str, Any] = {**c.detail, "statusUrl": status_url}
            if found.since is not None:
                detail["since"] = found.since.isoformat()
            message = c.message
            if found.reason:
                detail["reason"] = found.reason
                # A revocation reason code's message is already quoted from the list.
                if found.reason != c.detail.get("message"):
                    message = f'{message} The reason the issuer gave: "{found.reason:.500}".'
            c = Check(c.check, c.outcome, c.code, message, detail)
        explained.append(c)
    return replace(result, report=Report(explained))
