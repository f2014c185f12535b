"""The start page: what badgeworks is and where each kind of visitor goes next."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from badgeworks.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    """Links for employers (verify), candidates (/me), staff (console) and developers."""
    return render(request, "home.html", headers={"Cache-Control": "public, max-age=300"})
