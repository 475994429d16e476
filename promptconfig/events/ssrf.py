"""The one place webhook URLs are checked and called (server-side request forgery guard).

A URL's host is resolved when the webhook is saved and again at every delivery; every address it resolves to
must be a public unicast address (loopback, private, link-local, multicast, reserved, unspecified, shared and
their IPv6 forms, IPv4-mapped ones included, are refused) unless the host is listed in WEBHOOK_ALLOWED_HOSTS.
The request then goes to the address that was checked (no second DNS lookup), with the original host in
`Host` and in TLS SNI; redirects are not followed, the answer is read up to WEBHOOK_MAX_RESPONSE_BYTES and the
whole call is bounded by WEBHOOK_TIMEOUT_SECONDS.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(Exception):
    """The URL may not be called; the message says why (shown to the API caller and in the delivery log)."""


class Unresolvable(UrlRefused):
    """The host has no address now. Saving such a URL is allowed (every delivery resolves and checks again)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # path and query

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str
    error: str
    seconds: float


def forbidden_reason(address: IPAddress) -> str | None:
    """Why this address is not a public unicast one, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason} (embedded in {address})" if reason else None
    for flag, reason in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
        ("is_site_local", "site-local"),
    ):
        if getattr(address, flag, False):
            return reason
    if not address.is_global:
        return "not globally routable"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (IP literals resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"The host '{host}' does not resolve: {exc}.") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def allowed_host(host: str) -> bool:
    return host.lower().rstrip(".") in {name.lower().rstrip(".") for name in settings.WEBHOOK_ALLOWED_HOSTS}


def check_url(url: str) -> Target:
    """The URL as a Target to connect to, or UrlRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"Invalid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("The URL must be http:// or https://.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("The URL has no host.")
    if parts.username or parts.password:
        raise UrlRefused("The URL may not carry credentials.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise Unresolvable(f"The host '{host}' does not resolve.")
    if not allowed_host(host):
        for text in addresses:
            reason = forbidden_reason(ipaddress.ip_address(text.split("%")[0]))
            if reason:
                raise UrlRefused(
                    f"The host '{host}' resolves to {text}, a{'n' if reason[0] in 'aeiou' else ''} {reason} "
                    "address: webhooks may only call public addresses (or hosts listed in WEBHOOK_ALLOWED_HOSTS)."
                )
    path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return Target(scheme=parts.scheme, host=host, port=port, address=addresses[0], path=path)


def post(target: Target, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to the checked address; never raises for the receiver's faults (they are the Answer)."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    limit = settings.WEBHOOK_MAX_RESPONSE_BYTES
    address = f"[{target.address}]" if ":" in target.address else target.address
    url = f"{target.scheme}://{address}:{target.port}{target.path}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.monotonic()
    deadline = started + timeout
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST", url, content=body, headers={**headers, "Host": target.host_header}, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                received = bytearray()
                for chunk in response.iter_raw():
                    received += chunk
                    if len(received) >= limit or time.monotonic() > deadline:
                        break
            finally:
                response.close()
            excerpt = bytes(received[:limit]).decode("utf-8", "replace")
            return Answer(response.status_code, excerpt, "", time.monotonic() - started)
    except httpx.TimeoutException:
        return Answer(None, "", f"Timed out after {timeout:g} s.", time.monotonic() - started)
    except httpx.HTTPError as exc:
        return Answer(None, "", f"{type(exc).__name__}: {exc}"[:500], time.monotonic() - started)
