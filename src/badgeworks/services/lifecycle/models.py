"""Request models of the lifecycle routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from badgeworks.services.models import Strict


class RevokeRequest(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
