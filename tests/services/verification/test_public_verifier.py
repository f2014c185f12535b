"""``services.verifier`` without an app: input decoding, the trust registry, the rate
limiter, the recipient and deliverable checks, and the summary's link hygiene."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core import credential as ob
from badgeworks.core.errors import ConfigError, InputError
from badgeworks.core.identity import identity_hash
from badgeworks.core.reading import safe_image, safe_link
from badgeworks.core.verification.checks import deliverable_checks, recipient_check
from badgeworks.services.infra.rate_limit import RateLimiter
from badgeworks.services.verification.public import (
    Limits,
    TrustRegistry,
    VerifyInputError,
    check_email,
    read_bytes,
    read_text,
    summarize,
)
from tests.verifier_app import PNG_1X1

LIMITS = Limits(max_json_bytes=4096, max_file_bytes=8192, max_depth=16, max_deliverable_bytes=100)


def test_read_text_accepts_json_and_jws() -> None:
    assert read_text('  {"a": 1}\n', LIMITS).document == {"a": 1}
    jws = "eyJhbGciOiJFZERTQSJ9.eyJhIjoxfQ.c2ln"
    submission = read_text(f"\ufeff {jws} \n", LIMITS)
    assert submission.document == jws and submission.format == "jwt"
    assert read_text(json.dumps(jws), LIMITS).document == jws


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("x" * 5000, "input.too_large"),
        ("[" * 20 + "]" * 20, "input.too_deep"),
        ("[1, 2]", "verify.multiple_credentials"),
        ("[]", "verify.not_credential"),
        ("null", "verify.not_credential"),
    ],
)
def test_read_text_refuses(text: str, code: str) -> None:
    with pytest.raises(VerifyInputError) as caught:
        read_text(text, LIMITS)
    assert caught.value.code == code
    assert caught.value.message.startswith("Could not verify because")


def test_read_bytes_caps_and_sniffs() -> None:
    with pytest.raises(VerifyInputError) as caught:
        read_bytes(b"{" + b" " * 9000 + b"}", LIMITS)
    assert caught.value.code == "input.too_large"
    with pytest.raises(VerifyInputError) as caught:
        read_bytes(PNG_1X1, LIMITS)
    assert caught.value.code == "baking.no_credential"
    assert read_bytes(b'\xef\xbb\xbf{"a": 2}', LIMITS).document == {"a": 2}


def test_check_email_never_repeats_the_address() -> None:
    assert check_email(None) is None and check_email("  ") is None
    assert check_email(" ada@example.org ") == "ada@example.org"
    for bad in ("ada", "a@b@c", "x" * 400 + "@example.org", "ada @example.org"):
        with pytest.raises(InputError) as caught:
            check_email(bad)
        assert bad.strip() not in caught.value.message


def _subject(*identities: dict[str, Any]) -> dict[str, Any]:
    return {"credentialSubject": {"identifier": list(identities)}}


def test_recipient_check_sha256_md5_plain_and_case() -> None:
    sha = {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": identity_hash("ada@example.org", "salt"),
        "salt": "salt",
    }
    md5 = {
        **sha,
        "identityHash": identity_hash("Grace@Example.org", "pepper", "md5"),
        "salt": "pepper",
    }
    plain = {**sha, "hashed": False, "identityHash": "linus@example.org"}
    assert recipient_check(_subject(sha), "ADA@example.org").code == "recipient.match"
    assert recipient_check(_subject(md5), "Grace@Example.org").code == "recipient.match"
    assert recipient_check(_subject(plain), "linus@example.org").code == "recipient.match"
    miss = recipient_check(_subject(sha, md5), "eve@example.org")
    assert (miss.code, miss.outcome) == ("recipient.no_match", "fail")
    assert "eve" not in miss.message
    name_only = {**sha, "identityType": "name"}
    assert recipient_check(_subject(name_only), "ada@example.org").code == "recipient.not_checkable"
    assert recipient_check(None, "ada@example.org").code == "recipient.not_checked"


def test_deliverable_checks() -> None:
    files = {"https://x.example/a": b"A", "https://x.example/b": b"B"}

    def fetch(url: str, max_bytes: int) -> bytes:
        if url not in files:
            raise InputError("gone", code="fetch.http_error")
        return files[url]

    credential = {
        "relatedResource": [
            ob.related_resource(
                id="https://x.example/a", digest_multibase=ob.digest_multibase(b"A")
            ),
            ob.related_resource(
                id="https://x.example/b", digest_multibase=ob.digest_multibase(b"A")
            ),
            ob.related_resource(
                id="https://x.example/c", digest_multibase=ob.digest_multibase(b"C")
            ),
            {"id": "https://x.example/d", "digestMultibase": "not-a-digest"},
            {"id": "https://x.example/e"},
        ]
    }
    got = [(c.code, c.outcome) for c in deliverable_checks(credential, fetch, max_bytes=10)]
    assert got == [
        ("deliverable.match", "pass"),
        ("deliverable.mismatch", "fail"),
        ("deliverable.unavailable", "warning"),
        ("deliverable.malformed", "fail"),
    ]
    many = {
        "relatedResource": [
            ob.related_resource(
                id=f"https://x.example/{i}", digest_multibase=ob.digest_multibase(b"A")
            )
            for i in range(12)
        ]
    }
    checks = deliverable_checks(many, fetch, max_bytes=10)
    assert len(checks) == 11 and checks[-1].code == "deliverable.too_many"


def test_trust_registry_reloads_and_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text(json.dumps({"issuers": [{"id": "did:web:a.example", "name": "A"}]}))
    registry = TrustRegistry(path)
    assert registry.entries()["did:web:a.example"].name == "A"
    path.write_text(
        json.dumps({"issuers": [{"id": "did:web:b.example", "url": "https://b.example"}]})
    )
    assert set(registry.entries()) == {"did:web:b.example"}
    assert TrustRegistry(None).entries() == {}
    for bad in (
        "[]",
        '{"issuers": {}}',
        '{"issuers": [{"id": 5}]}',
        '{"issuers": [{"id": "x"}]}',
        '{"issuers": [{"id": "did:x:y", "extra": 1}]}',
        "not json",
    ):
        path.write_text(bad)
        with pytest.raises(ConfigError) as caught:
            TrustRegistry(path).entries()
        assert caught.value.code == "config.trust_registry"
    with pytest.raises(ConfigError):
        TrustRegistry(tmp_path / "missing.json").entries()


def test_rate_limiter_token_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, max_clients=3, clock=lambda: now[0])
    assert limiter.take("192.0.2.1") is None
    assert limiter.take("192.0.2.1") is None
    wait = limiter.take("192.0.2.1")
    assert wait is not None and 0 < wait <= 1.0
    now[0] += 1.0
    assert limiter.take("192.0.2.1") is None
    # IPv6 clients share a /64; IPv4-mapped addresses count as IPv4.
    assert RateLimiter.client_key("2001:db8::1") == RateLimiter.client_key("2001:db8::ffff")
    assert RateLimiter.client_key("::ffff:192.0.2.1") == "192.0.2.1"
    for i in range(10):
        limiter.take(f"198.51.100.{i}")
    assert len(limiter._buckets) == 3
    assert RateLimiter(per_minute=0, burst=0).take("x") is None


def test_summary_keeps_only_safe_links() -> None:
    assert safe_link("https://ok.example/a") == "https://ok.example/a"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//evil", "https://a b", None, 5):
        assert safe_link(bad) is None
    assert safe_image({"id": "https://img.example/b.png"}) == "https://img.example/b.png"
    assert safe_image("http://img.example/b.png") is None
    assert safe_image("data:image/png;base64,AAAA") == "data:image/png;base64,AAAA"
    assert safe_image("data:image/svg+xml;base64,AAAA") is None
    summary = summarize(
        {
            "issuer": {"id": "did:key:z", "name": {"en": "Lang map"}, "url": "javascript:x"},
            "credentialSubject": [
                {"achievement": {"name": "A", "alignment": [{"targetUrl": "ftp://x"}]}}
            ],
            "evidence": "not a list of objects",
        }
    )
    assert summary["issuer"] == {"id": "did:key:z", "name": "Lang map", "url": None}
    assert summary["skills"] == [{"name": None, "url": None, "framework": None, "code": None}]
    assert summary["deliverables"] == []


def test_every_verifier_code_is_documented() -> None:
    import re

    root = Path(__file__).resolve().parents[3]
    pattern = re.compile(
        r'"((?:recipient|deliverable|verify|rate)\.[a-z][a-z_]*|config\.trust_registry)"'
    )
    used: set[str] = set()
    for path in (
        root / "src" / "badgeworks" / "core" / "verification" / "checks.py",
        root / "src" / "badgeworks" / "core" / "verification" / "document.py",
        root / "src" / "badgeworks" / "services" / "verification" / "public.py",
        root / "src" / "badgeworks" / "web" / "routes" / "verifier.py",
    ):
        used |= set(pattern.findall(path.read_text("utf-8")))
    used.discard("verify.html")  # the template, not a code
    docs = (root / "docs" / "verifier.md").read_text("utf-8")
    missing = sorted(code for code in used if f"`{code}`" not in docs)
    assert len(used) > 15
    assert not missing, f"codes missing from docs/verifier.md: {missing}"
