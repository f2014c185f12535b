"""Structural MUSTs of the VC Data Model 2.0 (reading 1.1 too) and Open Badges 3.0.

``credential_problems`` lists every problem it finds, each a ``CredentialError`` with a
specific code and a message that quotes the property (as a JSON path) and its value;
``check_credential`` raises the first. Unknown extra properties are not our concern
here: JSON-LD strictness is enforced by canonicalization. Presentations are checked
elsewhere.

Issuing is strict: everything found is a problem. Verifying is not (docs/verification.md,
"What fails and what warns"): a few findings leave a credential authentic and readable,
only not fully conformant (a subject named by neither ``id`` nor ``identifier``, an image
given as a plain URL, no ``1EdTechJsonSchemaValidator2019`` schema entry).
``credential_findings`` returns those apart, as conformance notes the verifier reports as
warnings.

Each check names the section it implements: VC 2.0 §4 "Basic Concepts" and §5
"Advanced Concepts"; VC 1.1 §4; OB 3.0 "Data Models" and "Serialization > JSON".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal

from .contexts import VC1_CONTEXT, VC2_CONTEXT
from .credential import (
    JSON_SCHEMA_VALIDATOR_TYPE,
    decode_digest_multibase,
    decode_digest_sri,
    parse_xsd_datetime,
)
from .errors import CredentialError
from .identity import is_identifier_type, is_identity_hash

OB_CONTEXT_PATTERN = re.compile(
    r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d+\.\d+)?\.json$"
)
ACHIEVEMENT_CREDENTIAL_TYPES = frozenset({"OpenBadgeCredential", "AchievementCredential"})
RESULT_STATUSES = frozenset(
    {"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}
)
RESULT_TYPES = frozenset(
    {
        "GradePointAverage",
        "LetterGrade",
        "Percent",
        "PerformanceLevel",
        "PredictedScore",
        "RawScore",
        "Result",
        "RubricCriterion",
        "RubricCriterionLevel",
        "RubricScore",
        "ScaledScore",
        "Status",
    }
)

# A URL in the VC sense (VC 2.0 §4.4 "Identifiers": a URL, which includes DIDs and URNs):
# a scheme, a colon and no whitespace.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;.*)?$")
_LANGUAGE_KEYS = frozenset({"@value", "@language", "@direction"})

Kind = Literal["achievement", "endorsement", "vc"]


def is_url(value: Any) -> bool:
    """True for a string that is an absolute URL/URI (``https:``, ``did:``, ``urn:``…)."""
    return isinstance(value, str) and bool(_URL.match(value))


def _types(node: Any) -> list[str]:
    t = node.get("type") if isinstance(node, Mapping) else None
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _show(value: Any) -> str:
    return f"{value!r:.100}"


def vc_version(credential: Any) -> Literal["2.0", "1.1"]:
    """The VC Data Model version named by ``@context[0]``; ``credential.context`` if none."""
    ctx = credential.get("@context") if isinstance(credential, Mapping) else None
    first = ctx[0] if isinstance(ctx, list) and ctx else ctx
    if first == VC2_CONTEXT:
        return "2.0"
    if first == VC1_CONTEXT:
        return "1.1"
    raise CredentialError(
        f"@context[0] must be {VC2_CONTEXT!r} (VC 2.0) or {VC1_CONTEXT!r} (VC 1.1), "
        f"got {_show(first)}",
        code="credential.context",
    )


def credential_kind(credential: Mapping[str, Any]) -> Kind:
    """``achievement`` (OpenBadgeCredential), ``endorsement`` or plain ``vc``."""
    types = set(_types(credential))
    if types & ACHIEVEMENT_CREDENTIAL_TYPES:
        return "achievement"
    if "EndorsementCredential" in types:
        return "endorsement"
    return "vc"


class _Checker:
    """Walks one credential and collects problems; each check method handles one class."""

    def __init__(self, prefix: str = "", *, embedded: bool = True) -> None:
        self.problems: list[CredentialError] = []
        #: Conformance notes: findings that leave the credential authentic and readable.
        self.notes: list[CredentialError] = []
        self.prefix = prefix
        #: Whether embedded endorsements are checked here too (a verifier checks each one
        #: on its own, so that its findings count against it and not the credential).
        self.embedded = embedded

    def where(self, path: str) -> str:
        """``path`` (relative to this checker's "$") as a path from the outermost "$"."""
        return self.prefix + path.removeprefix("$") if self.prefix else path

    def add(self, code: str, path: str, message: str, value: Any = None) -> None:
        where = self.where(path)
        self.problems.append(
            CredentialError(f"{where}: {message}", code=code, path=where, value=value)
        )

    def note(self, code: str, path: str, message: str, value: Any = None) -> None:
        """A conformance note: not fully conformant, but nothing a reader could misread."""
        where = self.where(path)
        self.notes.append(
            CredentialError(f"{where}: {message}", code=code, path=where, value=value)
        )

    # ------------------------------------------------------------------ credential
    def credential(self, cred: Any) -> None:
        if not isinstance(cred, Mapping):
            self.add(
                "credential.not_object",
                "$",
                f"a credential must be a JSON object, got {type(cred).__name__}",
            )
            return
        self.nulls(cred, "$")
        try:
            version = vc_version(cred)
        except CredentialError as exc:
            self.add("credential.context", "$['@context']", exc.message, cred.get("@context"))
            version = "2.0" if cred.get("validFrom") or not cred.get("issuanceDate") else "1.1"
        kind = credential_kind(cred)
        ob = kind != "vc"
        self.context(cred, ob)
        self.identifier(cred, ob)
        self.type(cred)
        self.issuer(cred.get("issuer"), ob)
        self.subject(cred, kind)
        self.validity(cred, version, ob)
        self.text_value(cred, "$", "name")
        self.text_value(cred, "$", "description")
        if ob and version == "1.1" and kind == "achievement" and "name" not in cred:
            self.add(
                "credential.name",
                "$.name",
                "a VC 1.1 AchievementCredential (AchievementCredentialv1p1) requires a name",
            )
        self.status(cred, ob)
        self.schemas(cred, ob)
        self.typed_entries(cred, "refreshService", "credential.refresh_service", id_required=ob)
        self.typed_entries(cred, "termsOfUse", "credential.terms_of_use", id_required=False)
        self.evidence(cred, ob)
        self.related_resources(cred)
        if ob and "image" in cred:
            self.image(cred["image"], "$.image")
        if ob:
            self.endorsements(cred, "$")

    def nulls(self, node: Any, path: str) -> None:
        """OB 3.0 "Serialization > JSON": nulls and empty arrays MUST be omitted."""
        if isinstance(node, Mapping):
            for key, value in node.items():
                sub = f"{path}.{key}" if re.fullmatch(r"[A-Za-z_]\w*", key) else f"{path}[{key!r}]"
                if value is None or value == []:
                    self.add(
                        "credential.null_value",
                        sub,
                        f"is {'null' if value is None else 'an empty array'}; omit the "
                        "property instead",
                        value,
                    )
                elif key != "proof":
                    self.nulls(value, sub)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if item is None:
                    self.add("credential.null_value", f"{path}[{i}]", "is null", None)
                else:
                    self.nulls(item, f"{path}[{i}]")

    def context(self, cred: Mapping[str, Any], ob: bool) -> None:
        """VC 2.0 §4.3 Contexts; OB 3.0 "Serialization > JSON-LD" (order kept)."""
        ctx = cred.get("@context")
        if ctx is None:
            return  # vc_version already reported it
        if not isinstance(ctx, list):
            if ob or not isinstance(ctx, str):
                self.add(
                    "credential.context",
                    "$['@context']",
                    f"must be an ordered array of contexts, got {_show(ctx)}",
                    ctx,
                )
            return
        for i, entry in enumerate(ctx):
            if not isinstance(entry, str | Mapping):
                self.add(
                    "credential.context",
                    f"$['@context'][{i}]",
                    f"must be a URL or a context object, got {_show(entry)}",
                    entry,
                )
        if ob:
            second = ctx[1] if len(ctx) > 1 else None
            if not (isinstance(second, str) and OB_CONTEXT_PATTERN.match(second)):
                self.add(
                    "credential.context",
                    "$['@context'][1]",
                    "an Open Badges credential must list the OB 3.0 context "
                    "(https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json) second, "
                    f"got {_show(second)}",
                    second,
                )

    def identifier(self, cred: Mapping[str, Any], ob: bool) -> None:
        """VC 2.0 §4.4 Identifiers; OB 3.0 requires the credential ``id``."""
        if "id" in cred:
            if not is_url(cred["id"]):
                self.add("credential.id", "$.id", f"must be a URL, got {_show(cred['id'])}")
        elif ob:
            self.add("credential.id", "$.id", "an Open Badges credential must have an id (URI)")

    def type(self, cred: Mapping[str, Any]) -> None:
        """VC 2.0 §4.5 Types: ``VerifiableCredential`` plus the OB class."""
        t = cred.get("type")
        if not (isinstance(t, str) or (isinstance(t, list) and t)):
            self.add(
                "credential.type", "$.type", f"must be a type or list of types, got {_show(t)}"
            )
            return
        if any(not isinstance(x, str) for x in _items(t)):
            self.add("credential.type", "$.type", f"every type must be a string, got {_show(t)}")
        if "VerifiableCredential" not in _types(cred):
            self.add(
                "credential.type", "$.type", f"must include 'VerifiableCredential', got {_show(t)}"
            )

    # ------------------------------------------------------------------ issuer, profiles
    def issuer(self, issuer: Any, ob: bool) -> None:
        """VC 2.0 §4.7 Issuer: a URL or an object whose ``id`` is a URL."""
        if issuer is None:
            self.add("credential.issuer", "$.issuer", "is required")
            return
        if isinstance(issuer, str):
            if not is_url(issuer):
                self.add("credential.issuer", "$.issuer", f"must be a URL, got {_show(issuer)}")
            return
        if not isinstance(issuer, Mapping):
            self.add(
                "credential.issuer",
                "$.issuer",
                f"must be a URL or an object with a URL id, got {_show(issuer)}",
            )
            return
        if not is_url(issuer.get("id")):
            self.add(
                "credential.issuer",
                "$.issuer.id",
                f"must be a URL, got {_show(issuer.get('id'))}",
            )
        self.text_value(issuer, "$.issuer", "name")
        self.text_value(issuer, "$.issuer", "description")
        if ob:
            self.profile(issuer, "$.issuer", check_id=False)

    def typed_object(
        self, node: Any, path: str, code: str, type_name: str, *, check_id: bool = True
    ) -> bool:
        """What OB 3.0 classes share: an object whose ``id`` is a URI (when ``check_id``)
        and whose ``type`` contains ``type_name``. False when ``node`` is not an object."""
        if not isinstance(node, Mapping):
            article = "an" if type_name[0] in "AEIOU" else "a"
            self.add(code, path, f"must be {article} {type_name} object, got {_show(node)}")
            return False
        if check_id and not is_url(node.get("id")):
            self.add(code, f"{path}.id", f"must be a URI, got {_show(node.get('id'))}")
        if type_name not in _types(node):
            self.add(
                code,
                f"{path}.type",
                f"must contain '{type_name}', got {_show(node.get('type'))}",
            )
        return True

    def profile(self, node: Any, path: str, *, check_id: bool = True) -> None:
        """OB 3.0 Profile: ``id`` (URI) and ``type`` containing ``Profile``."""
        if not self.typed_object(node, path, "credential.profile", "Profile", check_id=check_id):
            return
        if "image" in node:
            self.image(node["image"], f"{path}.image")
        if "parentOrg" in node:
            self.profile(node["parentOrg"], f"{path}.parentOrg")
        self.endorsements(node, path)

    def image(self, node: Any, path: str) -> None:
        """OB 3.0 Image: ``id`` (URI or data URI) required, ``type`` is ``Image``."""
        if isinstance(node, str) and is_url(node):
            # OB 3.0 B.1 types ``image`` as an Image object; many issuers write the URL
            # alone. It still names one image unambiguously, so it is a note.
            self.note(
                "credential.image_url",
                path,
                f"should be an Image object ({{'id': …, 'type': 'Image'}}), got the plain "
                f"URL {_show(node)}",
                node,
            )
            return
        if not isinstance(node, Mapping):
            self.add("credential.image", path, f"must be an Image object, got {_show(node)}")
            return
        if not is_url(node.get("id")):
            self.add(
                "credential.image",
                f"{path}.id",
                f"must be a URI or data URI, got {_show(node.get('id'))}",
            )
        if node.get("type") != "Image":
            self.add(
                "credential.image",
                f"{path}.type",
                f"must be 'Image', got {_show(node.get('type'))}",
            )

    def endorsements(self, node: Mapping[str, Any], path: str) -> None:
        """Embedded EndorsementCredentials are full credentials: check each one."""
        endorsements = node.get("endorsement")
        if endorsements is None or not self.embedded:
            return
        for i, item in enumerate(_items(endorsements)):
            sub = _Checker(self.where(f"{path}.endorsement[{i}]"))
            sub.credential(item)
            if isinstance(item, Mapping) and credential_kind(item) != "endorsement":
                sub.add(
                    "credential.endorsement",
                    "$.type",
                    f"an embedded endorsement must be an EndorsementCredential, got "
                    f"{_show(item.get('type'))}",
                )
            self.problems.extend(sub.problems)
            self.notes.extend(sub.notes)

    # ------------------------------------------------------------------ subjects
    def subject(self, cred: Mapping[str, Any], kind: Kind) -> None:
        """VC 2.0 §4.8 Credential Subject; OB AchievementSubject / EndorsementSubject."""
        subject = cred.get("credentialSubject")
        if subject is None:
            self.add("credential.subject", "$.credentialSubject", "is required")
            return
        subjects = _items(subject)
        if kind != "vc" and isinstance(subject, list):
            self.add(
                "credential.subject",
                "$.credentialSubject",
                "an Open Badges credential has exactly one credentialSubject object",
            )
        for i, s in enumerate(subjects):
            path = "$.credentialSubject" + (f"[{i}]" if isinstance(subject, list) else "")
            if not isinstance(s, Mapping) or not s:
                self.add("credential.subject", path, f"must be a non-empty object, got {_show(s)}")
                continue
            if "id" in s and not is_url(s["id"]):
                self.add("credential.subject", f"{path}.id", f"must be a URL, got {_show(s['id'])}")
            if kind == "achievement":
                self.achievement_subject(s, path)
            elif kind == "endorsement":
                self.endorsement_subject(s, path)
        if kind == "endorsement" and "name" not in cred:
            self.add("credential.endorsement", "$.name", "an EndorsementCredential requires a name")

    def achievement_subject(self, s: Mapping[str, Any], path: str) -> None:
        """OB 3.0 AchievementSubject; "OpenBadgeCredential Verification" step 1."""
        code = "credential.achievement_subject"
        if "AchievementSubject" not in _types(s):
            self.add(
                code,
                f"{path}.type",
                f"must contain 'AchievementSubject', got {_show(s.get('type'))}",
            )
        if "id" not in s and not s.get("identifier"):
            # OB 3.0 B.1.3: "Either id or at least one identifier MUST be supplied." A
            # subject named by neither is still a readable claim about an achievement;
            # only the holder cannot be matched to it, so it is a note.
            self.note(
                "credential.subject_unidentified",
                path,
                "names its recipient by neither an id nor an identifier (IdentityObject), "
                "as Open Badges 3.0 requires, so the credential cannot be matched to its holder",
            )
        if "identifier" in s:
            for i, ident in enumerate(_items(s["identifier"])):
                self.identity_object(ident, f"{path}.identifier[{i}]")
        achievement = s.get("achievement")
        if achievement is None:
            self.add(code, f"{path}.achievement", "is required")
        else:
            self.achievement(achievement, f"{path}.achievement")
        if "source" in s:
            self.profile(s["source"], f"{path}.source")
        if "image" in s:
            self.image(s["image"], f"{path}.image")
        for key in ("activityStartDate", "activityEndDate"):
            if key in s:
                self.datetime(s, path, key, "credential.invalid_datetime")
        if "result" in s and isinstance(achievement, Mapping):
            descriptions = {}
            if isinstance(achievement, Mapping):
                for rd in _items(achievement.get("resultDescription", [])):
                    if isinstance(rd, Mapping) and isinstance(rd.get("id"), str):
                        descriptions[rd["id"]] = rd
            for i, r in enumerate(_items(s["result"])):
                self.result(r, f"{path}.result[{i}]", descriptions)

    def identity_object(self, node: Any, path: str) -> None:
        """OB 3.0 IdentityObject and the IdentityHash format."""
        code = "credential.identity_object"
        if not isinstance(node, Mapping):
            self.add(code, path, f"must be an IdentityObject, got {_show(node)}")
            return
        if node.get("type") != "IdentityObject":
            self.add(
                code, f"{path}.type", f"must be 'IdentityObject', got {_show(node.get('type'))}"
            )
        hashed = node.get("hashed")
        if not isinstance(hashed, bool):
            self.add(code, f"{path}.hashed", f"must be true or false, got {_show(hashed)}")
        value = node.get("identityHash")
        if not isinstance(value, str) or not value:
            self.add(code, f"{path}.identityHash", f"is required, got {_show(value)}")
        elif hashed is True and not is_identity_hash(value):
            self.add(
                code,
                f"{path}.identityHash",
                f"must be 'sha256$<64 hex>' or 'md5$<32 hex>', got {_show(value)}",
            )
        if not is_identifier_type(node.get("identityType")):
            self.add(
                code,
                f"{path}.identityType",
                "must be an IdentifierTypeEnum value or 'ext:…', got "
                f"{_show(node.get('identityType'))}",
            )
        if "salt" in node and not isinstance(node["salt"], str):
            self.add(code, f"{path}.salt", f"must be a string, got {_show(node['salt'])}")

    def achievement(self, node: Any, path: str) -> None:
        """OB 3.0 Achievement: id, type, criteria, description and name."""
        code = "credential.achievement"
        if not self.typed_object(node, path, code, "Achievement"):
            return
        criteria = node.get("criteria")
        if not isinstance(criteria, Mapping):
            self.add(code, f"{path}.criteria", f"is required (an object), got {_show(criteria)}")
        elif "id" in criteria and not is_url(criteria["id"]):
            self.add(code, f"{path}.criteria.id", f"must be a URI, got {_show(criteria['id'])}")
        for key in ("name", "description"):
            if key not in node:
                self.add(code, f"{path}.{key}", "is required")
            else:
                self.text_value(node, path, key)
        for i, a in enumerate(_items(node.get("alignment", []))):
            self.alignment(a, f"{path}.alignment[{i}]")
        if "image" in node:
            self.image(node["image"], f"{path}.image")
        if "creator" in node:
            self.profile(node["creator"], f"{path}.creator")
        for i, rd in enumerate(_items(node.get("resultDescription", []))):
            self.result_description(rd, f"{path}.resultDescription[{i}]")
        for i, rel in enumerate(_items(node.get("related", []))):
            if not (
                isinstance(rel, Mapping) and is_url(rel.get("id")) and "Related" in _types(rel)
            ):
                self.add(
                    "credential.related",
                    f"{path}.related[{i}]",
                    f"must be a Related object with a URI id and type 'Related', got {_show(rel)}",
                )
        self.endorsements(node, path)

    def alignment(self, node: Any, path: str) -> None:
        """OB 3.0 Alignment: type, targetName and targetUrl."""
        code = "credential.alignment"
        if not self.typed_object(node, path, code, "Alignment", check_id=False):
            return
        if not isinstance(node.get("targetName"), str) or not node.get("targetName"):
            self.add(
                code, f"{path}.targetName", f"is required, got {_show(node.get('targetName'))}"
            )
        if not is_url(node.get("targetUrl")):
            self.add(
                code, f"{path}.targetUrl", f"must be a URL, got {_show(node.get('targetUrl'))}"
            )

    def result_description(self, node: Any, path: str) -> None:
        """OB 3.0 ResultDescription: id, type, name and resultType."""
        code = "credential.result_description"
        if not self.typed_object(node, path, code, "ResultDescription"):
            return
        if not isinstance(node.get("name"), str):
            self.add(code, f"{path}.name", f"is required, got {_show(node.get('name'))}")
        rt = node.get("resultType")
        if not (rt in RESULT_TYPES or (isinstance(rt, str) and rt.startswith("ext:"))):
            self.add(
                code,
                f"{path}.resultType",
                f"must be a ResultType value or 'ext:…', got {_show(rt)}",
            )
        levels = [lv for lv in _items(node.get("rubricCriterionLevel", []))]
        for i, level in enumerate(levels):
            self.rubric_criterion_level(level, f"{path}.rubricCriterionLevel[{i}]")
        for i, a in enumerate(_items(node.get("alignment", []))):
            self.alignment(a, f"{path}.alignment[{i}]")
        required = node.get("requiredLevel")
        level_ids = {lv.get("id") for lv in levels if isinstance(lv, Mapping)}
        if required is not None and levels and required not in level_ids:
            self.add(
                code,
                f"{path}.requiredLevel",
                f"{_show(required)} is not the id of one of its rubricCriterionLevel entries",
            )

    def rubric_criterion_level(self, node: Any, path: str) -> None:
        """OB 3.0 RubricCriterionLevel: id, type and name."""
        code = "credential.rubric_criterion_level"
        if not self.typed_object(node, path, code, "RubricCriterionLevel"):
            return
        if not isinstance(node.get("name"), str):
            self.add(code, f"{path}.name", f"is required, got {_show(node.get('name'))}")
        for i, a in enumerate(_items(node.get("alignment", []))):
            self.alignment(a, f"{path}.alignment[{i}]")

    def result(self, node: Any, path: str, descriptions: Mapping[str, Mapping[str, Any]]) -> None:
        """OB 3.0 Result: type; status when its ResultDescription is of type Status."""
        code = "credential.result"
        if not self.typed_object(node, path, code, "Result", check_id=False):
            return
        status = node.get("status")
        if status is not None and status not in RESULT_STATUSES:
            self.add(
                code,
                f"{path}.status",
                f"must be one of {sorted(RESULT_STATUSES)}, got {_show(status)}",
            )
        ref = node.get("resultDescription")
        if ref is None:
            return
        rd = descriptions.get(ref) if isinstance(ref, str) else None
        if rd is None:
            self.add(
                code,
                f"{path}.resultDescription",
                f"{_show(ref)} is not the id of a ResultDescription of this achievement",
            )
            return
        if rd.get("resultType") == "Status" and status is None:
            self.add(
                code,
                f"{path}.status",
                "is required because its ResultDescription has resultType 'Status'",
            )
        level = node.get("achievedLevel")
        level_ids = {
            lv.get("id")
            for lv in _items(rd.get("rubricCriterionLevel", []))
            if isinstance(lv, Mapping)
        }
        if level is not None and level_ids and level not in level_ids:
            self.add(
                code,
                f"{path}.achievedLevel",
                f"{_show(level)} is not the id of a rubricCriterionLevel of {_show(ref)}",
            )

    def endorsement_subject(self, s: Mapping[str, Any], path: str) -> None:
        """OB 3.0 EndorsementSubject: ``id`` (the endorsed entity) and type."""
        code = "credential.endorsement_subject"
        if not is_url(s.get("id")):
            self.add(
                code,
                f"{path}.id",
                f"must be the URI of the endorsed entity, got {_show(s.get('id'))}",
            )
        if "EndorsementSubject" not in _types(s):
            self.add(
                code,
                f"{path}.type",
                f"must contain 'EndorsementSubject', got {_show(s.get('type'))}",
            )

    # ------------------------------------------------------------------ validity
    def datetime(
        self, node: Mapping[str, Any], path: str, key: str, code: str, *, tz: bool = False
    ) -> datetime | None:
        try:
            return parse_xsd_datetime(node[key], require_timezone=tz)
        except CredentialError as exc:
            self.add(code, f"{path}.{key}", exc.message, node[key])
            return None

    def validity(self, cred: Mapping[str, Any], version: str, ob: bool) -> None:
        """VC 2.0 §4.9 Validity Period (dateTimeStamp, validFrom ≤ validUntil);
        VC 1.1 §4.6/§4.7 ``issuanceDate`` (required) and ``expirationDate``."""
        if version == "1.1":
            start_key, end_key, tz = "issuanceDate", "expirationDate", False
            if start_key not in cred:
                self.add(
                    "credential.valid_from",
                    "$.issuanceDate",
                    "a VC 1.1 credential requires issuanceDate",
                )
        else:
            start_key, end_key, tz = "validFrom", "validUntil", True
            if ob and start_key not in cred:
                self.add(
                    "credential.valid_from",
                    "$.validFrom",
                    "an Open Badges credential requires validFrom",
                )
        start = (
            self.datetime(cred, "$", start_key, "credential.valid_from", tz=tz)
            if start_key in cred
            else None
        )
        end = (
            self.datetime(cred, "$", end_key, "credential.valid_until", tz=tz)
            if end_key in cred
            else None
        )
        if start is not None and end is not None and start > end:
            self.add(
                "credential.validity_order",
                f"$.{end_key}",
                f"{_show(cred[end_key])} is earlier than {start_key} {_show(cred[start_key])}",
            )
        if "awardedDate" in cred:
            self.datetime(cred, "$", "awardedDate", "credential.invalid_datetime")

    # ------------------------------------------------------------------ VC features
    def text_value(self, node: Mapping[str, Any], path: str, key: str) -> None:
        """VC 2.0 §4.6 Names and Descriptions / §11.1: a string or language-value objects."""
        if node.get(key) is None:
            return  # missing, or null (reported as credential.null_value)
        value = node[key]
        code = f"credential.{key}"
        for item in _items(value):
            if isinstance(item, str):
                continue
            ok = (
                isinstance(item, Mapping)
                and isinstance(item.get("@value"), str)
                and set(item) <= _LANGUAGE_KEYS
                and isinstance(item.get("@language", ""), str)
                and item.get("@direction", "ltr") in ("ltr", "rtl")
            )
            if not ok:
                self.add(
                    code,
                    f"{path}.{key}",
                    "must be a string or language value objects "
                    f'({{"@value", "@language", "@direction"}}), got {_show(item)}',
                )

    def status(self, cred: Mapping[str, Any], ob: bool) -> None:
        """VC 2.0 §4.10 Status: each entry has a type, and an id URL if present."""
        if "credentialStatus" not in cred:
            return
        for i, entry in enumerate(_items(cred["credentialStatus"])):
            path = "$.credentialStatus" + (
                f"[{i}]" if isinstance(cred["credentialStatus"], list) else ""
            )
            self.typed_entry(entry, path, "credential.status", id_required=ob)
            if isinstance(entry, Mapping) and entry.get("type") == "BitstringStatusListEntry":
                index = entry.get("statusListIndex")
                if not (isinstance(index, str) and index.isdigit()):
                    self.add(
                        "credential.status",
                        f"{path}.statusListIndex",
                        f"must be a base-10 integer string, got {_show(index)}",
                    )
                if not is_url(entry.get("statusListCredential")):
                    self.add(
                        "credential.status",
                        f"{path}.statusListCredential",
                        f"must be a URL, got {_show(entry.get('statusListCredential'))}",
                    )
                if not isinstance(entry.get("statusPurpose"), str):
                    self.add(
                        "credential.status",
                        f"{path}.statusPurpose",
                        f"is required, got {_show(entry.get('statusPurpose'))}",
                    )

    def typed_entries(
        self, cred: Mapping[str, Any], key: str, code: str, *, id_required: bool
    ) -> None:
        if key not in cred:
            return
        value = cred[key]
        for i, entry in enumerate(_items(value)):
            self.typed_entry(
                entry,
                f"$.{key}" + (f"[{i}]" if isinstance(value, list) else ""),
                code,
                id_required=id_required,
            )

    def typed_entry(self, entry: Any, path: str, code: str, *, id_required: bool) -> None:
        if not isinstance(entry, Mapping):
            self.add(code, path, f"must be an object, got {_show(entry)}")
            return
        if not _types(entry):
            self.add(code, f"{path}.type", f"is required, got {_show(entry.get('type'))}")
        if "id" in entry:
            if not is_url(entry["id"]):
                self.add(code, f"{path}.id", f"must be a URL, got {_show(entry['id'])}")
        elif id_required:
            self.add(code, f"{path}.id", "is required (a URL) in an Open Badges credential")

    def schemas(self, cred: Mapping[str, Any], ob: bool) -> None:
        """VC 2.0 §4.11 Data Schemas: each entry has id and type. OB 3.0: one entry has
        type ``1EdTechJsonSchemaValidator2019``."""
        if "credentialSchema" not in cred:
            return
        value = cred["credentialSchema"]
        entries = _items(value)
        for i, entry in enumerate(entries):
            path = "$.credentialSchema" + (f"[{i}]" if isinstance(value, list) else "")
            self.typed_entry(entry, path, "credential.schema", id_required=True)
        if ob and not any(
            isinstance(e, Mapping) and e.get("type") == JSON_SCHEMA_VALIDATOR_TYPE for e in entries
        ):
            # Another schema type is not wrong for a VC (VC 2.0 §4.11 allows any), only
            # not one an Open Badges verifier is asked to run: a note.
            self.note(
                "credential.schema_type",
                "$.credentialSchema",
                f"an Open Badges credential's credentialSchema must include an entry of type "
                f"{JSON_SCHEMA_VALIDATOR_TYPE!r}",
            )

    def evidence(self, cred: Mapping[str, Any], ob: bool) -> None:
        """VC 2.0 §5.6 Evidence (type required, id a URL); OB type contains Evidence."""
        if "evidence" not in cred:
            return
        value = cred["evidence"]
        for i, item in enumerate(_items(value)):
            path = "$.evidence" + (f"[{i}]" if isinstance(value, list) else "")
            self.typed_entry(item, path, "credential.evidence", id_required=False)
            if ob and isinstance(item, Mapping) and _types(item) and "Evidence" not in _types(item):
                self.add(
                    "credential.evidence",
                    f"{path}.type",
                    f"must contain 'Evidence', got {_show(item.get('type'))}",
                )

    def related_resources(self, cred: Mapping[str, Any]) -> None:
        """VC 2.0 §5.3 Integrity of Related Resources."""
        if "relatedResource" not in cred:
            return
        code = "credential.related_resource"
        value = cred["relatedResource"]
        seen: set[str] = set()
        for i, entry in enumerate(_items(value)):
            path = "$.relatedResource" + (f"[{i}]" if isinstance(value, list) else "")
            if not isinstance(entry, Mapping):
                self.add(code, path, f"must be an object, got {_show(entry)}")
                continue
            rid = entry.get("id")
            if not isinstance(rid, str) or not is_url(rid):
                self.add(code, f"{path}.id", f"must be a URL, got {_show(rid)}")
            elif rid in seen:
                self.add(code, f"{path}.id", f"{_show(rid)} appears more than once")
            else:
                seen.add(rid)
            if "digestSRI" not in entry and "digestMultibase" not in entry:
                self.add(code, path, "must have a digestSRI or a digestMultibase")
            if "digestSRI" in entry:
                self.check_each(entry["digestSRI"], f"{path}.digestSRI", _sri_problem)
            if "digestMultibase" in entry:
                self.check_each(
                    entry["digestMultibase"], f"{path}.digestMultibase", _multibase_problem
                )
            media = entry.get("mediaType")
            if media is not None and not (isinstance(media, str) and _MEDIA_TYPE.match(media)):
                self.add(
                    code,
                    f"{path}.mediaType",
                    f"must be a media type like 'application/pdf', got {_show(media)}",
                )

    def check_each(self, value: Any, path: str, problem: Callable[[Any], str | None]) -> None:
        for item in _items(value):
            why = problem(item)
            if why:
                self.add("credential.related_resource", path, why, item)


def _sri_problem(value: Any) -> str | None:
    """SRI §3.5 ``hash-expression``s, separated by whitespace; digests of the right size."""
    try:
        decode_digest_sri(value)
    except CredentialError as exc:
        return exc.message
    return None


def _multibase_problem(value: Any) -> str | None:
    try:
        decode_digest_multibase(value)
    except CredentialError as exc:
        return exc.message
    return None


def credential_problems(credential: Any) -> list[CredentialError]:
    """Every structural problem of ``credential``, conformance notes included, and its
    embedded endorsements' (an empty list means none found): what issuing refuses."""
    checker = _Checker()
    checker.credential(credential)
    return checker.problems + checker.notes


def credential_findings(credential: Any) -> tuple[list[CredentialError], list[CredentialError]]:
    """What a verifier reports of ``credential``'s structure: (problems, conformance notes).

    Embedded endorsements are left out: the verifier checks each one as a credential of
    its own, and what is wrong with an endorsement counts against that endorsement.
    """
    checker = _Checker(embedded=False)
    checker.credential(credential)
    return checker.problems, checker.notes


def check_credential(credential: Any) -> None:
    """Raise the first structural problem of ``credential`` (issuing raises)."""
    problems = credential_problems(credential)
    if problems:
        raise problems[0]
