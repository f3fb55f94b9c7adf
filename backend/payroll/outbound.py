"""Where Plumb may send an employer's payroll data: the one outbound-address policy, and how a failed call is told.

A payroll connection's `endpoint_url` is chosen by the sponsor, so every call to it could be aimed at the
platform's own network (server-side request forgery, security review H-1). The rules, checked when a connection
is created and again at every new connection to the endpoint:

- https only; plain http only to a loopback host, and only when `Config.allow_loopback_http` is on (development
  and the tests; off by default);
- no user name or password in the URL, and a host;
- every address the host resolves to must be public: no loopback (unless the setting is on), private (RFC 1918),
  shared (CGNAT, RFC 6598), link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254 among them: the
  latter is unique-local), multicast, unspecified or reserved address, IPv4 addresses embedded in IPv6 included;
- the name is resolved once per new connection, every address checked, and the socket connected to a checked
  address (never by the name again), so a DNS answer that changes between the check and the connect
  ("rebinding") cannot slip in. TLS still checks the certificate against the host name;
- redirects are never followed (a 3xx is a failure), and nothing of a receiver's answer but its status is kept:
  `failure_reason` turns an error into a short classification fit to show a sponsor or a participant.
"""
import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]
LOOPBACK_NAMES = ("localhost", "localhost.")
# NAT64's well-known prefix (RFC 6052) carries an IPv4 address in its last 32 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressNotAllowed(ValueError):
    """The URL or an address it resolves to is not one Plumb may send payroll data to; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for host:port, in its order (IP literals resolve to themselves)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:  # a name IDNA cannot encode resolves to nothing
        raise socket.gaierror(socket.EAI_NONAME, "not a resolvable name") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo's client, NAT64), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_refusal(text: str, allow_loopback: bool = False) -> str | None:
    """Why payroll data may not go to this IP address, or None when it may.

    >>> address_refusal("93.184.216.34") is None
    True
    >>> address_refusal("::ffff:169.254.169.254")
    'a link-local address (::ffff:169.254.169.254)'
    """
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # a scope id (fe80::1%eth0) is not part of the address
    except ValueError:
        return f"not an IP address ({text})"
    kind = _refused_kind(address, allow_loopback)
    return None if kind is None else f"{kind} ({text})"


def _refused_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> str | None:
    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind = _refused_kind(embedded, allow_loopback)
            if kind is not None or address.ipv4_mapped:
                return kind  # a mapped address is its IPv4 address; 6to4, Teredo and NAT64 get their own checks too
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    kinds = (("is_unspecified", "an unspecified address"), ("is_link_local", "a link-local address"),
             ("is_multicast", "a multicast address"), ("is_reserved", "a reserved address"),
             ("is_private", "a private address"), ("is_site_local", "a site-local address"))
    for attribute, kind in kinds:
        if getattr(address, attribute, False):
            return kind
    if not address.is_global:  # CGNAT's 100.64.0.0/10 is neither private nor global, among others
        return "not a public address"
    return None


class OutboundPolicy:
    """The outbound-address rules with the application's setting and a resolver (the system's unless the tests
    give one of their own, which is how they simulate DNS). One per application, shared by connection creation
    and every adapter."""

    def __init__(self, allow_loopback_http: bool = False, resolver: Resolver = system_resolver):
        self.allow_loopback_http = allow_loopback_http
        self.resolver = resolver

    def check_url(self, url: str) -> tuple[str, str, int]:
        """(scheme, host, port) of a URL payroll data may be sent to, before resolution; AddressNotAllowed if not."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise AddressNotAllowed("is not a valid URL") from None
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("https", "http"):
            raise AddressNotAllowed("must be an https URL")
        if parts.username is not None or parts.password is not None:
            raise AddressNotAllowed("must not carry a user name or password")
        if not host:
            raise AddressNotAllowed("must name a host")
        literal = _ip_literal(host)
        if scheme == "http":
            loopback = host in LOOPBACK_NAMES or (literal is not None and _is_loopback(literal))
            if not (self.allow_loopback_http and loopback):
                raise AddressNotAllowed("must be an https URL")
        if literal is not None:
            refusal = address_refusal(literal, self.allow_loopback_http)
            if refusal:
                raise AddressNotAllowed(f"points to {refusal}, where payroll data may not go")
        return scheme, host, port or (443 if scheme == "https" else 80)

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for host:port, every one checked: resolved once, here. AddressNotAllowed
        when any is refused (one bad answer among good ones is a sign of rebinding), OSError when none resolve."""
        found = self.resolver(host, port)
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        for address in found:
            refusal = address_refusal(address, self.allow_loopback_http)
            if refusal:
                raise AddressNotAllowed(f"{host} resolves to {refusal}, where payroll data may not go")
            if host.lower() in LOOPBACK_NAMES and not _is_loopback(address):
                # http is allowed to "localhost" (with the setting) because it names this machine: it must.
                raise AddressNotAllowed(f"{host} resolves to {address}, not a loopback address")
        return found

    def check_destination(self, url: str) -> None:
        """The check at connection creation: the URL's form and, if the host resolves now, its addresses. A name
        that does not resolve yet is let through: every call checks again, and fails while it does not."""
        _, host, port = self.check_url(url)
        try:
            self.addresses(host, port)
        except OSError:
            pass

    def connect(self, host: str, port: int, timeout: float) -> socket.socket:
        """A TCP connection to a checked address of host:port (the first that answers, in the resolver's order)."""
        last: OSError | None = None
        for address in self.addresses(host, port):
            try:
                return socket.create_connection((address, port), timeout=timeout)
            except OSError as error:
                last = error
        raise last  # addresses() returns at least one address, so a failure was recorded


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


def _is_loopback(text: str) -> bool:
    address = ipaddress.ip_address(text)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


# ---- httpx (Gusto) and the Finch SDK --------------------------------------------------------------------------

class _CheckedBackend(httpcore.NetworkBackend):
    """httpcore's network layer, connecting only to addresses the policy checked. httpcore still starts TLS with
    the URL's host name, so SNI and the certificate check are on the name, and its pool keys connections by name."""

    def __init__(self, policy: OutboundPolicy):
        self.policy, self.inner = policy, httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last: Exception | None = None
        for address in self.policy.addresses(host, port):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                last = error
        raise last

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AddressNotAllowed("a Unix socket is not a payroll endpoint")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """An httpx transport that sends only to URLs the policy allows and connects only to addresses it checked.
    The pin is in the network layer (rather than by rewriting the URL to an IP) so a pooled TLS connection is
    only ever reused for the host name its certificate was checked against. No proxies from the environment:
    a proxy would make the connection to the endpoint itself, past the check."""

    def __init__(self, policy: OutboundPolicy, **options):
        super().__init__(trust_env=False, **options)
        self.policy = policy
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             network_backend=_CheckedBackend(policy))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_url(str(request.url))
        return super().handle_request(request)


def checked_client(policy: OutboundPolicy, timeout: float) -> httpx.Client:
    """An httpx client for payroll endpoints: checked addresses, no redirects followed, no environment proxies."""
    return httpx.Client(transport=CheckedTransport(policy), timeout=timeout, follow_redirects=False,
                        trust_env=False)


# ---- What a sponsor or a participant is told ------------------------------------------------------------------

def status_failure(status: int) -> str:
    """A non-2xx answer, by its status only: the body is the receiver's and is never shown."""
    if 300 <= status < 400:
        return f"redirect not followed (HTTP {status} from the payroll endpoint)"
    return f"HTTP {status} from the payroll endpoint"


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def failure_reason(error: BaseException) -> str:
    """A short classification of a failed call (its cause included, as httpx and SDKs wrap the socket's error),
    never the error's own text, which can carry what the other side sent."""
    chain = list(_chain(error))
    kinds = ((AddressNotAllowed, "address not allowed"),
             ((TimeoutError, socket.timeout, httpx.TimeoutException, httpcore.TimeoutException), "timed out"),
             (ConnectionRefusedError, "connection refused"),
             ((ssl.SSLError, ssl.CertificateError), "TLS failure"),
             (socket.gaierror, "host name not resolved"),
             ((ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, httpx.RemoteProtocolError),
              "connection closed by the payroll endpoint"),
             ((http.client.HTTPException, httpx.ProtocolError), "not an HTTP answer"))
    for kind, reason in kinds:
        if any(isinstance(link, kind) for link in chain):
            return reason
    return "connection failed"
