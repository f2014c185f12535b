"""Shared fixtures: the strict loader (plus the test-only examples context) and vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from badgeworks.adapters.resources import default_loader
from badgeworks.core.loader import DocumentLoader

VECTORS = Path(__file__).parent / "vectors"
EDDSA = VECTORS / "vc-di-eddsa"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="session")
def loader() -> DocumentLoader:
    """The production loader plus the VC 2.0 examples context the W3C vectors use."""
    examples = read_json(VECTORS / "contexts" / "credentials-examples-v2.jsonld")
    return default_loader().with_documents({EXAMPLES_V2: examples})


@pytest.fixture(scope="session")
def strict_loader() -> DocumentLoader:
    """Exactly the production loader."""
    return default_loader()
