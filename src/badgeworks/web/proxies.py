"""Which proxies may say who the client is (``X-Forwarded-For``/``-Proto``).

Per-client limits (the verifier, candidate sign-in links, staff sign-in) key on the
client's address. Taken from ``X-Forwarded-For`` of any peer, a client could name a new
address on every request and never be limited, so by default no proxy is trusted and the
peer of the TCP connection is the client. ``badgeworks serve --forwarded-allow-ips``
(``BADGEWORKS_FORWARDED_ALLOW_IPS``) names the reverse proxies in front of the service.
"""

from __future__ import annotations

import ipaddress

from badgeworks.core.errors import ConfigError


def trusted_proxies(value: str) -> list[str]:
    """The trusted proxy addresses and networks in ``value`` (comma-separated), checked.

    ``*`` trusts every peer: only for a service no client can reach except through the
    proxy. Anything that is not an address, a CIDR network or ``*`` is a ``ConfigError``.
    """
    entries = [part.strip() for part in value.split(",") if part.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"forwarded-allow-ips: {entry!r:.80} is not an IP address or CIDR network; "
                "give the addresses of your reverse proxies, e.g. 127.0.0.1,10.0.0.0/8",
                code="config.forwarded_allow_ips",
            ) from None
    return entries
