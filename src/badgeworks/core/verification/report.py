"""The verification report: what every verification returns and every front end shows.

A report is a list of checks. Each check names what was looked at (``check``), how it
came out (``outcome``), a stable machine-readable ``code`` (listed in
docs/verification.md) and a plain-English ``message`` written for a non-specialist,
for example an employer looking at an intern's badge.

A check that could not run (a key server that timed out, a database that did not answer,
a revocation list that could not be fetched) is ``indeterminate``, never ``fail``: it
says nothing about the credential, so the verdict is ``could_not_verify`` ("try again"),
not ``not_verified`` (which a reader takes to mean altered or forged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "fail", "warning", "skipped", "indeterminate"]
Verdict = Literal["verified", "verified_with_warnings", "not_verified", "could_not_verify"]

#: Codes that mean "we could not look", not "what we looked at is wrong": the network,
#: the database or a time limit failed us. A failed check with one of these codes is
#: reported as ``indeterminate`` (see ``could_not_check``).
UNAVAILABLE_CODES = frozenset(
    {
        "fetch.timeout",
        "fetch.unreachable",
        "fetch.http_error",
        "fetch.budget_exceeded",
        "did.unavailable",
        "did.web_unreachable",
        "endorsement.unchecked",
        "status.unavailable",
        "internal.unavailable",
        "verify.busy",
    }
)


@dataclass(frozen=True)
class Check:
    """One finding: ``check`` is the area (``proof``, ``status``…), ``code`` is stable."""

    check: str
    outcome: Outcome
    code: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape; ``detail`` appears only when it holds something."""
        out: dict[str, Any] = {
            "check": self.check,
            "outcome": self.outcome,
            "code": self.code,
            "message": self.message,
        }
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class Report:
    """The result of verifying one document. ``verified`` is true iff no check failed."""

    checks: tuple[Check, ...]

    def __init__(self, checks: Iterable[Check]) -> None:
        object.__setattr__(self, "checks", tuple(checks))

    @property
    def verified(self) -> bool:
        """True when every check that ran passed or warned (and at least nothing failed or
        could not run); warnings and skipped checks do not fail a report."""
        return not any(c.outcome in ("fail", "indeterminate") for c in self.checks)

    @property
    def verdict(self) -> Verdict:
        """The one-word summary a front end shows first."""
        return verdict(self.checks)

    def failures(self) -> list[Check]:
        """The failed checks, in report order."""
        return [c for c in self.checks if c.outcome == "fail"]

    def unchecked(self) -> list[Check]:
        """The checks that could not run (``indeterminate``), in report order."""
        return [c for c in self.checks if c.outcome == "indeterminate"]

    def warnings(self) -> list[Check]:
        """The warnings, in report order."""
        return [c for c in self.checks if c.outcome == "warning"]

    def as_dict(self) -> dict[str, Any]:
        """``{"verified": bool, "checks": [...]}``: the shape the API and ``--json`` print."""
        return {"verified": self.verified, "checks": [c.as_dict() for c in self.checks]}


def verdict(checks: Iterable[Check]) -> Verdict:
    """``not_verified`` if any check failed, else ``could_not_verify`` if any could not
    run, else ``verified_with_warnings`` if any warned, else ``verified``.

    A definite failure wins over a check that could not run: what was seen to be wrong
    stays wrong whatever the missing check would have said.
    """
    outcomes = {c.outcome for c in checks}
    if "fail" in outcomes:
        return "not_verified"
    if "indeterminate" in outcomes:
        return "could_not_verify"
    if "warning" in outcomes:
        return "verified_with_warnings"
    return "verified"


VERDICT_TEXT: dict[Verdict, str] = {
    "verified": "Verified: every check passed.",
    "verified_with_warnings": "Verified, with warnings: nothing failed, but read the notes below.",
    "not_verified": "Not verified: at least one check failed.",
    "could_not_verify": "Could not be verified right now: a check could not be completed "
    "(a server did not answer in time). This says nothing against the credential; try again.",
}


def could_not_check(check: Check) -> Check:
    """``check`` as ``indeterminate`` when it failed only because we could not look.

    The message says plainly that the check could not be completed and that trying again
    may work; the original reason and code are kept.
    """
    if check.outcome != "fail" or check.code not in UNAVAILABLE_CODES:
        return check
    what = _UNCHECKED_AREA.get(check.check, "One of the checks")
    return Check(
        check.check,
        "indeterminate",
        check.code,
        f"{what} could not be completed right now, so this credential could not be "
        f"verified: this says nothing against it; try again later. ({check.message})",
        check.detail,
    )


def internal_error(stage: str, exc: BaseException) -> Check:
    """The one rule for a stage that crashed: an ``indeterminate`` ``internal.error`` check.

    A crash is a check that could not run, so it says nothing against the credential
    (the verdict is ``could_not_verify``); the other stages still run. The message names
    the exception's type only: its text may quote internals, and reports are public.
    """
    return Check(
        "internal",
        "indeterminate",
        "internal.error",
        f"The {stage} check could not be completed because of an internal error "
        f"({type(exc).__name__}).",
        {"stage": stage},
    )


_UNCHECKED_AREA = {
    "proof": "The signature check",
    "issuer": "The issuer check",
    "status": "The revocation check",
    "endorsement": "An endorsement check",
    "deliverable": "A deliverable check",
    "internal": "Verification",
}


def proof_detail(proof: Any) -> dict[str, str]:
    """What a proof check shows of its proof: type, suite, key and date, when they are text."""
    if not isinstance(proof, Mapping):
        return {}
    return {
        k: proof[k]
        for k in ("type", "cryptosuite", "verificationMethod", "created")
        if isinstance(proof.get(k), str)
    }
