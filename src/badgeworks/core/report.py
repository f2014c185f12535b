"""The verification report: what ``verify()`` returns and every front end shows.

A report is a list of checks. Each check names what was looked at (``check``), how it
came out (``outcome``), a stable machine-readable ``code`` (listed in
docs/verification.md) and a plain-English ``message`` written for a non-specialist,
for example an employer looking at an intern's badge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["pass", "fail", "warning", "skipped"]
Verdict = Literal["verified", "verified_with_warnings", "not_verified"]

OUTCOMES: tuple[Outcome, ...] = ("pass", "fail", "warning", "skipped")


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
        """True when no check failed (warnings and skipped checks do not fail a report)."""
        return not any(c.outcome == "fail" for c in self.checks)

    @property
    def verdict(self) -> Verdict:
        """The one-word summary a front end shows first."""
        return verdict(self.checks)

    def failures(self) -> list[Check]:
        """The failed checks, in report order."""
        return [c for c in self.checks if c.outcome == "fail"]

    def warnings(self) -> list[Check]:
        """The warnings, in report order."""
        return [c for c in self.checks if c.outcome == "warning"]

    def as_dict(self) -> dict[str, Any]:
        """``{"verified": bool, "checks": [...]}``: the shape the API and ``--json`` print."""
        return {"verified": self.verified, "checks": [c.as_dict() for c in self.checks]}


def verdict(checks: Iterable[Check]) -> Verdict:
    """``not_verified`` if any check failed, else ``verified_with_warnings`` if any warned."""
    outcomes = {c.outcome for c in checks}
    if "fail" in outcomes:
        return "not_verified"
    if "warning" in outcomes:
        return "verified_with_warnings"
    return "verified"


VERDICT_TEXT: dict[Verdict, str] = {
    "verified": "Verified: every check passed.",
    "verified_with_warnings": "Verified, with warnings: nothing failed, but read the notes below.",
    "not_verified": "Not verified: at least one check failed.",
}
