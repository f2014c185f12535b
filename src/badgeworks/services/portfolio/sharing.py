"""Sharing a credential or portfolio: LinkedIn "Add to profile", share links, Open Graph.

Everything here is a plain link or a ``<meta>`` tag: no third-party script is loaded, so
sharing works without JavaScript and nobody is tracked by visiting our pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/"
X_INTENT = "https://twitter.com/intent/tweet"
FACEBOOK_SHARER = "https://www.facebook.com/sharer/sharer.php"


def linkedin_add_to_profile(
    *,
    name: str,
    organization: str,
    issued: datetime | None,
    expires: datetime | None,
    cert_url: str,
    cert_id: str,
) -> str:
    """LinkedIn's "Add to profile" link that pre-fills a Licenses & certifications entry.

    Parameters as LinkedIn's Add to Profile documentation names them: ``startTask``
    ``CERTIFICATION_NAME``, ``name``, ``organizationName``, ``issueYear``/``issueMonth``,
    ``expirationYear``/``expirationMonth`` (only when the credential expires),
    ``certUrl`` and ``certId``. Months are 1-12.
    """
    params: list[tuple[str, str]] = [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", name),
        ("organizationName", organization),
    ]
    if issued is not None:
        params += [("issueYear", str(issued.year)), ("issueMonth", str(issued.month))]
    if expires is not None:
        params += [("expirationYear", str(expires.year)), ("expirationMonth", str(expires.month))]
    params += [("certUrl", cert_url), ("certId", cert_id)]
    return f"{LINKEDIN_ADD}?{urlencode(params, quote_via=quote)}"


@dataclass(frozen=True)
class ShareLink:
    """One "share on …" link; ``network`` names the message key of its label."""

    network: str
    href: str


def share_links(url: str, title: str) -> list[ShareLink]:
    """Plain share links for email, LinkedIn, X and Facebook (no scripts, no tracking)."""
    body = f"{title}\n{url}"
    return [
        ShareLink(
            "email", "mailto:?" + urlencode({"subject": title, "body": body}, quote_via=quote)
        ),
        ShareLink("linkedin", f"{LINKEDIN_SHARE}?{urlencode({'url': url}, quote_via=quote)}"),
        ShareLink("x", f"{X_INTENT}?{urlencode({'text': title, 'url': url}, quote_via=quote)}"),
        ShareLink("facebook", f"{FACEBOOK_SHARER}?{urlencode({'u': url}, quote_via=quote)}"),
    ]


@dataclass(frozen=True)
class MetaTag:
    """A ``<meta>`` tag: Open Graph uses ``property=``, Twitter cards use ``name=``."""

    attribute: str
    key: str
    content: str


def open_graph(
    *,
    title: str,
    description: str,
    url: str,
    image: str | None,
    image_alt: str | None,
    locale: str,
) -> list[MetaTag]:
    """Open Graph and Twitter card tags so a pasted link previews with the badge image."""
    tags = [
        MetaTag("property", "og:type", "website"),
        MetaTag("property", "og:site_name", "badgeworks"),
        MetaTag("property", "og:title", title),
        MetaTag("property", "og:description", description),
        MetaTag("property", "og:url", url),
        MetaTag("property", "og:locale", {"es": "es_ES"}.get(locale, "en_US")),
        MetaTag("name", "twitter:card", "summary"),
        MetaTag("name", "twitter:title", title),
        MetaTag("name", "twitter:description", description),
    ]
    if image:
        tags += [
            MetaTag("property", "og:image", image),
            MetaTag("property", "og:image:alt", image_alt or title),
            MetaTag("name", "twitter:image", image),
            MetaTag("name", "twitter:image:alt", image_alt or title),
        ]
    return tags
