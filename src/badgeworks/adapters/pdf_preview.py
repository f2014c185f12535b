"""A picture of a PDF's first page, for deliverable previews on portfolio and credential pages.

PDFs are uploaded by candidates and programs, so they are untrusted input to a C library
(PDFium, through ``pypdfium2``). Rendering therefore runs in a **separate process** with a
CPU-time and memory cap and a wall-clock timeout: a hostile file can fail or be killed,
never take the server with it. The child reads the PDF on stdin and writes a PNG on stdout
(``python -m badgeworks.adapters.pdf_preview``); nothing else crosses the boundary.

Results are cached by the PDF's SHA-256 (content-addressed, so a preview never goes
stale): ``<cache>/<sha>.png``, or ``<sha>.failed`` for a file that could not be rendered,
so a bad file is tried once, not on every page view.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from badgeworks.core.errors import BadgeworksError

#: The preview's width in pixels at most (its height follows the page's shape).
MAX_WIDTH = 480
#: The tallest preview (a very long page is cut to this height).
MAX_HEIGHT = 960
TIMEOUT_SECONDS = 10.0
#: Address space of the rendering process (bytes).
MEMORY_LIMIT = 1024 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


class PreviewError(BadgeworksError):
    """The PDF could not be rendered (broken, hostile, too slow, or not a PDF)."""


def render_first_page(pdf: bytes, *, timeout: float = TIMEOUT_SECONDS) -> bytes:
    """PNG bytes of ``pdf``'s first page, at most ``MAX_WIDTH`` wide; ``PreviewError``
    if it is not a PDF or the isolated renderer fails, crashes or runs out of time."""
    if not pdf.startswith(PDF_MAGIC):
        raise PreviewError("this file is not a PDF", code="preview.not_pdf")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "badgeworks.adapters.pdf_preview"],
            input=pdf,
            capture_output=True,
            timeout=timeout,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    except subprocess.TimeoutExpired as exc:
        raise PreviewError(
            f"rendering the PDF took longer than {timeout:g} s", code="preview.timeout"
        ) from exc
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG\r\n\x1a\n"):
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["crashed"]
        raise PreviewError(
            f"the PDF could not be rendered: {reason[0]:.200}", code="preview.failed"
        )
    return done.stdout


def _limit_child() -> None:  # pragma: no cover - runs in the child process
    """Cap this (child) process's CPU time and memory before it reads the PDF. Done by the
    child itself: ``preexec_fn`` is not safe in a threaded server."""
    if os.name != "posix":
        return
    import resource

    cpu = int(TIMEOUT_SECONDS) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class PreviewCache:
    """First-page previews by the PDF's SHA-256, rendered once (successes and failures)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def get(self, sha256: str, load_pdf: Callable[[], bytes]) -> bytes | None:
        """The cached preview, else render it from ``load_pdf()`` and keep the outcome;
        None when this PDF cannot be previewed."""
        png = self.root / f"{sha256}.png"
        failed = self.root / f"{sha256}.failed"
        if png.exists():
            return png.read_bytes()
        if failed.exists():
            return None
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            data = render_first_page(load_pdf())
        except PreviewError as exc:
            _write_atomically(failed, exc.code.encode())
            return None
        _write_atomically(png, data)
        return data


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _render_stdin_to_stdout() -> int:  # pragma: no cover - runs in the child process
    _limit_child()
    import pypdfium2
    from PIL import Image

    document = pypdfium2.PdfDocument(sys.stdin.buffer.read())
    try:
        if len(document) < 1:
            print("the PDF has no pages", file=sys.stderr)
            return 1
        page = document[0]
        width, height = page.get_size()
        if not (0 < width < 20_000 and 0 < height < 20_000):
            print("the first page has an impossible size", file=sys.stderr)
            return 1
        scale = min(MAX_WIDTH / width, 4.0)
        image = page.render(scale=scale).to_pil().convert("RGB")
        if image.height > MAX_HEIGHT:
            image = image.crop((0, 0, image.width, MAX_HEIGHT))
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        Image.open(io.BytesIO(out.getvalue())).verify()
        sys.stdout.buffer.write(out.getvalue())
        return 0
    finally:
        document.close()


if __name__ == "__main__":  # pragma: no cover - the child process
    sys.exit(_render_stdin_to_stdout())
