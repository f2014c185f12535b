"""Core fixtures: a realistic, unsigned micro-internship OpenBadgeCredential."""

from __future__ import annotations

import json
from typing import Any

import pytest

from badgeworks.core import credential as c
from badgeworks.core.identity import identity_object

ISSUER_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
STATUS_LIST = "https://badges.example.org/status/1"

#: The deliverables' bytes: their digests are pinned in relatedResource.
DELIVERABLES = {
    "https://files.example.org/interns/42/report-v3.pdf": b"%PDF-1.7 final report of the pilot",
    "https://files.example.org/interns/42/prototype-v1.2.zip": b"PK\x03\x04 prototype source",
    "https://files.example.org/interns/42/survey-2026.csv": b"respondent,score\n1,4\n2,5\n",
}


def build_ob3_credential(issuer_id: str = ISSUER_DID) -> dict[str, Any]:
    """A micro-internship badge exercising most of the OB 3.0 data model."""
    report, prototype, dataset = DELIVERABLES
    host = c.profile(
        id="https://acme-robotics.example.com",
        name="Acme Robotics",
        url="https://acme-robotics.example.com",
    )
    issuer = c.profile(
        id=issuer_id,
        name="Riverside Micro-Internships",
        url="https://badges.example.org",
        email="badges@example.org",
        image=c.image(id="https://badges.example.org/logo.png", caption="Riverside logo"),
    )
    rubric = c.result_description(
        id="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a01",
        name="Mentor assessment",
        result_type="RubricCriterionLevel",
        required_level="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a03",
        rubric_criterion_level=[
            c.rubric_criterion_level(
                id="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a02",
                name="Developing",
                level="1",
                points="1",
            ),
            c.rubric_criterion_level(
                id="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a03",
                name="Proficient",
                description="Delivered a working prototype with documentation.",
                level="2",
                points="2",
            ),
            c.rubric_criterion_level(
                id="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a04",
                name="Exemplary",
                level="3",
                points="3",
            ),
        ],
    )
    status = c.result_description(
        id="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a05",
        name="Internship status",
        result_type="Status",
    )
    achievement = c.achievement(
        id="https://badges.example.org/achievements/robotics-data-internship",
        name="Robotics Data Micro-Internship",
        description="Four-week micro-internship analysing sensor data for a robotics firm.",
        criteria_narrative="Deliver a report, a working prototype and a cleaned dataset, "
        "reviewed by the host mentor.",
        criteria_id="https://badges.example.org/achievements/robotics-data-internship/criteria",
        achievement_type="Fieldwork",
        image=c.image(
            id="https://badges.example.org/achievements/robotics-data-internship.png",
            caption="Robotics Data Micro-Internship badge",
        ),
        alignment=[
            c.alignment(
                target_name="Data analysis",
                target_url="https://skills.example.org/competencies/data-analysis",
                target_framework="Example Skills Framework",
                target_code="DA-2",
                target_type="ceasn:Competency",
            ),
            c.alignment(
                target_name="Prototyping",
                target_url="https://skills.example.org/competencies/prototyping",
                target_framework="Example Skills Framework",
                target_type="CFItem",
            ),
        ],
        result_description=[rubric, status],
        tag=["robotics", "data", "internship"],
        in_language="en",
        creator=host,
    )
    subject = c.achievement_subject(
        identifier=[identity_object("intern@example.com", salt="s4lt-2026")],
        achievement=achievement,
        role="Intern",
        source=host,
        activity_start_date="2026-09-01T00:00:00Z",
        activity_end_date="2026-09-26T00:00:00Z",
        result=[
            c.result(
                result_description=rubric["id"],
                achieved_level="urn:uuid:6b1f3e3e-4f4b-4a53-9a0e-6f6f2c1d0a03",
            ),
            c.result(result_description=status["id"], status="Completed"),
        ],
    )
    evidence = [
        c.evidence(id=report, name="Final report", genre="Report", audience="Host company"),
        c.evidence(id=prototype, name="Prototype", description="Source of the prototype."),
        c.evidence(id=dataset, name="Cleaned dataset", genre="Dataset"),
    ]
    related = [
        c.related_resource(
            id=url,
            digest_multibase=c.digest_multibase(data),
            media_type=media,
        )
        for (url, data), media in zip(
            DELIVERABLES.items(), ("application/pdf", "application/zip", "text/csv"), strict=True
        )
    ]
    # A JSON round trip, so the host Profile used as creator and source is not one shared
    # object (deepcopy would keep the sharing).
    return json.loads(
        json.dumps(
            c.achievement_credential(
                id="urn:uuid:0c9a1c1e-5d1b-4f55-8a57-3a3e1b9c2f10",
                issuer=issuer,
                valid_from="2026-10-01T09:00:00Z",
                valid_until="2031-10-01T09:00:00Z",
                awarded_date="2026-10-01T09:00:00Z",
                name="Robotics Data Micro-Internship",
                description="Awarded for completing the Acme Robotics micro-internship.",
                image=c.image(id="https://badges.example.org/credentials/42.png", caption="Badge"),
                subject=subject,
                evidence=evidence,
                related_resource=related,
                credential_status=c.bitstring_status_list_entry(list_url=STATUS_LIST, index=94567),
            )
        )
    )


@pytest.fixture
def ob3_credential() -> dict[str, Any]:
    """An unsigned, valid OpenBadgeCredential issued by ``ISSUER_DID`` (a fresh copy)."""
    return build_ob3_credential()
