"""The comment renderer escapes everything and allows only a tiny Markdown subset."""

from __future__ import annotations

import pytest

from badgeworks.services.endorsements.markdown import render


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain", "<p>plain</p>"),
        ("a **b** *c* _d_", "<p>a <strong>b</strong> <em>c</em> <em>d</em></p>"),
        ("snake_case_name", "<p>snake_case_name</p>"),
        ("one\ntwo\n\nthree", "<p>one<br>\ntwo</p>\n<p>three</p>"),
        ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
        ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
        (
            "[x](https://a.example/?q=1&r=2)",
            '<p><a href="https://a.example/?q=1&amp;r=2" rel="nofollow noopener noreferrer">'
            "x</a></p>",
        ),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
        ("[x](JAVASCRIPT:alert)", "<p>[x](JAVASCRIPT:alert)</p>"),
        ("[x](//evil.example)", "<p>[x](//evil.example)</p>"),
        ("<b onclick=x>hi</b>", "<p>&lt;b onclick=x&gt;hi&lt;/b&gt;</p>"),
        (
            '[**x**](https://a.example/"onmouseover=1)',
            "<p>[<strong>x</strong>](https://a.example/&quot;onmouseover=1)</p>",
        ),
        ("# heading", "<p># heading</p>"),
        ("", ""),
        ("nul\x00byte", "<p>nulbyte</p>"),
    ],
)
def test_render(source: str, expected: str) -> None:
    assert str(render(source)) == expected
