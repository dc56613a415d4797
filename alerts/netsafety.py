"""Webhook URLs must not reach into private networks (SSRF): every address the host resolves to must be
public, unless the operator allows its network (``LISTWATCH_WEBHOOK_ALLOW``)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsafeUrl(ValueError):
    """The URL is malformed or points at an address that is not allowed."""


def _allowed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow: Sequence[Network]) -> bool:
    if any(address in network for network in allow):
        return True
    return address.is_global and not address.is_multicast


async def check_url(url: str, allow: Sequence[Network]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeUrl("webhook URL must use http or https")
    if not parts.hostname:
        raise UnsafeUrl("webhook URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("webhook URL must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl("webhook URL has an invalid port") from None
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UnsafeUrl(f"webhook host {parts.hostname!r} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not _allowed(address, allow):
            raise UnsafeUrl(
                f"webhook host {parts.hostname!r} resolves to {address}, a private, loopback or link-local "
                "address; set LISTWATCH_WEBHOOK_ALLOW to permit it"
            )
