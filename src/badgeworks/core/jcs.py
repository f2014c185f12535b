"""The JSON Canonicalization Scheme (RFC 8785), as the ``eddsa-jcs-2022`` cryptosuite uses it.

The serialization itself comes from the ``rfc8785`` package (Trail of Bits); this module
only turns its refusals into a ``ProofError`` with a stable code. RFC 8785 §3.2.2.3 limits
numbers to what an IEEE 754 double holds exactly (integers within ±(2**53 - 1), no NaN or
infinities), and §3.1 requires valid Unicode, so a document outside that domain cannot be
signed or verified with JCS at all: it is refused, never approximated.
"""

from __future__ import annotations

from typing import Any

import rfc8785

from .errors import ProofError


def canonicalize_jcs(value: Any) -> str:
    """``value`` (parsed JSON) as its RFC 8785 canonical text.

    Raises ``ProofError`` (``proof.jcs_unsupported``) for a value RFC 8785 cannot
    represent: an integer beyond ±(2**53 - 1), NaN or infinity, a lone surrogate, a key
    that is not a string.
    """
    try:
        return rfc8785.dumps(value).decode("utf-8")
    except rfc8785.CanonicalizationError as exc:
        raise ProofError(
            f"the document cannot be canonicalized with JCS (RFC 8785): {exc}",
            code="proof.jcs_unsupported",
        ) from None
