"""From a fresh ``make run`` (``badgeworks serve --demo``), the independent wallet takes the
demo candidate's badge from ``/me`` and answers an employer's request at ``/verify``.

The service runs as ``make run`` runs it, in its own process on a free port with a fresh
data directory; the sign-in link is read where a person reads it, in the terminal the
demo prints its mail to.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.html_page import Page, csrf_of
from tests.interop.wallet_support import Wallet, wallet
from tests.servers import free_port

pytestmark = pytest.mark.interop

__all__ = ["wallet"]  # the fixture, used by name

BADGEWORKS = Path(sys.executable).with_name("badgeworks")
#: Migrations, the demo's keys and signing, then serving: generous for a loaded machine.
START_TIMEOUT_S = 120


class Demo:
    """``badgeworks serve --demo`` in a child process, and what it prints."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("BADGEWORKS_")}
        env.update({"BADGEWORKS_DATA_DIR": str(data_dir), "BADGEWORKS_WORKERS": "1"})
        self.proc = subprocess.Popen(
            [str(BADGEWORKS), "serve", "--demo", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, "".join(self.lines))
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"the demo never printed {pattern!r}:\n{''.join(self.lines)[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    running = Demo(tmp_path / "data")
    try:
        yield running
    finally:
        running.stop()


def test_make_run_demo_candidate_to_wallet_to_employer(demo: Demo, wallet: Wallet) -> None:
    base = re.escape(demo.base)
    credential_id = demo.wait_for(base + r"/credentials/([0-9a-f-]{36})\n").group(1)
    demo.wait_for(r"badgeworks listening on ")
    with httpx.Client(base_url=demo.base, timeout=30, follow_redirects=True) as http:
        # The candidate: the sign-in link arrives in the demo's terminal.
        page = http.get("/me/sign-in")
        sent = http.post(
            "/me/sign-in", data={"email": "ada@example.org", "csrf_token": csrf_of(page.text)}
        )
        assert sent.status_code == 200, sent.text
        link = demo.wait_for(base + r"(/me/link/[A-Za-z0-9_-]+)", timeout=60).group(1)
        page = http.get(link)
        me = http.post(link, data={"nonce": csrf_of(page.text, "nonce")})
        assert str(me.url) == f"{demo.base}/me", me.url
        assert f"/me/wallet/{credential_id}" in Page(me.text).hrefs()
        confirm = http.get(f"/me/wallet/{credential_id}")
        made = http.post(f"/me/wallet/{credential_id}", data={"csrf_token": csrf_of(confirm.text)})
        (offer,) = [a["href"] for a in Page(made.text).all("a", class_="wallet-link")]
        got = wallet.receive(offer)
        assert got.ok, got.out

        # The employer: ask the candidate's wallet at /verify; the wallet answers.
        started = http.post("/verify/wallet", data={})
        assert started.status_code == 200, started.text
        (request,) = [h for h in Page(started.text).hrefs() if h.startswith("openid4vp://")]
        answered = wallet.present(request)
        assert answered.ok, answered.out
        report = Page(http.get(started.url).text).text
        assert "✓ Verified" in report and "Not verified" not in report, report[:2000]
        name = got.out["credential"]["credentialSubject"]["achievement"]["name"]
        assert name in report and "Ada" in report, report[:2000]
