"""Request and response models of the API-token routes: a token's hash is stored, the token
itself is returned once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from badgeworks.services.models import Strict


class TokenCreate(Strict):
    label: Annotated[str, StringConstraints(max_length=200)] = ""


class TokenPublic(BaseModel):
    id: int
    issuer: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The token itself. Shown once; only its hash is stored.")
