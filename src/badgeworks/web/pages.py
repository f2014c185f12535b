"""Rendering HTML pages: one Jinja environment, the shared layout and the page language.

Routes build plain data and call ``render(request, "template.html", **data)``. Every page
extends ``base.html`` (skip link, landmarks, language switch, no JavaScript required) and
gets ``t`` (the translator), ``lang`` and ``base_url``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from badgeworks.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, catalog, negotiate

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def make_environment() -> Environment:
    """The Jinja environment for all pages (autoescaping on), with the ``date``,
    ``datetime``, ``time`` and ``number`` filters in the page's language
    (``docs/translations.md``)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["date"] = _date_filter
    env.filters["datetime"] = _datetime_filter
    env.filters["time"] = _time_filter
    env.filters["number"] = _number_filter
    # Read the catalogs now (once a process, about a quarter of a second) rather than
    # during the first visitor's request.
    for lang in LANGUAGES:
        catalog(lang)
    return env


def _translator(context: Context) -> Translator:
    """The page's translator; a template rendered without one (a macro imported without
    context) writes English."""
    t = context.get("t")
    return t if isinstance(t, Translator) else Translator(str(context.get("lang") or ""))


@pass_context
def _date_filter(context: Context, value: Any, width: str = "long") -> str:
    return _translator(context).date(value, width)  # type: ignore[arg-type]


@pass_context
def _datetime_filter(context: Context, value: Any, width: str = "long") -> str:
    return _translator(context).datetime(value, width)  # type: ignore[arg-type]


@pass_context
def _time_filter(context: Context, value: Any) -> str:
    return _translator(context).time(value)


@pass_context
def _number_filter(context: Context, value: Any) -> str:
    return _translator(context).number(value)


def page_language(request: Request) -> str:
    """The language of this request's page."""
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def language_links(request: Request) -> list[dict[str, str]]:
    """Links to this same page in each language (for the switcher)."""
    links = []
    for lang in LANGUAGES:
        params = dict(request.query_params)
        params["lang"] = lang
        links.append({"lang": lang, "name": LANGUAGE_NAMES[lang], "href": f"?{urlencode(params)}"})
    return links


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **data: Any,
) -> HTMLResponse:
    """Render ``template`` with the shared page context; remembers an explicit ``?lang=``."""
    lang = page_language(request)
    env: Environment = request.app.state.templates
    settings = request.app.state.settings
    html = env.get_template(template).render(
        t=Translator(lang),
        lang=lang,
        languages=language_links(request),
        base_url=settings.base_url,
        request_path=request.url.path,
        **data,
    )
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers.setdefault("Vary", "Accept, Accept-Language, Cookie")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    query_lang = request.query_params.get("lang")
    if query_lang in LANGUAGES:
        response.set_cookie("lang", query_lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response
