"""The bundled contexts are byte-for-byte the published ones, and the loader is strict."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from badgeworks.adapters.resources import default_loader, resource_dir
from badgeworks.core.errors import ContextError

CONTEXTS = resource_dir("contexts")


def _provenance_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in (CONTEXTS / "PROVENANCE.md").read_text("utf-8").splitlines():
        m = re.match(r"^\| (https?://\S+) \| (\S+) \| .* \| ([0-9a-f]{64}) \|$", line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3)))
    return rows


def test_every_indexed_context_has_provenance_and_matching_hash() -> None:
    index = json.loads((CONTEXTS / "index.json").read_text("utf-8"))
    rows = _provenance_rows()
    assert {url for url, _, _ in rows} == set(index)
    for url, file, digest in rows:
        assert index[url] == file
        actual = hashlib.sha256((CONTEXTS / file).read_bytes()).hexdigest()
        assert actual == digest, f"{file} was edited: sha256 {actual} != {digest}"


def test_loader_serves_exactly_the_bundled_urls() -> None:
    loader = default_loader()
    index = json.loads((CONTEXTS / "index.json").read_text("utf-8"))
    assert loader.urls == frozenset(index)
    for url in index:
        assert loader(url)["document"]["@context"]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.w3.org/ns/credentials/examples/v3",
        "https://evil.example/context.json",
        "http://127.0.0.1:5432/",
        "file:///etc/passwd",
        "did:web:example.com",
    ],
)
def test_unknown_context_urls_are_refused_with_a_code(url: str) -> None:
    with pytest.raises(ContextError) as info:
        default_loader().load_context(url)
    assert info.value.code == "context.not_allowed"


def test_did_key_resolves_without_network() -> None:
    did = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    vm = default_loader().load(did + "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert vm["type"] == "Multikey"
    assert vm["controller"] == did
    doc = default_loader().load(did)
    assert doc["assertionMethod"] == [vm["id"]]


def test_loader_gives_pyld_a_private_copy() -> None:
    loader = default_loader()
    url = "https://www.w3.org/ns/credentials/v2"
    loader(url)["document"]["@context"]["tampered"] = True
    assert "tampered" not in loader.load(url)["@context"]


def test_packaged_path_exists() -> None:
    assert Path(CONTEXTS, "index.json").is_file()


def test_context_loading_never_consults_resolvers() -> None:
    asked: list[str] = []

    def resolver(url: str) -> dict[str, object] | None:
        asked.append(url)
        return {"@context": {"x": "https://example.org/x"}}

    loader = default_loader().with_resolver(resolver)
    with pytest.raises(ContextError) as info:
        loader("https://unlisted.example/context.jsonld")
    assert info.value.code == "context.not_allowed"
    with pytest.raises(ContextError):
        loader.load_context("https://unlisted.example/context.jsonld")
    assert asked == []
    # Verification-method lookups still reach the resolver.
    assert loader.load("https://keys.example/key-1") == {"@context": {"x": "https://example.org/x"}}
    assert asked == ["https://keys.example/key-1"]


#: The contexts real issuers publish with, beyond those we issue with. Each row: URL, the
#: package it was taken from, and a term the context must define (what a credential using
#: it relies on).
PUBLISHED_BY_OTHERS = [
    # VC Data Model 2.0, section 4.3 (Contexts) and its examples: the example credentials
    # list https://www.w3.org/ns/credentials/examples/v2, whose "@vocab" gives their
    # example terms IRIs.
    ("https://www.w3.org/ns/credentials/examples/v2", "@vocab"),
    # W3C CCG VC Status List 2021 (StatusList2021Entry, StatusList2021Credential): the
    # status entries of credentials from DCC and many OB 3.0 issuers before Bitstring.
    ("https://w3id.org/vc/status-list/2021/v1", "StatusList2021Credential"),
    # Digital Credentials Consortium credentials (npm @digitalcredentials/dcc-context).
    ("https://w3id.org/dcc/v1", "EducationalOccupationalCredential"),
    # Open Badges 3.0 (the JSON-LD context 1EdTech publishes): every version.
    ("https://purl.imsglobal.org/spec/ob/v3p0/context.json", "OpenBadgeCredential"),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json", "OpenBadgeCredential"),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json", "OpenBadgeCredential"),
    ("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", "OpenBadgeCredential"),
]


@pytest.mark.parametrize(("url", "term"), PUBLISHED_BY_OTHERS)
def test_contexts_other_issuers_publish_with_are_bundled_byte_for_byte(url: str, term: str) -> None:
    """Each loads from the bundle (no network) with the sha256 PROVENANCE.md records."""
    recorded = {u: (file, digest) for u, file, digest in _provenance_rows()}
    file, digest = recorded[url]
    assert hashlib.sha256((CONTEXTS / file).read_bytes()).hexdigest() == digest
    document = default_loader().load_context(url)
    assert document == json.loads((CONTEXTS / file).read_text("utf-8"))
    assert term in document["@context"]


def test_examples_v2_context_is_the_one_the_vc_specification_defines() -> None:
    """VC Data Model 2.0 (examples context): {"@context": {"@vocab":
    "https://www.w3.org/ns/credentials/examples#"}}, and nothing else."""
    document = default_loader().load_context("https://www.w3.org/ns/credentials/examples/v2")
    assert document == {"@context": {"@vocab": "https://www.w3.org/ns/credentials/examples#"}}
