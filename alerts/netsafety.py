"""Outbound targets of network sinks must not reach into private networks (SSRF).

Every address a target resolves to must be public, unless the operator allows its network
(``LISTWATCH_WEBHOOK_ALLOW``). IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64
``64:ff9b::/96``, 6to4, Teredo) are judged by that IPv4 address too, so ``[64:ff9b::7f00:1]`` is loopback.
Checked when an endpoint is created and again before each send; for webhooks the connection itself goes
through ``GuardedResolver``, so it uses only addresses that passed the check (no DNS-rebinding window).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use, never public
_COMPAT = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible addresses


class UnsafeUrl(ValueError):
    """The URL is malformed or points at an address that is not allowed."""


def _embedded_ipv4(address: Address) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    out: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        out.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        out.append(address.sixtofour)
    if address.teredo is not None:
        out.extend(address.teredo)
    if address in _NAT64 or address in _COMPAT:
        out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return out


def address_allowed(address: Address, allow: Sequence[Network]) -> bool:
    if any(address in network for network in allow):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address in _NAT64_LOCAL:
        return False
    if any(not address_allowed(inner, allow) for inner in _embedded_ipv4(address)):
        return False
    return address.is_global and not address.is_multicast


async def resolve_allowed(host: str, port: int, allow: Sequence[Network], what: str = "target") -> list[Address]:
    """Every address ``host`` resolves to, or UnsafeUrl when one of them is not allowed."""
    try:
        addresses: list[Address] = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UnsafeUrl(f"{what} host {host!r} does not resolve: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address_allowed(address, allow):
            raise UnsafeUrl(
                f"{what} host {host!r} resolves to {address}, a private, loopback or link-local address; "
                "set LISTWATCH_WEBHOOK_ALLOW to permit it"
            )
    return addresses


async def check_url(url: str, allow: Sequence[Network], what: str = "webhook URL") -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeUrl(f"{what} must use http or https")
    if not parts.hostname:
        raise UnsafeUrl(f"{what} has no host")
    if parts.username or parts.password:
        raise UnsafeUrl(f"{what} must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeUrl(f"{what} has an invalid port") from None
    await resolve_allowed(parts.hostname, port, allow, what.split()[0])


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that returns only allowed addresses: the connection is pinned to what was
    checked, whatever the name resolves to a moment later."""

    def __init__(self, allow: Sequence[Network]) -> None:
        self._allow = tuple(allow)
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not address_allowed(ipaddress.ip_address(result["host"]), self._allow):
                raise OSError(f"{host} resolved to {result['host']}, which is not an allowed address")
        return results

    async def close(self) -> None:
        await self._inner.close()
