"""``core.reading``: one typed view of what a signed credential says, with one set of caps."""

from __future__ import annotations

from typing import Any

import pytest

from badgeworks.core import reading
from badgeworks.core.reading import read_credential, safe_image, safe_link

DOC: dict[str, Any] = {
    "id": "urn:uuid:1",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:example.edu", "name": "Example U", "url": "https://example.edu"},
    "validFrom": "2026-01-02T03:04:05Z",
    "validUntil": "2027-01-02T03:04:05Z",
    "credentialSubject": {
        "id": "did:key:zSubject",
        "role": "Analyst",
        "source": {"name": "Host Co", "url": "https://host.example"},
        "activityStartDate": "2025-09-01T00:00:00Z",
        "identifier": [{"identityHash": "sha256$x"}],
        "achievement": {
            "id": "https://example.edu/a/1",
            "name": "Data analysis",
            "description": "Analysed data.",
            "criteria": {"narrative": "Did it.", "id": "https://example.edu/c"},
            "image": {"id": "https://example.edu/i.png", "caption": "A disc"},
            "achievementType": "Competency",
            "inLanguage": "en",
            "tag": ["data", 5],
            "alignment": [{"targetName": "SQL", "targetUrl": "javascript:x"}],
            "related": [{"id": "https://example.edu/a/1/es", "inLanguage": "es"}],
            "resultDescription": [
                {
                    "id": "urn:rd",
                    "name": "Quality",
                    "rubricCriterionLevel": [{"id": "urn:lv", "name": "Exceeds"}],
                }
            ],
            "endorsement": [{"id": "https://e.example/1", "issuer": {"name": "Mentor"}}],
        },
        "result": [{"resultDescription": "urn:rd", "achievedLevel": "urn:lv"}],
    },
    "evidence": [{"id": "https://example.edu/blobs/abc", "name": "Report"}, "junk"],
    "relatedResource": [{"id": "https://example.edu/blobs/abc", "digestMultibase": "uEi"}],
    "endorsement": ["a JWT", {"id": "urn:e:2", "credentialSubject": {"id": "urn:uuid:1"}}],
    "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"},
}


def test_reads_every_fact_once() -> None:
    view = read_credential(DOC)
    assert view.title == "Data analysis" and view.issuer.name == "Example U"
    assert view.issued is not None and view.issued.year == 2026
    assert view.expires is not None and view.valid_until == "2027-01-02T03:04:05Z"
    ach = view.achievement
    assert ach.image == reading.ImageView("https://example.edu/i.png", "A disc")
    assert ach.tags == ("data",) and ach.alignments[0].url is None
    assert ach.other_languages == (reading.EditionLink("es", "https://example.edu/a/1/es"),)
    (result,) = view.recipient.results
    assert (result.name, result.shown_value) == ("Quality", "Exceeds")
    (evidence,) = view.evidence
    assert evidence.digest == "uEi" and evidence.url == evidence.id
    assert view.recipient.hashed_identifiers == 1
    assert view.recipient.source == reading.SourceView("Host Co", "https://host.example")
    # Embedded endorsements keep their positions among all of them, objects or not.
    assert [e.position for e in view.endorsements] == [1, 2]
    assert view.embedded_endorsements == 3
    assert view.proofs == (reading.ProofView("eddsa-rdfc-2022", None),)


@pytest.mark.parametrize("value", [None, 5, "text", [], {"credentialSubject": "x"}])
def test_never_raises(value: Any) -> None:
    view = read_credential(value)
    assert view.title == reading.DEFAULT_NAME and view.evidence == ()


def test_one_set_of_caps() -> None:
    long = {
        **DOC,
        "name": {"en": "n" * 1000},
        "description": "d" * 50_000,
        "evidence": [{"id": f"https://x.example/{i}"} for i in range(500)],
    }
    view = read_credential(long)
    assert view.name == "n" * reading.NAME_MAX
    assert view.description == "d" * reading.TEXT_MAX
    assert len(view.evidence) == reading.MAX_EVIDENCE


def test_links_and_images() -> None:
    assert safe_link("https://ok.example/a") == "https://ok.example/a"
    for bad in ("javascript:x", "https://a b", "https://a'b", "https://x\n", "h" * 3000, None):
        assert safe_link(bad) is None
    assert safe_image("http://img.example/b.png") is None
    own = "http://127.0.0.1:8000"
    assert safe_image(f"{own}/blobs/ab", own_origin=own) == f"{own}/blobs/ab"
    assert safe_image("http://127.0.0.1:8000.evil/x", own_origin=own) is None
    assert safe_image("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
    assert safe_image("data:image/svg+xml;base64,AAAA") is None
