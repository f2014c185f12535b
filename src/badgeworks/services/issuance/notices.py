"""Telling the candidate: the email queued when a credential is issued to them.

The message is queued in the outbox (``services.infra.outbox.enqueue``) inside the
transaction that stores the credential, so it commits with the credential or not at all,
and no mail is sent while a write transaction is open: the outbox worker (or
``badgeworks outbox send``) delivers it later, and a failure stays in the outbox like any
other message (docs/outbox.md). A project has at most one credential and a bulk row is
claimed once (docs/architecture.md), so the credential is stored once and its message
queued once: a re-run of a bulk file, or a retried completion, sends nothing twice.

The message is written in the language the credential is written in (the achievement
version's ``inLanguage``), Spanish or English: the program issues in its candidates'
language. It signs no one in: the sign-in address is the page where the candidate asks
for a link, not a link that signs them in. It carries a wallet offer (docs/wallets.md):
single use and expiring, and its PIN, when the program wants one, in a message of its own.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from sqlmodel import Session

from badgeworks.db.models import AchievementVersion, Candidate, Credential, Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.exchange import oid4vci
from badgeworks.services.infra import outbox
from badgeworks.services.locale_format import local_datetime
from badgeworks.services.portfolio.store import find_for_candidate, portfolio_url

#: The languages the message is written in; any other credential language gets English.
LANGUAGES = ("en", "es")

#: Each sentence of the message, in English and Spanish (``str.format`` fields).
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your credential: {achievement}",
        "hello": "Hello {name},",
        "issued": "{issuer} has issued you the credential “{achievement}”, signed so that "
        "anyone can check it is genuine.",
        "credential": "Your credential's page (send this address to an employer):",
        "portfolio": "Your portfolio, with all your credentials:",
        "sign_in": "Sign in to choose what your portfolio shows (we email you a link, no "
        "password):",
        "share": "To share it: on the credential's page, add it to your LinkedIn profile, "
        "copy its link or QR code, or download the PDF certificate or the badge image "
        "(the image carries the signed credential inside it). Anyone can check it at:",
        "closing": "You get this message because {issuer} issued a credential to this address.",
        "open_credential": "Open your credential",
        "open_portfolio": "Open your portfolio",
        "open_sign_in": "Sign in",
        "open_verify": "Check a credential",
        "wallet": "To keep it in a digital wallet app on your phone, scan this QR code with "
        "the wallet, or open the link on the phone where your wallet is. It works once, "
        "until {until}; later, make a new offer on your credential's page.",
        "wallet_pin": "Your program asks for a PIN: it comes in a separate message.",
        "open_wallet": "Add to your wallet",
        "wallet_qr": "QR code of the wallet offer",
    },
    "es": {
        "subject": "Tu credencial: {achievement}",
        "hello": "Hola, {name}:",
        "issued": "{issuer} te ha emitido la credencial «{achievement}», firmada para que "
        "cualquiera pueda comprobar que es auténtica.",
        "credential": "La página de tu credencial (envía esta dirección a quien te contrate):",
        "portfolio": "Tu portafolio, con todas tus credenciales:",
        "sign_in": "Inicia sesión para elegir qué muestra tu portafolio (te enviamos un "
        "enlace por correo, sin contraseña):",
        "share": "Para compartirla: en la página de la credencial, añádela a tu perfil de "
        "LinkedIn, copia su enlace o su código QR, o descarga el certificado en PDF o la "
        "imagen de la insignia (la imagen lleva dentro la credencial firmada). "
        "Cualquiera puede comprobarla en:",
        "closing": "Recibes este mensaje porque {issuer} emitió una credencial a esta dirección.",
        "open_credential": "Abrir tu credencial",
        "open_portfolio": "Abrir tu portafolio",
        "open_sign_in": "Iniciar sesión",
        "open_verify": "Comprobar una credencial",
        "wallet": "Para guardarla en una aplicación de cartera digital en tu móvil, escanea "
        "este código QR con la cartera, o abre el enlace en el móvil donde la tienes. "
        "Sirve una sola vez, hasta el {until}; después, crea otra oferta en la página "
        "de tu credencial.",
        "wallet_pin": "Tu programa pide un PIN: te llega en un mensaje aparte.",
        "open_wallet": "Añadir a tu cartera",
        "wallet_qr": "Código QR de la oferta para la cartera",
    },
}


def language_of(version: AchievementVersion) -> str:
    """The message's language: the credential's ``inLanguage`` if we write in it, else English."""
    primary = (version.in_language or "").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else "en"


def queue_issued(
    session: Session,
    ctx: ServiceContext,
    *,
    issuer: Issuer,
    candidate: Candidate,
    version: AchievementVersion,
    credential_url: str,
    credential_id: str,
    now: datetime,
) -> bool:
    """Queue the "your credential is issued" message in the caller's transaction.

    False (nothing queued) when the candidate has no email address.
    """
    if not candidate.emails:
        return False
    lang = language_of(version)
    words = TEXT[lang]
    portfolio = find_for_candidate(session, candidate.id or 0)
    links = [
        ("credential", "open_credential", credential_url),
        *(
            [("portfolio", "open_portfolio", portfolio_url(ctx, portfolio))]
            if portfolio is not None
            else []
        ),
        ("sign_in", "open_sign_in", f"{ctx.base_url}/me/sign-in?lang={lang}"),
        ("share", "open_verify", f"{ctx.base_url}/verify"),
    ]
    fields = {"name": candidate.name, "issuer": issuer.name, "achievement": version.name}
    hello = words["hello"].format(**fields)
    issued = words["issued"].format(**fields)
    closing = words["closing"].format(**fields)
    # A single-use offer for the candidate's wallet, made in this same transaction
    # (docs/wallets.md); its PIN, when the program wants one, goes in a message of its own.
    row = session.get(Credential, credential_id)
    offer = oid4vci.email_offer(session, ctx, row, now) if row is not None else None
    wallet_text = wallet_html = ""
    if offer is not None:
        until = local_datetime(offer.expires_at, lang)
        wallet_words = words["wallet"].format(until=until)
        pin = f" {words['wallet_pin']}" if offer.pin_required else ""
        wallet_text = f"\n\n{wallet_words}{pin}\n{offer.link}"
        qr_src = oid4vci.offer_qr_url(ctx, offer.offer_id)
        wallet_html = (
            f"<p>{escape(wallet_words + pin)}<br>"
            f'<img src="{escape(qr_src)}" alt="{escape(words["wallet_qr"])}" width="240" '
            f'height="240"><br><a href="{escape(offer.link)}">'
            f"{escape(words['open_wallet'])}</a></p>"
        )
    text = "\n\n".join([hello, issued, *(f"{words[key]}\n{url}" for key, _, url in links), closing])
    html = "".join(
        [
            f"<p>{escape(hello)}</p>",
            f"<p>{escape(issued)}</p>",
            *(
                f'<p>{escape(words[key])}<br><a href="{escape(url)}">{escape(words[label])}</a></p>'
                for key, label, url in links
            ),
            wallet_html,
            f"<p>{escape(closing)}</p>",
        ]
    )
    outbox.enqueue(
        session,
        to=candidate.emails[0],
        subject=words["subject"].format(**fields),
        text=text + wallet_text + "\n",
        html=f'<div lang="{lang}">{html}</div>',
        issuer_id=issuer.id,
        reference=f"credential_issued:{credential_id}",
        now=now,
    )
    return True
