"""A credential's description is joined from parts staff typed: each part ends once,
whatever marks and spaces it was typed with (``core.credential.sentence``/``sentences``)."""

from __future__ import annotations

import time

import pytest

from badgeworks.core.credential import sentence, sentences


@pytest.mark.parametrize(
    ("typed", "signed"),
    [
        ("Done", "Done."),
        ("Done.", "Done."),
        ("Done..", "Done."),
        ("Done. .", "Done."),
        ("Done .", "Done."),
        ("Done,", "Done."),
        ("Done;", "Done."),
        ("Done:", "Done."),
        ("  Done  \n", "Done."),
        ("Done?", "Done?"),
        ("Done?.", "Done?"),
        ("Done ?", "Done?"),
        ("Done!", "Done!"),
        ("Done!!", "Done!!"),
        ("Really?!", "Really?!"),
        ("Wait...", "Wait..."),
        ("Wait…", "Wait…"),
        ("Wait… .", "Wait…"),
        ('They said "go."', 'They said "go."'),
        ("(see the report.)", "(see the report.)"),
        ("(see the report)", "(see the report)."),
        (".NET migration", ".NET migration."),
        ("Acme Inc.", "Acme Inc."),
        ("First paragraph.\n\nSecond one", "First paragraph.\n\nSecond one."),
    ],
)
def test_a_part_ends_once(typed: str, signed: str) -> None:
    assert sentence(typed) == signed


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t", ".", " . . ", "?!", "…"])
def test_a_blank_part_is_left_out(blank: str | None) -> None:
    assert sentence(blank) is None
    assert sentences("Project: Churn", blank, "Hosted by Northwind") == (
        "Project: Churn. Hosted by Northwind."
    )


def test_joined_parts_never_double_their_marks() -> None:
    joined = sentences(
        "Project: Done.", "Hosted by Acme Inc.", "Mentored by Grace Hopper, J. Smith Jr.", "Why?"
    )
    assert (
        joined == "Project: Done. Hosted by Acme Inc. Mentored by Grace Hopper, J. Smith Jr. Why?"
    )
    assert ".." not in joined and ". ." not in joined
    assert sentences() == "" and sentences(None, " ") == ""


def test_a_long_run_of_marks_is_read_in_linear_time() -> None:
    # A summary of 20,000 characters (the longest a project accepts) of marks and spaces.
    started = time.perf_counter()
    assert sentence("x" + ". " * 10_000) == "x."
    assert sentence("." * 20_000 + "x") == "." * 20_000 + "x."
    assert sentence(")" * 20_000) == ")" * 20_000 + "."
    assert time.perf_counter() - started < 0.5
