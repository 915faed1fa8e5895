"""Where a webhook may be sent: a name is looked up once, every address it gives is checked,
and the connection is made to one of those addresses (``connections.py``).

Looking the name up to check it and letting the HTTP client look it up again to connect
would leave a gap: a name server may answer a public address to the first lookup and a
private one to the second (DNS rebinding). The look-up is a port, ``Resolve``: the name
servers are the outside world, and tests answer in their stead.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

from refundry.domain.webhooks import is_private_ip

# A host name and port -> the IP addresses to connect to, in the order to try them.
Resolve = Callable[[str, int], Sequence[str]]
# An (address, port) and a timeout -> a connected TCP socket: the network.
OpenSocket = Callable[[tuple[str, int], float | None], socket.socket]


class PrivateAddressError(Exception):
    """The name gave a loopback, private, link-local or reserved address: nothing is sent."""


def resolve_name(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives ``host``, each once, in its order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def open_tcp_socket(address: tuple[str, int], timeout: float | None) -> socket.socket:
    return socket.create_connection(address, timeout)


def public_addresses(host: str, port: int, resolve: Resolve, *, named_as: str) -> list[str]:
    """The addresses ``host`` resolves to, when none of them is private; else
    ``PrivateAddressError`` (one private address is enough: a client may pick any).
    ``named_as``: the host as the URL writes it, for the delivery log."""
    addresses = list(resolve(host, port))
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if any(is_private_ip(ipaddress.ip_address(address.split("%")[0])) for address in addresses):
        raise PrivateAddressError(f"refused: {named_as} is a private or loopback address")
    return addresses
