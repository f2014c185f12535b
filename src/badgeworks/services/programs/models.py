"""Request and response models of the program API: issuers, achievements and their language
editions, candidates, projects and deliverables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from badgeworks.core.cryptosuites import DEFAULT_CRYPTOSUITE, SIGNING_CRYPTOSUITES
from badgeworks.core.structure import RESULT_TYPES
from badgeworks.services.models import (
    DbId,
    Did,
    Email,
    HttpUrl,
    Key,
    Name,
    Short,
    Slug,
    Strict,
    Text,
    Title,
)

#: OB 3.0 ResultType enumeration (plus ``ext:`` extensions).
ResultType = Annotated[
    str,
    StringConstraints(pattern=r"^(?:" + "|".join(sorted(RESULT_TYPES)) + r"|ext:[A-Za-z0-9_.-]+)$"),
]
ResultStatus = Literal[
    "Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"
]


# ----------------------------------------------------------------------------- issuers

#: An issuer's cryptosuite as a request gives it. Any string up to 64 characters passes
#: here; the service refuses one it cannot sign with (``issuer.cryptosuite_unsupported``,
#: with the choices), so the answer names the setting instead of a schema rule.
Cryptosuite = Annotated[
    str,
    StringConstraints(max_length=64),
    Field(
        description="The Data Integrity cryptosuite new proofs are made with: "
        + " or ".join(SIGNING_CRYPTOSUITES)
        + f" (default {DEFAULT_CRYPTOSUITE}). Credentials already signed keep theirs.",
        json_schema_extra={"enum": list(SIGNING_CRYPTOSUITES)},
    ),
]


# An organization's name and contact fields: an issuer's, or a project's host's.
class Organization(Strict):
    name: Name
    url: HttpUrl | None = None
    email: Email | None = None
    description: Text | None = None


#: Whether new credentials name the candidate (docs/credentials.md, "Who a credential is about").
NameInCredentials = Annotated[
    bool,
    Field(
        strict=True,
        description="Whether new credentials carry the candidate's name (a plain OB 3.0 "
        "IdentityObject, identityType name) beside the salted email hashes; false keeps "
        "them to the hashes only. Credentials already issued keep what they say.",
    ),
]


class IssuerCreate(Organization):
    slug: Slug
    did_method: Literal["web", "key"] = "web"
    cryptosuite: Cryptosuite = DEFAULT_CRYPTOSUITE
    name_in_credentials: NameInCredentials = True

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "slug": "acme-academy",
                    "name": "Acme Academy",
                    "url": "https://acme.example",
                    "email": "badges@acme.example",
                    "description": "Runs mentored micro-internships.",
                }
            ]
        },
    )


class IssuerUpdate(Strict):
    name: Name | None = None
    url: HttpUrl | None = None
    email: Email | None = None
    description: Text | None = None
    cryptosuite: Cryptosuite | None = None
    name_in_credentials: NameInCredentials | None = None


class KeyPublic(BaseModel):
    id: str
    public_key_multibase: str
    created_at: datetime
    retired_at: datetime | None


class IssuerPublic(BaseModel):
    slug: str
    name: str
    url: str | None
    email: str | None
    description: str | None
    did: str
    did_method: str
    cryptosuite: str
    name_in_credentials: bool
    did_document_url: str | None
    image_url: str | None
    keys: list[KeyPublic]
    created_at: datetime


# ----------------------------------------------------------------------------- achievements


class AlignmentIn(Strict):
    target_name: Name
    target_url: HttpUrl
    target_framework: Name | None = None
    target_code: Short | None = None


class RubricLevelIn(Strict):
    key: Key
    name: Name
    description: Text | None = None
    level: Short | None = None
    points: Annotated[str, StringConstraints(max_length=20)] | None = None


class ResultDescriptionIn(Strict):
    key: Key
    name: Name
    result_type: ResultType = "RubricCriterionLevel"
    levels: list[RubricLevelIn] = Field(default_factory=list, max_length=20)


#: The longest default validity an achievement may set (about a hundred years).
MAX_VALIDITY_DAYS = 36500
ValidityDays = Annotated[
    int,
    Field(
        ge=1,
        le=MAX_VALIDITY_DAYS,
        strict=True,
        description="Credentials issued with this achievement get validUntil = validFrom + "
        "this many days (for example 730 for two years); null: they do not expire.",
    ),
]


AchievementType = Annotated[
    str, StringConstraints(pattern=r"^(?:[A-Z][A-Za-z]+|ext:[A-Za-z0-9_.-]+)$")
]
_LANGUAGE_TAG = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
#: A BCP 47 language tag (``in_language``).
Language = Annotated[str, StringConstraints(pattern=_LANGUAGE_TAG)]


class AchievementCreate(Strict):
    name: Name
    description: Text
    criteria_narrative: Text | None = None
    achievement_type: AchievementType = "Fieldwork"
    alignments: list[AlignmentIn] = Field(default_factory=list, max_length=50)
    result_descriptions: list[ResultDescriptionIn] = Field(default_factory=list, max_length=20)
    tags: list[Short] = Field(default_factory=list, max_length=50)
    in_language: Language | None = None
    default_validity_days: ValidityDays | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Data Analysis Micro-internship",
                    "description": "Completed a four-week mentored data analysis project.",
                    "criteria_narrative": "Delivered a cleaned dataset and a report.",
                    "alignments": [
                        {
                            "target_name": "Data analysis",
                            "target_url": "https://esco.example/skill/data-analysis",
                            "target_framework": "ESCO",
                            "target_code": "S1.2",
                        }
                    ],
                    "result_descriptions": [
                        {
                            "key": "quality",
                            "name": "Quality of work",
                            "levels": [
                                {"key": "meets", "name": "Meets expectations"},
                                {"key": "exceeds", "name": "Exceeds expectations"},
                            ],
                        }
                    ],
                    "tags": ["data"],
                    "in_language": "en",
                    "default_validity_days": 730,
                }
            ]
        },
    )


class AchievementUpdate(Strict):
    name: Name | None = None
    description: Text | None = None
    criteria_narrative: Text | None = None
    achievement_type: AchievementType | None = None
    alignments: list[AlignmentIn] | None = Field(default=None, max_length=50)
    result_descriptions: list[ResultDescriptionIn] | None = Field(default=None, max_length=20)
    tags: list[Short] | None = Field(default=None, max_length=50)
    in_language: Language | None = None
    #: ``null`` removes the default validity; leaving the field out keeps it.
    default_validity_days: ValidityDays | None = None


class AchievementPublic(BaseModel):
    id: int
    issuer: str
    version: int
    achievement_url: str = Field(description="The OB Achievement id of this version.")
    name: str
    description: str
    criteria_narrative: str | None
    achievement_type: str
    image_url: str | None
    image_caption: str | None
    alignments: list[dict[str, Any]]
    result_descriptions: list[dict[str, Any]]
    tags: list[str]
    in_language: str | None
    default_validity_days: int | None = Field(
        description="Days from validFrom to validUntil in credentials issued with this "
        "version; null: they do not expire."
    )
    issued: bool = Field(description="True once a credential used this version.")
    created_at: datetime
    editions: list[str] = Field(
        default_factory=list,
        description="The languages (BCP 47) of this version's language editions; see "
        "PUT /api/v1/achievements/{id}/editions/{lang}.",
    )


# ----------------------------------------------------------------------------- editions

#: A BCP 47 language tag as ``in_language`` accepts it (the service canonicalises its case).
LanguageTag = Annotated[str, StringConstraints(pattern=_LANGUAGE_TAG, max_length=35)]
Caption = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class EditionResultNames(Strict):
    """The translated name of one rubric criterion and of its levels (by their keys)."""

    name: Name | None = None
    levels: dict[Key, Name] = Field(default_factory=dict, max_length=20)


class AchievementEditionPut(Strict):
    """A language edition of an achievement version: its text in another language.

    ``result_names`` is keyed by the ``key`` of each result description (and, inside,
    of each level); keys the version does not have are refused.
    """

    name: Name
    description: Text
    criteria_narrative: Text | None = None
    image_caption: Caption | None = None
    result_names: dict[Key, EditionResultNames] = Field(default_factory=dict, max_length=20)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Micropasantía de análisis de datos",
                    "description": "Completó un proyecto de análisis de datos de cuatro "
                    "semanas con mentoría.",
                    "criteria_narrative": "Entregó un conjunto de datos depurado y un informe.",
                    "image_caption": "Un disco verde azulado: la insignia de análisis de datos",
                    "result_names": {
                        "quality": {
                            "name": "Calidad del trabajo",
                            "levels": {
                                "meets": "Cumple las expectativas",
                                "exceeds": "Supera las expectativas",
                            },
                        }
                    },
                }
            ]
        },
    )


class AchievementEditionPublic(BaseModel):
    achievement_id: int
    version: int = Field(description="The achievement version this edition translates.")
    lang: str = Field(description="BCP 47 language tag (canonical case).")
    url: str = Field(
        description="The edition's IRI: its OB 3.0 Achievement JSON once the version was "
        "issued, and the id of the Related entry credentials carry."
    )
    original_lang: str | None = Field(description="The version's own inLanguage.")
    name: str
    description: str
    criteria_narrative: str | None
    image_caption: str | None
    result_names: dict[str, Any]
    created_at: datetime
    updated_at: datetime


# ----------------------------------------------------------------------------- candidates


class CandidateCreate(Strict):
    name: Name
    emails: list[Email] = Field(default_factory=list, max_length=10)
    did: Did | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ada Lovelace", "emails": ["ada@example.org"]}]},
    )


class CandidateUpdate(Strict):
    name: Name | None = None
    emails: list[Email] | None = Field(default=None, max_length=10)
    did: Did | None = None


class CandidatePublic(BaseModel):
    id: int
    issuer: str
    name: str
    emails: list[str]
    did: str | None
    created_at: datetime


# ----------------------------------------------------------------------------- projects


class HostOrganization(Organization):
    pass


class Mentor(Strict):
    name: Name
    email: Email | None = None
    organization: Name | None = None
    title: Name | None = None


class ResultIn(Strict):
    result_description: Key
    achieved_level: Key | None = None
    value: Annotated[str, StringConstraints(max_length=100)] | None = None
    status: ResultStatus | None = None


class ProjectCreate(Strict):
    achievement_id: DbId
    candidate_id: DbId
    title: Title
    summary: Text | None = None
    host: HostOrganization
    role: Short = "Intern"
    start_date: date | None = None
    end_date: date | None = None
    mentors: list[Mentor] = Field(default_factory=list, max_length=10)
    results: list[ResultIn] = Field(default_factory=list, max_length=20)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "achievement_id": 1,
                    "candidate_id": 1,
                    "title": "Churn analysis for a regional retailer",
                    "summary": "Cleaned two years of sales data and modelled churn.",
                    "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
                    "role": "Intern",
                    "start_date": "2025-03-03",
                    "end_date": "2025-03-28",
                    "mentors": [{"name": "Grace Hopper", "title": "Lead analyst"}],
                    "results": [{"result_description": "quality", "achieved_level": "exceeds"}],
                }
            ]
        },
    )


class ProjectUpdate(Strict):
    achievement_id: DbId | None = None
    candidate_id: DbId | None = None
    title: Title | None = None
    summary: Text | None = None
    host: HostOrganization | None = None
    role: Short | None = None
    start_date: date | None = None
    end_date: date | None = None
    mentors: list[Mentor] | None = Field(default=None, max_length=10)
    results: list[ResultIn] | None = Field(default=None, max_length=20)


class DeliverableLinkCreate(Strict):
    name: Title
    url: HttpUrl
    description: Text | None = None
    genre: Short | None = None


class DeliverablePublic(BaseModel):
    id: int
    name: str
    description: str | None
    genre: str | None
    url: str = Field(description="Where the deliverable is: our blob URL or the given link.")
    sha256: str | None
    size: int | None
    media_type: str | None
    filename: str | None


class ProjectPublic(BaseModel):
    id: int
    issuer: str
    achievement_id: DbId
    candidate_id: DbId
    title: str
    summary: str | None
    host: dict[str, Any]
    role: str
    start_date: date | None
    end_date: date | None
    mentors: list[dict[str, Any]]
    results: list[dict[str, Any]]
    status: str
    completed_at: datetime | None
    credential_id: str | None
    deliverables: list[DeliverablePublic]
    created_at: datetime
