"""Every refusal of a request model's field is a sentence in English and Spanish with the
field's human name: never a regular expression, a dotted path or pydantic's phrasing.

The test walks every request model of the API (every ``Strict`` subclass in the
services' ``models`` modules) and breaks each field by each of its constraints."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Iterator
from typing import Any

import pytest
from annotated_types import MaxLen, MinLen
from pydantic import BaseModel, ValidationError

import badgeworks.services as services
from badgeworks.services.field_problems import (
    FIELD_NAMES,
    LANGUAGES,
    FieldProblem,
    describe,
    describe_errors,
    problems_of,
)
from badgeworks.services.models import Strict

#: pydantic's own English, which must never reach a person.
PYDANTIC_PHRASES = (
    "String should",
    "Input should",
    "Field required",
    "Value error",
    "Extra inputs",
    "should have at",
    "should match pattern",
    "valid integer",
    "List should",
    "Dictionary should",
)
DOTTED_PATH = re.compile(r"\b[A-Za-z_]+\.\d+\b|\b[a-z]+_[a-z_]+\.[a-z_]+\b")
REGEX_SIGNS = re.compile(r"\^|\$'|\[A-Z|\[a-z|\\S|\\s|\{0,|\(\?:|pattern")


def request_models() -> list[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for info in pkgutil.walk_packages(services.__path__, "badgeworks.services."):
        if not info.name.endswith("models"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Strict)
                and value is not Strict
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return sorted(found, key=lambda c: c.__name__)


def _nested(annotation: Any) -> Iterator[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _nested(arg)


def all_models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo = request_models()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_nested(info.annotation))
    return sorted(seen, key=lambda c: c.__name__)


def constraints(annotation: Any, metadata: list[Any]) -> Iterator[Any]:
    """Every constraint object on a field, its type's and its items' types'."""
    yield from metadata
    for arg in typing.get_args(annotation):
        if hasattr(arg, "__metadata__"):
            yield from arg.__metadata__
        yield from constraints(arg, [])
    if hasattr(annotation, "__metadata__"):
        yield from annotation.__metadata__


def broken_values(annotation: Any, metadata: list[Any]) -> Iterator[Any]:
    """Values that break the field's constraints one by one, plus a wrong type."""
    yield {"not": "this"}
    yield "not a number or a list"
    yield ["!! not valid ^$", ""]
    yield -5
    for c in constraints(annotation, metadata):
        pattern = getattr(c, "pattern", None)
        if pattern:
            yield "!! not valid ^$"
            yield ["!! not valid ^$"]
        maximum = getattr(c, "max_length", None)
        if isinstance(c, MaxLen):
            maximum = c.max_length
        if maximum:
            yield "x" * (maximum + 1)
            yield ["a@example.org"] * (maximum + 1)
            yield {f"k{i}": "v" for i in range(maximum + 1)}
        minimum = getattr(c, "min_length", None)
        if isinstance(c, MinLen):
            minimum = c.min_length
        if minimum:
            yield ""
            yield "   "
            yield []
        for bound in ("ge", "gt", "le", "lt"):
            value = getattr(c, bound, None)
            if isinstance(value, int):
                yield value - 2 if bound in ("ge", "gt") else value + 2


def every_refusal() -> Iterator[tuple[str, dict[str, Any]]]:
    for model in all_models():
        try:
            model.model_validate({})
        except ValidationError as exc:
            for error in exc.errors():
                yield model.__name__, dict(error)
        yield from _refusals(model, {"no_such_field": 1})
        yield from _refusals(model, {"text": "NUL \x00 inside"})
        for name, info in model.model_fields.items():
            for value in broken_values(info.annotation, list(info.metadata)):
                yield from _refusals(model, {info.alias or name: value})


def _refusals(model: type[BaseModel], data: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            yield model.__name__, dict(error)


REFUSALS = list(every_refusal())


def test_the_walk_meets_every_kind_of_refusal() -> None:
    kinds = {error["type"] for _, error in REFUSALS}
    for needed in (
        "missing",
        "string_too_long",
        "string_too_short",
        "string_pattern_mismatch",
        "too_long",
        "extra_forbidden",
        "int_parsing",
        "greater_than_equal",
        "literal_error",
        "value_error",
    ):
        assert needed in kinds, needed
    assert len(REFUSALS) > 500


@pytest.mark.parametrize("property_name", [False, True])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_shows_a_regex_a_path_or_pydantic_words(lang: str, property_name: bool) -> None:
    for model, error in REFUSALS:
        (message,) = describe_errors([error], lang, property_name=property_name)
        where = (model, error["type"], error["loc"], message)
        assert str(error["msg"]) not in message, where
        for phrase in PYDANTIC_PHRASES:
            assert phrase not in message, where
        assert not REGEX_SIGNS.search(message), where
        assert not DOTTED_PATH.search(message), where
        pattern = (error.get("ctx") or {}).get("pattern")
        if pattern:
            assert str(pattern) not in message, where
            # A pattern this module knows is explained, not answered with the fallback.
            assert "not accepted here" not in message and "no se aceptan" not in message, where
        assert message.split(":")[0].strip(), where


def test_every_field_of_every_request_model_has_a_human_name() -> None:
    for model in all_models():
        for name, info in model.model_fields.items():
            assert (info.alias or name) in FIELD_NAMES, (model.__name__, name)
    for english, spanish in FIELD_NAMES.values():
        assert english and spanish


def test_sentences_name_the_field_and_say_how_to_fix_it() -> None:
    from badgeworks.services.programs.models import CandidateCreate, IssuerCreate

    with pytest.raises(ValidationError) as caught:
        CandidateCreate.model_validate({"name": "", "emails": ["not-an-address"]})
    en = describe_errors(caught.value.errors(), "en")
    es = describe_errors(caught.value.errors(), "es")
    assert en == [
        "Name: this cannot be empty; fill it in.",
        "Email address (item 1): enter an email address such as name@example.org.",
    ]
    assert es == [
        "Nombre: no puede quedar vacío; rellénelo.",
        "Correo electrónico (elemento 1): escriba una dirección de correo como nombre@example.org.",
    ]
    with pytest.raises(ValidationError) as caught:
        IssuerCreate.model_validate({"name": "Acme", "slug": "Not A Slug", "url": "x"})
    text = " ".join(describe_errors(caught.value.errors(), "en"))
    assert "Short name: use only lower-case letters" in text
    assert "start with a letter or digit" not in text


def test_a_stored_problem_is_described_the_same_later() -> None:
    problem = problems_of(
        [{"type": "string_too_long", "loc": ("body", "title"), "ctx": {"max_length": 300}}]
    )[0]
    again = FieldProblem.from_json(problem.to_json())
    assert again == problem
    assert describe(again, "es") == (
        "Título: es demasiado largo; acórtelo a 300 caracteres como máximo."
    )
