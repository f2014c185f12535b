"""What counts as an email address here: one rule for staff, candidates, the verifier and the CLI.

Deliberately loose (RFC 5321 sizes, one ``@``, a dotted domain, no spaces, quotes or angle
brackets): the address is only ever compared, hashed or mailed to, never parsed further.
"""

from __future__ import annotations

import re

MAX_LENGTH = 320
_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@(?=[^@\s<>\"']{1,255}$)[^@\s<>\"'.]+(\.[^@\s<>\"'.]+)+$")


def looks_like_email(value: str) -> bool:
    """Whether ``value`` (already stripped) is shaped like ``name@example.org``."""
    return len(value) <= MAX_LENGTH and bool(_EMAIL.match(value))
