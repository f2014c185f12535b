"""What a signed credential says, read once for people to see.

The credential page, the portfolio, the PDF certificate, the baked badges and the public
verifier all read a signed OB 3.0 credential through ``read_credential``, so they show
the same facts, cut to the same lengths, and every link and image they put in a page has
passed the same checks. Everything in the view is a claim of the credential: whether the
credential verifies is the report's business, not this module's.

The reader never raises: a value of the wrong JSON type is read as absent, a list as its
first ``MAX_*`` items, a text as its first ``*_MAX`` characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from badgeworks.core.credential import parse_xsd_datetime
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.identity import plain_name
from badgeworks.core.values import as_list, types_of

#: Descriptions, criteria and comments: the longest text our own issuing accepts.
TEXT_MAX = 20_000
#: Names and titles (people, programs, achievements, deliverables, results).
NAME_MAX = 300
#: Image alt text: the longest caption our own issuing accepts.
CAPTION_MAX = 500
#: Types, genres, codes, media types and language tags.
SHORT_MAX = 100
#: Dates as written in the credential.
DATE_MAX = 60
#: Addresses put in an ``href`` or ``src``.
URL_MAX = 2048
#: A ``data:`` image (base64) shown inline.
DATA_IMAGE_MAX = 3_000_000

MAX_TYPES = 10
MAX_TAGS = 50
MAX_ALIGNMENTS = 100
MAX_RESULTS = 100
MAX_EVIDENCE = 200
MAX_ENDORSEMENTS = 50
MAX_PROOFS = 20
MAX_RELATED = 50

#: The name shown for a credential that names neither itself nor its achievement.
DEFAULT_NAME = "Open Badge"

# No whitespace, quotes or angle brackets anywhere in an address we put in a page.
_LINK = re.compile(r"https?://[^\s\"'<>]+")
# Raster images only: an SVG may carry script.
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+")


# ------------------------------------------------------------------------------ values


def text(value: Any, limit: int = TEXT_MAX) -> str | None:
    """A non-blank string cut to ``limit``; of a language map, its first such value."""
    if isinstance(value, str):
        return value[:limit] if value.strip() else None
    if isinstance(value, Mapping):
        for item in value.values():
            if isinstance(item, str) and item.strip():
                return item[:limit]
    return None


def safe_link(value: Any) -> str | None:
    """``value`` if it is an http(s) URL we may put in an ``href``, else None."""
    if isinstance(value, str) and len(value) <= URL_MAX and _LINK.fullmatch(value):
        return value
    return None


def safe_image(value: Any, *, own_origin: str | None = None) -> str | None:
    """An image source a page may show, else None.

    What the pages' ``img-src`` allows: an ``https:`` URL, a ``data:`` URL of a raster
    image (never SVG, which may carry script), or a URL under ``own_origin`` (this
    service's own files, which a development server serves over plain http). An image
    object (``{"id": …, "caption": …}``) is read by its ``id``.
    """
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str):
        return None
    if value.startswith("https://") and safe_link(value):
        return value
    if own_origin and value.startswith(own_origin.rstrip("/") + "/") and safe_link(value):
        return value
    if len(value) <= DATA_IMAGE_MAX and _DATA_IMAGE.fullmatch(value):
        return value
    return None


def when(value: Any) -> datetime | None:
    """An XML Schema ``dateTime`` as an aware datetime, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return parse_xsd_datetime(value)
    except (BadgeworksError, ValueError):
        return None


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any, limit: int) -> list[Mapping[str, Any]]:
    return [item for item in as_list(value) if isinstance(item, Mapping)][:limit]


# ------------------------------------------------------------------------------ the view


@dataclass(frozen=True)
class ProfileView:
    """Who issued (or endorsed): the profile as the credential names it."""

    id: str | None
    name: str | None
    url: str | None
    image: str | None
    #: A person's title, or what an organisation is (``description``).
    description: str | None = None
    #: The organisation a person acts for (``parentOrg``).
    organization: str | None = None
    organization_url: str | None = None


@dataclass(frozen=True)
class ImageView:
    """The achievement's image: its address if a page may show it, and its alt text."""

    url: str | None
    caption: str | None


@dataclass(frozen=True)
class AlignmentView:
    """A skill or framework the achievement aligns to (``alignment``)."""

    name: str | None
    url: str | None
    framework: str | None
    code: str | None
    description: str | None


@dataclass(frozen=True)
class EditionLink:
    """Another language edition of the achievement (``related`` with ``inLanguage``)."""

    lang: str
    url: str


@dataclass(frozen=True)
class ResultView:
    """One result, with the rubric's names for it resolved from the achievement."""

    #: The ids as signed, so a translated rubric can be looked up by them.
    description_id: str | None
    level_id: str | None
    #: The ``resultDescription``'s name, and the achieved level's name and description.
    name: str | None
    level_name: str | None
    level_description: str | None
    value: str | None
    status: str | None

    @property
    def shown_value(self) -> str:
        """What a one-line summary shows: the level, else the value, else the status."""
        return self.level_name or self.value or self.status or ""


@dataclass(frozen=True)
class AchievementView:
    """The achievement the credential is about."""

    id: str | None
    name: str | None
    description: str | None
    criteria: str | None
    criteria_url: str | None
    image: ImageView | None
    type: str | None
    in_language: str | None
    tags: tuple[str, ...]
    alignments: tuple[AlignmentView, ...]
    other_languages: tuple[EditionLink, ...]


@dataclass(frozen=True)
class EvidenceView:
    """One deliverable (``evidence``) with its digest from ``relatedResource``."""

    id: str | None
    url: str | None
    name: str | None
    description: str | None
    genre: str | None
    media_type: str | None
    digest: str | None


@dataclass(frozen=True)
class SourceView:
    """The organisation that hosted the work (``credentialSubject.source``)."""

    name: str | None
    url: str | None


@dataclass(frozen=True)
class RecipientView:
    """Who earned it and what they did, as the subject says."""

    id: str | None
    role: str | None
    source: SourceView | None
    start: str | None
    end: str | None
    #: The name the issuer signed in (a plain ``name`` IdentityObject), if it did.
    name: str | None
    #: How many identifiers are hashed (a plain name is not counted).
    hashed_identifiers: int
    results: tuple[ResultView, ...]


@dataclass(frozen=True)
class EndorsementView:
    """One endorsement credential, as its endorser signed it."""

    id: str | None
    url: str | None
    name: str | None
    endorser: ProfileView
    comment: str | None
    valid_from: str | None
    #: What it endorses (``credentialSubject.id``).
    subject_id: str | None
    #: Its position among the credential's embedded endorsements (objects or not), which
    #: is the order the verifier reports them in.
    position: int = 0


@dataclass(frozen=True)
class ProofView:
    """One proof: its cryptosuite (or proof type) and verification method."""

    cryptosuite: str | None
    method: str | None


@dataclass(frozen=True)
class CredentialView:
    """What a signed credential says, for people (see the module docstring)."""

    id: str | None
    types: tuple[str, ...]
    #: The credential's own name, else its achievement's; None if neither is named.
    name: str | None
    description: str | None
    issuer: ProfileView
    achievement: AchievementView
    recipient: RecipientView
    evidence: tuple[EvidenceView, ...]
    #: ``validFrom`` / ``validUntil`` as written (VC 1.1: ``issuanceDate`` /
    #: ``expirationDate``), and read as datetimes (None when absent or not a date).
    valid_from: str | None
    valid_until: str | None
    issued: datetime | None
    expires: datetime | None
    #: Embedded endorsements: the credential's, then its achievement's (the issuer's own
    #: are about the program, not this badge). Entries that are not objects are skipped;
    #: ``embedded_endorsements`` counts them all.
    endorsements: tuple[EndorsementView, ...]
    embedded_endorsements: int
    proofs: tuple[ProofView, ...]

    @property
    def title(self) -> str:
        """The name to show, never empty."""
        return self.name or DEFAULT_NAME


# ------------------------------------------------------------------------------ reading


def read_profile(value: Any) -> ProfileView:
    """An issuer or endorser: a URL string or a Profile object."""
    profile = _mapping(value)
    parent = _mapping(profile.get("parentOrg"))
    return ProfileView(
        id=_id(value) if isinstance(value, str) else _id(profile.get("id")),
        name=text(profile.get("name"), NAME_MAX),
        url=safe_link(profile.get("url")),
        image=safe_image(profile.get("image")),
        description=text(profile.get("description")),
        organization=text(parent.get("name"), NAME_MAX),
        organization_url=safe_link(parent.get("url")),
    )


def read_endorsement(doc: Any, *, position: int = 0) -> EndorsementView:
    """One endorsement credential (embedded, or hosted on its own)."""
    endorsement = _mapping(doc)
    subject = _mapping(endorsement.get("credentialSubject"))
    return EndorsementView(
        id=_id(endorsement.get("id")),
        url=safe_link(endorsement.get("id")),
        name=text(endorsement.get("name"), NAME_MAX),
        endorser=read_profile(endorsement.get("issuer")),
        comment=text(subject.get("endorsementComment")),
        valid_from=text(endorsement.get("validFrom"), DATE_MAX),
        subject_id=_id(subject.get("id")),
        position=position,
    )


def _achievement(ach: Mapping[str, Any], own_origin: str | None) -> AchievementView:
    criteria = _mapping(ach.get("criteria"))
    image_raw = ach.get("image")
    image_url = safe_image(image_raw, own_origin=own_origin)
    caption = text(_mapping(image_raw).get("caption"), CAPTION_MAX)
    return AchievementView(
        id=_id(ach.get("id")),
        name=text(ach.get("name"), NAME_MAX),
        description=text(ach.get("description")),
        criteria=text(criteria.get("narrative")),
        criteria_url=safe_link(criteria.get("id")),
        image=ImageView(image_url, caption) if isinstance(image_raw, str | Mapping) else None,
        type=text(ach.get("achievementType"), SHORT_MAX),
        in_language=text(ach.get("inLanguage"), SHORT_MAX),
        tags=tuple(t[:NAME_MAX] for t in as_list(ach.get("tag")) if isinstance(t, str))[:MAX_TAGS],
        alignments=tuple(
            AlignmentView(
                name=text(a.get("targetName"), NAME_MAX),
                url=safe_link(a.get("targetUrl")),
                framework=text(a.get("targetFramework"), NAME_MAX),
                code=text(a.get("targetCode"), SHORT_MAX),
                description=text(a.get("targetDescription")),
            )
            for a in _mappings(ach.get("alignment"), MAX_ALIGNMENTS)
        ),
        other_languages=tuple(
            EditionLink(lang, url)
            for rel in _mappings(ach.get("related"), MAX_RELATED)
            if (lang := text(rel.get("inLanguage"), SHORT_MAX))
            and (url := safe_link(rel.get("id")))
        ),
    )


def _results(subject: Mapping[str, Any], ach: Mapping[str, Any]) -> tuple[ResultView, ...]:
    descriptions = {
        rd["id"]: rd for rd in _mappings(ach.get("resultDescription"), 1000) if _id(rd.get("id"))
    }
    out = []
    for result in _mappings(subject.get("result"), MAX_RESULTS):
        description_id = _id(result.get("resultDescription"))
        level_id = _id(result.get("achievedLevel"))
        rd = descriptions.get(description_id, {}) if description_id else {}
        levels = {
            lv["id"]: lv
            for lv in _mappings(rd.get("rubricCriterionLevel"), 1000)
            if _id(lv.get("id"))
        }
        level = levels.get(level_id, {}) if level_id else {}
        out.append(
            ResultView(
                description_id=description_id,
                level_id=level_id,
                name=text(rd.get("name"), NAME_MAX),
                level_name=text(level.get("name"), NAME_MAX),
                level_description=text(level.get("description")),
                value=text(result.get("value"), NAME_MAX),
                status=text(result.get("status"), SHORT_MAX),
            )
        )
    return tuple(out)


def _evidence(doc: Mapping[str, Any]) -> tuple[EvidenceView, ...]:
    related = {r["id"]: r for r in _mappings(doc.get("relatedResource"), 1000) if _id(r.get("id"))}
    out = []
    for item in _mappings(doc.get("evidence"), MAX_EVIDENCE):
        eid = _id(item.get("id"))
        resource = related.get(eid, {}) if eid else {}
        out.append(
            EvidenceView(
                id=eid,
                url=safe_link(eid),
                name=text(item.get("name"), NAME_MAX),
                description=text(item.get("description")),
                genre=text(item.get("genre"), SHORT_MAX),
                media_type=text(resource.get("mediaType"), SHORT_MAX),
                digest=text(resource.get("digestMultibase"), NAME_MAX),
            )
        )
    return tuple(out)


def _endorsements(
    doc: Mapping[str, Any], ach: Mapping[str, Any]
) -> tuple[tuple[EndorsementView, ...], int]:
    embedded = as_list(doc.get("endorsement")) + as_list(ach.get("endorsement"))
    views = tuple(
        read_endorsement(item, position=index)
        for index, item in enumerate(embedded)
        if isinstance(item, Mapping)
    )
    return views[:MAX_ENDORSEMENTS], len(embedded)


def read_credential(doc: Any, *, own_origin: str | None = None) -> CredentialView:
    """The view of a signed credential (any JSON value; never raises).

    ``own_origin`` is this service's base URL, whose own images a page may show over
    plain http (``safe_image``); the public verifier, which reads anyone's credential,
    passes none.
    """
    credential = _mapping(doc)
    subjects = _mappings(credential.get("credentialSubject"), 1)
    subject = subjects[0] if subjects else {}
    ach = _mapping(subject.get("achievement"))
    source = _mapping(subject.get("source"))
    achievement = _achievement(ach, own_origin)
    valid_from = text(credential.get("validFrom") or credential.get("issuanceDate"), DATE_MAX)
    valid_until = text(credential.get("validUntil") or credential.get("expirationDate"), DATE_MAX)
    endorsements, embedded = _endorsements(credential, ach)
    return CredentialView(
        id=_id(credential.get("id")),
        types=tuple(types_of(credential)[:MAX_TYPES]),
        name=text(credential.get("name"), NAME_MAX) or achievement.name,
        description=text(credential.get("description")),
        issuer=read_profile(credential.get("issuer")),
        achievement=achievement,
        recipient=RecipientView(
            id=_id(subject.get("id")),
            role=text(subject.get("role"), NAME_MAX),
            source=SourceView(text(source.get("name"), NAME_MAX), safe_link(source.get("url")))
            if source
            else None,
            start=text(subject.get("activityStartDate"), DATE_MAX),
            end=text(subject.get("activityEndDate"), DATE_MAX),
            name=text(plain_name(as_list(subject.get("identifier"))), NAME_MAX),
            hashed_identifiers=sum(
                1
                for entry in as_list(subject.get("identifier"))
                if not (isinstance(entry, Mapping) and entry.get("hashed") is False)
            ),
            results=_results(subject, ach),
        ),
        evidence=_evidence(credential),
        valid_from=valid_from,
        valid_until=valid_until,
        issued=when(valid_from),
        expires=when(valid_until),
        endorsements=endorsements,
        embedded_endorsements=embedded,
        proofs=tuple(
            ProofView(
                cryptosuite=text(p.get("cryptosuite"), SHORT_MAX) or text(p.get("type"), SHORT_MAX),
                method=text(p.get("verificationMethod"), URL_MAX),
            )
            for p in _mappings(credential.get("proof"), MAX_PROOFS)
        ),
    )
