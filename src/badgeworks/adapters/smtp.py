"""Send one email over SMTP (``smtplib``), the only module that talks to a mail server.

``security`` is ``starttls`` (connect in clear, then upgrade with STARTTLS and refuse to
go on if the server does not offer it), ``ssl`` (TLS from the first byte, usually port
465) or ``none`` (only for a local test server). Certificates are checked with the
system's trust store. Every network operation gives up after ``timeout`` seconds.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from badgeworks.core.errors import BadgeworksError


class SmtpError(BadgeworksError):
    """The message could not be handed to the SMTP server."""

    code = "smtp.failed"


@dataclass(frozen=True)
class Mail:
    """One message: plain text with an HTML alternative."""

    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class SmtpSender:
    """An SMTP client configured once, used for each message."""

    host: str
    port: int
    sender: str
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    timeout: float = 10.0
    ssl_context: ssl.SSLContext | None = None

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            client.ehlo()
            if not client.has_extn("starttls"):
                client.quit()
                raise SmtpError(
                    f"the SMTP server {self.host}:{self.port} does not offer STARTTLS; "
                    "refusing to send in clear (set smtp_security to 'ssl' or fix the server)",
                    code="smtp.no_starttls",
                )
            client.starttls(context=context)
            client.ehlo()
        return client

    def message(self, mail: Mail) -> EmailMessage:
        """The MIME message for ``mail`` (multipart/alternative: text, then HTML)."""
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg.set_content(mail.text)
        msg.add_alternative(mail.html, subtype="html")
        return msg

    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` to the server; ``SmtpError`` (``smtp.failed``) if it fails."""
        try:
            client = self._connect()
            try:
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(self.message(mail))
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except SmtpError:
            raise
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise SmtpError(
                f"sending to {mail.to!r:.100} via {self.host}:{self.port} failed: "
                f"{type(exc).__name__}: {str(exc)[:300]}"
            ) from None
