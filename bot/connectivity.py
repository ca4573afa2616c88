"""Naming a network failure the way an operator can act on it: DNS, refused, timed out; and
whether an address is one the internet (Slack, QTvoice) can send to at all.

httpx, aiohttp and psycopg each wrap the operating system's error in their own; the one that
says what happened (`socket.gaierror`, `ConnectionRefusedError`, a timeout) is somewhere in
the chain of causes, so that chain is what we read.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def network_failure(error: BaseException, url: str) -> str | None:
    """One phrase naming the network failure behind `error` in reaching `url`, else None.

    For example "DNS lookup failed: the host name example.invalid does not resolve" or
    "connection refused by 127.0.0.1:9: nothing is listening there". None means `error`
    is not a failure to reach the host (an HTTP error answer, a bug).
    """
    parts = urlsplit(url)
    host = parts.hostname or url
    where = f"{host}:{parts.port}" if parts.port else host
    causes = list(_causes(error))
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return f"DNS lookup failed: the host name {host} does not resolve"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return f"connection refused by {where}: nothing is listening there"
    if any(isinstance(cause, TimeoutError | httpx.TimeoutException) for cause in causes):
        return f"no answer from {where} in time (network timeout)"
    for cause in causes:
        if isinstance(cause, OSError | httpx.TransportError):
            return f"cannot connect to {where} ({cause})"
    return None


#: Names no public DNS answers for (mDNS `.local`, ICANN's private-use `.internal`, home
#: networks' `.home.arpa`): they name a machine on a local network.
LOCAL_SUFFIXES = (".local", ".internal", ".home.arpa")


def not_public(url: str) -> str | None:
    """Why the internet cannot send to `url` ("is this machine", "is a private address", …),
    or None when it is an https:// address with a public host.

    Judged from the URL alone, never from DNS: a public name may resolve to a private
    address inside an office network (split DNS) and still be reached from outside.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost"):
        return "is this machine"
    if address is not None and (address.is_loopback or address.is_unspecified):
        return "is this machine"
    if address is not None and not address.is_global:
        return "is a private address"
    if address is None and ("." not in host or host.endswith(LOCAL_SUFFIXES)):
        return "is a name only a local network knows"
    if parts.scheme != "https":
        return "is plain http, not https"
    return None
