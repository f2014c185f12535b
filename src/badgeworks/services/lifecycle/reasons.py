"""An issuer's revocation reasons: public reason codes written into its revocation lists.

An issuer may define an ordered list of reason codes, each with a short public message
(``2: "revoked: issued in error"``, ``3: "revoked: misconduct"`` …) and optionally a
``statusReference`` URL explaining them. Credentials it issues afterwards carry a
revocation ``BitstringStatusListEntry`` (W3C Bitstring Status List v1.0 §2.1) with
``statusSize`` = the bits the highest code needs and a ``statusMessage`` for every value:
0 is ``valid``, 1 a plain ``revoked`` (a revocation without a code, and a re-issue), each
code its own message, and any value no code uses ``revoked`` as well. Revoking such a
credential with a code writes that code at its index, so every verifier that reads
``statusSize`` reports the issuer's message.

The Open Badges 3.0 JSON Schema allows one ``credentialStatus`` object, so the reasons
ride on the revocation entry itself rather than on a second (``message``) entry.

Codes run from 2 to ``MAX_CODE`` (15: ``statusSize`` 4, 16 messages in each credential).
Credentials already issued keep the entry they were signed with; a credential's own
``statusMessage`` says which codes it can be revoked with (``codes_of``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from badgeworks.core.errors import StatusError
from badgeworks.core.status import (
    REVOKED_MESSAGE,
    VALID_MESSAGE,
    entry_reasons,
    reason_messages,
    size_for,
)
from badgeworks.core.values import as_list
from badgeworks.db.models import Credential, Issuer
from badgeworks.services.errors import ValidationFailed
from badgeworks.services.infra import audit

#: The highest reason code: ``statusSize`` 4, so each credential carries 16 messages.
MAX_CODE = 15
#: Codes start at 2: 0 is "valid" and 1 a plain "revoked".
FIRST_CODE = 2
MAX_REASONS = MAX_CODE - FIRST_CODE + 1
#: The longest message: it is written into every credential the issuer signs.
MAX_MESSAGE = 100
MAX_REFERENCE = 2000
#: Markup, and control or invisible formatting characters, have no place in a message
#: that verifiers show as the issuer's words.
_UNSAFE = re.compile(r"[<>\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_REFERENCE = re.compile(r"^https://[^\s/$.?#][^\s<>\"]*$")

#: What is wrong with a reason list, in English and Spanish, by kind (``{code}``,
#: ``{other}`` and ``{max}`` are filled in). The API answers the English sentence with
#: ``revocation_reasons.<kind>``; the console shows the visitor's language.
PROBLEMS: dict[str, tuple[str, str]] = {
    "too_many": (
        "There are too many reasons: give at most {max} (codes 2 to 15).",
        "Hay demasiados motivos: indique {max} como máximo (códigos del 2 al 15).",
    ),
    "code_range": (
        "Reason code {code} cannot be used: use whole numbers from 2 to 15 (0 means not "
        "revoked and 1 is a plain revocation).",
        "El código de motivo {code} no se puede usar: use números enteros del 2 al 15 (0 "
        "significa no revocada y 1 es una revocación sin motivo).",
    ),
    "code_twice": (
        "Reason code {code} is given twice; give each code once.",
        "El código de motivo {code} aparece dos veces; indique cada código una sola vez.",
    ),
    "message_empty": (
        "The message of reason code {code} is empty; write a few words.",
        "El mensaje del código de motivo {code} está vacío; escriba unas palabras.",
    ),
    "message_long": (
        "The message of reason code {code} is too long; shorten it to at most {max} characters.",
        "El mensaje del código de motivo {code} es demasiado largo; acórtelo a {max} "
        "caracteres como máximo.",
    ),
    "message_markup": (
        "The message of reason code {code} contains markup (< or >) or invisible control "
        "characters; write plain words.",
        "El mensaje del código de motivo {code} contiene marcas (< o >) o caracteres de "
        "control invisibles; escriba solo palabras.",
    ),
    "message_reserved": (
        "The message of reason code {code} is the same as a plain revocation's "
        '("revoked") or a valid credential\'s ("valid"); say why it was revoked.',
        "El mensaje del código de motivo {code} es el de una revocación sin motivo "
        '("revoked") o el de una credencial válida ("valid"); diga por qué se revocó.',
    ),
    "message_twice": (
        "Reason codes {other} and {code} have the same message; give each code its own words.",
        "Los códigos de motivo {other} y {code} tienen el mismo mensaje; dé a cada código "
        "sus propias palabras.",
    ),
    "reference": (
        "The address explaining the reasons must be an https:// web address of at most "
        "2,000 characters, without spaces.",
        "La dirección que explica los motivos debe ser una dirección web https:// de 2.000 "
        "caracteres como máximo, sin espacios.",
    ),
}


#: A console line that is not ``CODE: message``.
LINE_PROBLEM = (
    'Line {line} is not a reason code, a colon and its message, such as "2: revoked: issued '
    'in error".',
    'La línea {line} no es un código de motivo, dos puntos y su mensaje, como "2: revoked: '
    'issued in error".',
)


def line_problem(line: int, lang: str) -> str:
    """What is wrong with line ``line`` of the console's reasons box, in ``lang``."""
    return LINE_PROBLEM[1 if lang == "es" else 0].format(line=line)


class ReasonsRefused(ValidationFailed):
    """A reason list that cannot be used; ``kind`` and ``values`` give the words."""

    def __init__(self, kind: str, **values: Any) -> None:
        self.kind = kind
        self.values = values
        super().__init__(PROBLEMS[kind][0].format(**values), code=f"revocation_reasons.{kind}")

    def words(self, lang: str) -> str:
        """The problem in ``lang`` (``en`` or ``es``)."""
        return PROBLEMS[self.kind][1 if lang == "es" else 0].format(**self.values)


#: What is wrong with a revocation's reason code, in English and Spanish.
REVOKE_PROBLEMS: dict[str, tuple[str, str]] = {
    "unknown_reason_code": (
        "Reason code {code} is not one this credential can be revoked with; its codes are {codes}.",
        "El código de motivo {code} no es uno con el que se pueda revocar esta credencial; "
        "sus códigos son {codes}.",
    ),
    "reason_with_code": (
        "Choose a reason code or write a reason, not both: with a code, the public reason "
        "is the code's message.",
        "Elija un código de motivo o escriba un motivo, no ambos: con un código, el motivo "
        "público es el mensaje del código.",
    ),
}


class RevocationRefused(ValidationFailed):
    """A revocation's reason code that cannot be used; ``words`` says why in a language."""

    def __init__(self, kind: str, **values: Any) -> None:
        self.kind = kind
        self.values = values
        super().__init__(REVOKE_PROBLEMS[kind][0].format(**values), code=f"status.{kind}")

    def words(self, lang: str) -> str:
        """The problem in ``lang`` (``en`` or ``es``)."""
        return REVOKE_PROBLEMS[self.kind][1 if lang == "es" else 0].format(**self.values)


@dataclass(frozen=True)
class Reason:
    """One reason code and its public message."""

    code: int
    message: str


@dataclass(frozen=True)
class ReasonList:
    """An issuer's revocation reasons and the entry shape they give."""

    reasons: tuple[Reason, ...]
    reference: str | None

    @property
    def status_size(self) -> int:
        """The bits each new revocation entry holds (1 without reasons)."""
        return size_for(max((r.code for r in self.reasons), default=1))

    @property
    def messages(self) -> list[str] | None:
        """The ``statusMessage`` texts, value 0 up; None without reasons (a 1-bit entry)."""
        if not self.reasons:
            return None
        return reason_messages({r.code: r.message for r in self.reasons}, self.status_size)

    def as_dict(self) -> dict[str, Any]:
        """What the API answers."""
        messages = self.messages
        return {
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "reference": self.reference,
            "status_size": self.status_size,
            "status_message": (
                [{"status": hex(v), "message": m} for v, m in enumerate(messages)]
                if messages is not None
                else None
            ),
        }


def of(issuer: Issuer) -> ReasonList:
    """The issuer's current reason list (empty when it has none)."""
    raw = issuer.revocation_reasons
    reasons: list[Reason] = []
    if raw:
        try:
            stored = json.loads(raw)
        except ValueError:
            stored = []
        for item in stored if isinstance(stored, list) else []:
            if isinstance(item, dict):
                code, message = item.get("code"), item.get("message")
                if isinstance(code, int) and isinstance(message, str):
                    reasons.append(Reason(code, message))
    return ReasonList(tuple(reasons), issuer.revocation_reference if reasons else None)


def _message(code: int, raw: str) -> str:
    message = " ".join(raw.split())  # one space between words, none around them
    if not message:
        raise ReasonsRefused("message_empty", code=code)
    if len(message) > MAX_MESSAGE:
        raise ReasonsRefused("message_long", code=code, max=MAX_MESSAGE)
    if _UNSAFE.search(raw):
        raise ReasonsRefused("message_markup", code=code)
    if message.casefold() in (REVOKED_MESSAGE, VALID_MESSAGE):
        raise ReasonsRefused("message_reserved", code=code)
    return message


def checked(items: Sequence[Mapping[str, Any]], reference: str | None) -> ReasonList:
    """``items`` (``{"code", "message"}``) and ``reference`` as a ``ReasonList``, or
    ``ReasonsRefused`` naming the first problem. Listed in code order."""
    if len(items) > MAX_REASONS:
        raise ReasonsRefused("too_many", max=MAX_REASONS)
    reasons: dict[int, Reason] = {}
    said: dict[str, int] = {}
    for item in items:
        code = item.get("code")
        if (
            not isinstance(code, int)
            or isinstance(code, bool)
            or not FIRST_CODE <= code <= MAX_CODE
        ):
            raise ReasonsRefused("code_range", code=str(code)[:20])
        if code in reasons:
            raise ReasonsRefused("code_twice", code=code)
        message = _message(code, str(item.get("message", "")))
        if message.casefold() in said:
            raise ReasonsRefused("message_twice", code=code, other=said[message.casefold()])
        said[message.casefold()] = code
        reasons[code] = Reason(code, message)
    link = (reference or "").strip() or None
    if link is not None and (len(link) > MAX_REFERENCE or not _REFERENCE.match(link)):
        raise ReasonsRefused("reference")
    ordered = tuple(reasons[c] for c in sorted(reasons))
    return ReasonList(ordered, link if ordered else None)


def define(
    session: Session,
    issuer: Issuer,
    items: Sequence[Mapping[str, Any]],
    reference: str | None,
    *,
    actor: str,
    now: datetime,
) -> ReasonList:
    """Set (or, with no items, clear) the issuer's revocation reasons; committed.

    Credentials issued from now on carry entries of the new shape; those already signed
    keep theirs (they are stored verbatim).
    """
    listed = checked(items, reference)
    issuer.revocation_reasons = (
        json.dumps([{"code": r.code, "message": r.message} for r in listed.reasons])
        if listed.reasons
        else None
    )
    issuer.revocation_reference = listed.reference
    session.add(issuer)
    audit.commit(
        session,
        actor=actor,
        action="issuer.revocation_reasons",
        issuer_id=issuer.id,
        target=issuer.slug,
        detail=listed.as_dict(),
        now=now,
        refresh=[issuer],
    )
    return listed


def revocation_entry(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The signed credential's revocation ``BitstringStatusListEntry``, if it has one."""
    for entry in as_list(document.get("credentialStatus")):
        if isinstance(entry, Mapping) and entry.get("statusPurpose") == "revocation":
            return entry
    return None


def codes_of(row: Credential) -> dict[int, str]:
    """The codes ``row`` can be revoked with, and the message its signed entry gives each
    (value 1, plain ``revoked``, always)."""
    try:
        entry = revocation_entry(json.loads(row.document))
        return entry_reasons(entry)[1] if entry is not None else {1: REVOKED_MESSAGE}
    except (ValueError, StatusError, AttributeError):
        return {1: REVOKED_MESSAGE}
