"""What is wrong with a request's fields, said in words, in English and Spanish.

pydantic reports a refused field as a type (``string_too_long``), a location
(``("body", "emails", 0)``) and its own English text (``String should match pattern
'^…'``). Staff and API clients read this module's sentences instead: the field's human
name, what is wrong and how to fix it, never a regular expression, a dotted path such as
``emails.0`` or pydantic's phrasing. The API, the console's forms and the bulk problems
table all describe refusals here; the API keeps its stable ``code`` beside the sentence.

Every field of a request model has a human name in both languages below (a test walks
the models); a type or pattern not listed gets a generic sentence that still says which
field and never shows the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The languages sentences are written in (the pages' languages).
LANGUAGES = ("en", "es")

#: Where a location starts (pydantic and FastAPI name the part of the request first).
_SOURCES = {"body", "query", "path", "form", "header", "cookie", "file"}

#: The human name of each field, by its name in the request models (and the API's query
#: parameters). ``parent.child`` entries win over ``child`` for nested fields.
FIELD_NAMES: dict[str, tuple[str, str]] = {
    "achieved_level": ("Achieved level", "Nivel alcanzado"),
    "achievement_id": ("Achievement", "Logro"),
    "achievement_type": ("Achievement type", "Tipo de logro"),
    "alignments": ("Alignments", "Alineaciones"),
    "candidate_id": ("Candidate", "Candidato"),
    "code": ("Code", "Código"),
    "credentials": ("Credentials", "Credenciales"),
    "criteria_narrative": ("Criteria", "Criterios"),
    "cryptosuite": ("Signature suite", "Conjunto de firma"),
    "default_validity_days": ("Validity in days", "Validez en días"),
    "deliverables": ("Deliverables", "Entregables"),
    "description": ("Description", "Descripción"),
    "did": ("DID", "DID"),
    "did_method": ("DID method", "Método DID"),
    "email": ("Email address", "Correo electrónico"),
    "emails": ("Email address", "Correo electrónico"),
    "end_date": ("End date", "Fecha de fin"),
    "genre": ("Kind of deliverable", "Tipo de entregable"),
    "handle": ("Portfolio address", "Dirección del portafolio"),
    "headline": ("Headline", "Titular"),
    "host": ("Host company", "Empresa anfitriona"),
    "host.name": ("Host company name", "Nombre de la empresa anfitriona"),
    "host.url": ("Host company website", "Sitio web de la empresa anfitriona"),
    "image_caption": ("Image alt text", "Texto alternativo de la imagen"),
    "in_language": ("Language", "Idioma"),
    "key": ("Key", "Clave"),
    "label": ("Label", "Etiqueta"),
    "lang": ("Language", "Idioma"),
    "level": ("Level", "Nivel"),
    "levels": ("Levels", "Niveles"),
    "limit": ("Number of results", "Número de resultados"),
    "links": ("Links", "Enlaces"),
    "mentors": ("Mentors", "Mentores"),
    "message": ("Message", "Mensaje"),
    "mentors.name": ("Mentor's name", "Nombre del mentor"),
    "mentors.email": ("Mentor's email address", "Correo electrónico del mentor"),
    "mentors.title": ("Mentor's job title", "Cargo del mentor"),
    "name": ("Name", "Nombre"),
    "notify_candidate": ("Email the candidate", "Avisar por correo al candidato"),
    "notify_candidates": ("Email the candidates", "Avisar por correo a los candidatos"),
    "name_in_credentials": (
        "Name in credentials",
        "Nombre en las credenciales",
    ),
    "offset": ("Starting position", "Posición inicial"),
    "organization": ("Organization", "Organización"),
    "organization.name": ("Organization name", "Nombre de la organización"),
    "organization.url": ("Organization website", "Sitio web de la organización"),
    "points": ("Points", "Puntos"),
    "reason": ("Reason", "Motivo"),
    "reason_code": ("Reason code", "Código de motivo"),
    "reasons": ("Revocation reasons", "Motivos de revocación"),
    "reasons.code": ("Reason code", "Código de motivo"),
    "reasons.message": ("Reason message", "Mensaje del motivo"),
    "reference": ("Page explaining the reasons", "Página que explica los motivos"),
    "result_description": ("Rubric criterion", "Criterio de la rúbrica"),
    "result_descriptions": ("Rubric", "Rúbrica"),
    "result_descriptions.key": ("Rubric criterion key", "Clave del criterio de la rúbrica"),
    "result_descriptions.name": ("Rubric criterion name", "Nombre del criterio de la rúbrica"),
    "levels.key": ("Rubric level key", "Clave del nivel de la rúbrica"),
    "levels.name": ("Rubric level name", "Nombre del nivel de la rúbrica"),
    "result_names": ("Rubric names", "Nombres de la rúbrica"),
    "result_type": ("Result type", "Tipo de resultado"),
    "results": ("Results", "Resultados"),
    "role": ("Role", "Función"),
    "show_name": ("Show name", "Mostrar el nombre"),
    "slug": ("Short name", "Nombre corto"),
    "start_date": ("Start date", "Fecha de inicio"),
    "status": ("Status", "Estado"),
    "summary": ("Summary", "Resumen"),
    "tags": ("Tags", "Etiquetas"),
    "target_code": ("Alignment code", "Código de la alineación"),
    "target_framework": ("Alignment framework", "Marco de la alineación"),
    "target_name": ("Alignment name", "Nombre de la alineación"),
    "target_url": ("Alignment web address", "Dirección web de la alineación"),
    "title": ("Title", "Título"),
    "url": ("Web address", "Dirección web"),
    "value": ("Value", "Valor"),
    "visibility": ("Visibility", "Visibilidad"),
}

#: What is wrong and how to fix it, by pydantic error type (or our own kind).
SENTENCES: dict[str, tuple[str, str]] = {
    "missing": ("this is required; fill it in.", "es obligatorio; rellénelo."),
    "empty": ("this cannot be empty; fill it in.", "no puede quedar vacío; rellénelo."),
    "string_too_short": (
        "write at least {min_length} characters.",
        "escriba al menos {min_length} caracteres.",
    ),
    "string_too_long": (
        "this is too long; shorten it to at most {max_length} characters.",
        "es demasiado largo; acórtelo a {max_length} caracteres como máximo.",
    ),
    "too_short": ("give at least {min_length}.", "indique al menos {min_length}."),
    "too_long": (
        "there are too many; give at most {max_length}.",
        "hay demasiados; indique {max_length} como máximo.",
    ),
    "email": (
        "enter an email address such as name@example.org.",
        "escriba una dirección de correo como nombre@example.org.",
    ),
    "url": (
        "enter a web address that starts with https:// (or http://) and has no spaces.",
        "escriba una dirección web que empiece por https:// (o http://) y no tenga espacios.",
    ),
    "slug": (
        "use only lower-case letters, digits and hyphens (not first or last), "
        "at most 64 characters.",
        "use solo minúsculas, cifras y guiones (ni al principio ni al final), hasta 64 caracteres.",
    ),
    "key": (
        "start with a letter or digit and use only letters, digits, dots, hyphens and "
        "underscores, at most 64 characters.",
        "empiece por una letra o cifra y use solo letras, cifras, puntos, guiones y "
        "guiones bajos, hasta 64 caracteres.",
    ),
    "did": (
        "enter a DID such as did:web:example.org, without spaces.",
        "escriba un DID como did:web:example.org, sin espacios.",
    ),
    "language": (
        "enter a language code such as en, es or pt-BR.",
        "escriba un código de idioma como en, es o pt-BR.",
    ),
    "achievement_type": (
        "choose an Open Badges achievement type written as one word with a capital "
        "first letter (such as Certificate or Fieldwork), or ext: and a name of your own.",
        "elija un tipo de logro de Open Badges escrito como una palabra con mayúscula "
        "inicial (como Certificate o Fieldwork), o ext: y un nombre propio.",
    ),
    "result_type": (
        "choose an Open Badges result type (such as RubricCriterionLevel or Status), "
        "or ext: and a name of your own.",
        "elija un tipo de resultado de Open Badges (como RubricCriterionLevel o Status), "
        "o ext: y un nombre propio.",
    ),
    "pattern": (
        "this has characters or a form not accepted here; check it against the "
        "field's description.",
        "contiene caracteres o una forma que aquí no se aceptan; revíselo según la "
        "descripción del campo.",
    ),
    "whole_number": (
        "enter a whole number, such as 30.",
        "escriba un número entero, como 30.",
    ),
    "number": ("enter a number, such as 2.5.", "escriba un número, como 2,5."),
    "greater_than_equal": (
        "enter a number of at least {ge}.",
        "escriba un número igual o mayor que {ge}.",
    ),
    "greater_than": ("enter a number above {gt}.", "escriba un número mayor que {gt}."),
    "less_than_equal": (
        "enter a number of at most {le}.",
        "escriba un número igual o menor que {le}.",
    ),
    "less_than": ("enter a number below {lt}.", "escriba un número menor que {lt}."),
    "boolean": ("answer true or false.", "responda true o false."),
    "date": (
        "enter a date as year-month-day, such as 2026-03-31.",
        "escriba una fecha como año-mes-día, por ejemplo 2026-03-31.",
    ),
    "datetime": (
        "enter a date and time such as 2026-03-31T12:00:00Z.",
        "escriba una fecha y hora como 2026-03-31T12:00:00Z.",
    ),
    "choice": ("choose one of {expected}.", "elija uno de estos valores: {expected}."),
    "text": ("enter text.", "escriba un texto."),
    "list": ("give a list of values.", "indique una lista de valores."),
    "object": (
        "give an object with its own fields.",
        "indique un objeto con sus propios campos.",
    ),
    "nul": (
        "the text holds an invisible NUL character; remove it.",
        "el texto contiene un carácter NUL invisible; quítelo.",
    ),
    "extra_forbidden": (
        "this field is not known here; remove it (every field is listed at /docs).",
        "este campo no existe aquí; quítelo (todos los campos están en /docs).",
    ),
    "invalid": (
        "this value is not accepted; check it against the field's description.",
        "este valor no se acepta; revíselo según la descripción del campo.",
    ),
}

#: pydantic's error types, by the sentence that explains them.
_KINDS: dict[str, str] = {
    **dict.fromkeys(
        ("int_parsing", "int_type", "int_from_float", "int_parsing_size"), "whole_number"
    ),
    **dict.fromkeys(("float_parsing", "float_type", "decimal_parsing", "decimal_type"), "number"),
    **dict.fromkeys(("bool_parsing", "bool_type"), "boolean"),
    **dict.fromkeys(
        (
            "date_parsing",
            "date_type",
            "date_from_datetime_parsing",
            "date_from_datetime_inexact",
            "date_past",
            "date_future",
        ),
        "date",
    ),
    **dict.fromkeys(
        (
            "datetime_parsing",
            "datetime_type",
            "datetime_from_date_parsing",
            "datetime_object_invalid",
        ),
        "datetime",
    ),
    **dict.fromkeys(("literal_error", "enum"), "choice"),
    **dict.fromkeys(("string_type", "string_sub_type", "string_unicode"), "text"),
    **dict.fromkeys(("list_type", "tuple_type", "set_type", "iterable_type"), "list"),
    **dict.fromkeys(
        ("dict_type", "model_type", "model_attributes_type", "dataclass_type", "mapping_type"),
        "object",
    ),
    **dict.fromkeys(("url_parsing", "url_scheme", "url_type", "url_syntax_violation"), "url"),
}

#: What a pattern asks for, recognised from the pattern itself (first match wins).
_PATTERN_KINDS: tuple[tuple[str, str], ...] = (
    (r"^\^https\?://", "url"),
    (r"@", "email"),
    (r"^\^did:", "did"),
    (r"^\^\[A-Za-z\]\{2,3\}", "language"),
    (r"^\^\[a-z0-9\]\(\?:\[a-z0-9-\]", "slug"),
    (r"^\^\(\?:\[A-Z\]\[A-Za-z\]\+\|ext:", "achievement_type"),
    (r"\|ext:", "result_type"),
    (r"^\^\[A-Za-z0-9\]\[A-Za-z0-9_\.-\]", "key"),
)


@dataclass(frozen=True)
class FieldProblem:
    """One refused field: where (the request's own names), which sentence, its values."""

    #: The location without its source: field names and list positions.
    place: tuple[str | int, ...]
    #: A key of ``SENTENCES``.
    kind: str
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def field_key(self) -> str:
        """The field the problem is about: the last named part of the place."""
        names = [p for p in self.place if isinstance(p, str) and not p.startswith("[")]
        return names[-1] if names else ""

    def to_json(self) -> dict[str, Any]:
        """A form that can be stored and described later in another language."""
        return {"place": list(self.place), "kind": self.kind, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FieldProblem:
        """The inverse of ``to_json``."""
        return cls(tuple(data["place"]), str(data["kind"]), dict(data.get("values") or {}))


def _pattern_kind(pattern: str, place: Sequence[str | int]) -> str:
    for probe, kind in _PATTERN_KINDS:
        if re.search(probe, pattern):
            return kind
    named = [p for p in place if isinstance(p, str)]
    if named and named[-1] in ("email", "emails"):
        return "email"
    return "pattern"


def _expected(text: str) -> str:
    """pydantic's list of allowed values (``'web' or 'key'``) as a list of values."""
    values = re.findall(r"'([^']*)'", text)
    return ", ".join(values) if values else text


def problem_of(error: Mapping[str, Any]) -> FieldProblem:
    """The ``FieldProblem`` behind one of pydantic's error dicts."""
    loc = tuple(error.get("loc", ()))
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]
    place: tuple[str | int, ...] = tuple(p if isinstance(p, int) else str(p) for p in loc)
    kind = str(error.get("type", ""))
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    values: dict[str, Any] = {}
    if kind == "string_pattern_mismatch":
        return FieldProblem(place, _pattern_kind(str(ctx.get("pattern", "")), place))
    if kind in ("string_too_short", "too_short"):
        minimum = int(ctx.get("min_length", 1))
        if minimum <= 1 and kind == "string_too_short":
            return FieldProblem(place, "empty")
        return FieldProblem(place, kind, {"min_length": minimum})
    if kind in ("string_too_long", "too_long"):
        return FieldProblem(place, kind, {"max_length": int(ctx.get("max_length", 0))})
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        key = {"greater_than_equal": "ge", "greater_than": "gt"}.get(
            kind, "le" if kind == "less_than_equal" else "lt"
        )
        return FieldProblem(place, kind, {key: str(ctx.get(key, ""))})
    if kind in ("missing", "extra_forbidden"):
        return FieldProblem(place, kind)
    if kind == "value_error" and "NUL" in str(ctx.get("error", "")):
        return FieldProblem(place, "nul")
    mapped = _KINDS.get(kind)
    if mapped == "choice":
        values["expected"] = _expected(str(ctx.get("expected", "")))
    return FieldProblem(place, mapped or "invalid", values)


def problems_of(errors: Iterable[Mapping[str, Any]], limit: int = 10) -> list[FieldProblem]:
    """Up to ``limit`` problems, one per field and kind, in the order pydantic found them."""
    out: list[FieldProblem] = []
    for error in errors:
        problem = problem_of(error)
        if problem not in out:
            out.append(problem)
        if len(out) >= limit:
            break
    return out


def _index(lang: str) -> int:
    return 1 if lang == "es" else 0


def field_name(place: Sequence[str | int], lang: str = "en", *, property_name: bool = False) -> str:
    """The human name of the field at ``place`` (the item's number when it is in a list).

    With ``property_name`` the request's own name for it follows in brackets, for API
    clients who must find the property in their JSON: ``Email address (emails, item 1)``.
    """
    i = _index(lang)
    names = [p for p in place if isinstance(p, str) and not p.startswith("[")]
    known = [n for n in names if n in FIELD_NAMES]
    if known:
        last = known[-1]
        parent = known[-2] if len(known) > 1 else ""
        human = FIELD_NAMES.get(f"{parent}.{last}", FIELD_NAMES[last])[i]
    elif names:
        human = (f"The field “{names[-1]:.60}”", f"El campo «{names[-1]:.60}»")[i]
    else:
        human = ("The request", "La solicitud")[i]
    details = []
    if property_name and known:
        details.append(known[-1])
    positions = [str(p + 1) for p in place if isinstance(p, int)]
    if positions and len(place) > 1:
        details.append(("item {}", "elemento {}")[i].format(", ".join(positions)))
    return f"{human} ({', '.join(details)})" if details else human


def explain(problem: FieldProblem, lang: str = "en") -> str:
    """What is wrong and how to fix it, without the field's name."""
    i = _index(lang)
    text = SENTENCES.get(problem.kind, SENTENCES["invalid"])[i]
    try:
        return text.format(**problem.values)
    except (KeyError, IndexError, ValueError):
        return SENTENCES["invalid"][i]


def describe(problem: FieldProblem, lang: str = "en", *, property_name: bool = False) -> str:
    """One sentence: the field's human name, what is wrong and how to fix it."""
    name = field_name(problem.place, lang, property_name=property_name)
    return f"{name}: {explain(problem, lang)}"


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    out = ""
    for n, part in enumerate(parts):
        out += f"(?P<{part}>.+?)" if n % 2 else re.escape(part)
    return re.compile(out + "$")


_ENGLISH = [(kind, _template_pattern(en)) for kind, (en, _) in SENTENCES.items()]


def translated(message: str, lang: str) -> str:
    """A stored ``"<column>: <English sentence>"`` (as the bulk checks write them) in
    ``lang``; any other message is returned as it is."""
    if lang == "en":
        return message
    head, sep, text = message.partition(": ")
    for kind, pattern in _ENGLISH:
        match = pattern.match(text)
        if sep and match:
            values = match.groupdict()
            return f"{head}: {explain(FieldProblem((), kind, values), lang)}"
    return message


def describe_errors(
    errors: Iterable[Mapping[str, Any]],
    lang: str = "en",
    limit: int = 10,
    *,
    property_name: bool = False,
) -> list[str]:
    """``describe`` for each of pydantic's errors (at most ``limit``, no repeats)."""
    return [describe(p, lang, property_name=property_name) for p in problems_of(errors, limit)]
