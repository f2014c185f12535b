"""First-page previews of PDF deliverables: rendered once, in an isolated process.

A PDF is untrusted input to a C library, so rendering runs in a child process with a
time and memory cap; a broken file gets no preview (and is not retried), never a 500.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from badgeworks.adapters import pdf_preview
from badgeworks.adapters.pdf_preview import MAX_WIDTH, PreviewError, render_first_page
from badgeworks.services.demo import pdf_report
from tests.issuer_app import Issued, IssuerHandle, draft_project

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _sha_of(credential: dict[str, object], name: str) -> str:
    evidence = [e for e in credential["evidence"] if e["name"] == name]  # type: ignore[attr-defined]
    return str(evidence[0]["id"]).rsplit("/", 1)[1]


@sqlite_only
def test_a_pdf_deliverable_gets_a_first_page_picture(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sha = _sha_of(issued.credential, "Final report")
    r = client.get(f"/blobs/{sha}/preview.png")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert "immutable" in r.headers["cache-control"]
    image = Image.open(io.BytesIO(r.content))
    assert image.format == "PNG" and image.width == MAX_WIDTH and image.height > image.width
    # Rendered once: the next view is the cached file, even with rendering unavailable.
    cached = app.state.ctx.settings.data_dir / "previews" / f"{sha}.png"
    assert cached.read_bytes() == r.content
    assert client.get(f"/blobs/{sha}/preview.png").content == r.content


@sqlite_only
def test_only_pdf_deliverables_have_previews(client: TestClient, issued: Issued) -> None:
    png_sha = _sha_of(issued.credential, "Pipeline diagram")
    for path in (f"/blobs/{png_sha}/preview.png", f"/blobs/{'0' * 64}/preview.png"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "preview.not_found", path
    assert client.get("/blobs/not-a-digest/preview.png").status_code == 404


@sqlite_only
def test_a_broken_pdf_gets_no_preview_and_is_not_retried(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = draft_project(client, acme)
    broken = b"%PDF-1.7\n" + b"\x00\xff" * 500 + b"\n%%EOF"
    r = client.post(
        f"/api/v1/projects/{ids['project']}/deliverables",
        files={"file": ("broken.pdf", broken, "application/pdf")},
        data={"name": "Broken report"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    sha = hashlib.sha256(broken).hexdigest()
    r = client.get(f"/blobs/{sha}/preview.png")
    assert r.status_code == 404 and r.json()["code"] == "preview.unavailable"
    assert (app.state.ctx.settings.data_dir / "previews" / f"{sha}.failed").exists()

    def must_not_render(pdf: bytes, **_: object) -> bytes:
        raise AssertionError("a PDF that failed once is not rendered again")

    monkeypatch.setattr(pdf_preview, "render_first_page", must_not_render)
    assert client.get(f"/blobs/{sha}/preview.png").status_code == 404


def test_renderer_refuses_non_pdfs_and_gives_up_on_time() -> None:
    with pytest.raises(PreviewError) as not_pdf:
        render_first_page(b"<html><script>alert(1)</script></html>")
    assert not_pdf.value.code == "preview.not_pdf"
    with pytest.raises(PreviewError) as slow:
        render_first_page(pdf_report("Slow", ["x"]), timeout=0.001)
    assert slow.value.code == "preview.timeout"
    with pytest.raises(PreviewError) as broken:
        render_first_page(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ntrailer\n%%EOF")
    assert broken.value.code == "preview.failed"


@pytest.mark.skipif(os.name != "posix", reason="resource limits are POSIX")
def test_the_renderer_caps_its_own_cpu_and_memory() -> None:
    """The child sets its limits itself (``preexec_fn`` is unsafe in a threaded server)."""
    probe = (
        "import resource\n"
        "from badgeworks.adapters.pdf_preview import MEMORY_LIMIT, _limit_child\n"
        "_limit_child()\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[0] == MEMORY_LIMIT,"
        " resource.getrlimit(resource.RLIMIT_CPU)[0] > 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True)
    assert done.stdout.split() == [b"True", b"True"]
