"""Which webhook hosts are this machine or a private network, in every spelling a client
would connect to (issue 22: 13 such URLs were accepted at registration)."""

from __future__ import annotations

import pytest

from refundry.domain.webhooks import is_private_host


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "localhost",
        "LOCALHOST.",
        "api.localhost",
        "169.254.169.254",
        "10.0.0.7",
        "192.168.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "[::1]",
        "::1",
        "[::ffff:127.0.0.1]",
        "::ffff:7f00:1",
        "fd00::1",
        "fe80::1%eth0",
        "64:ff9b::7f00:1",
        "64:ff9b::a00:7",
        "224.0.0.1",
        "[2002:7f00:1::]",
        "[2002:a9fe:a9fe::]",
        "[64:ff9b:1::7f00:1]",
        "[::127.0.0.1]",
        "[::7f00:1]",
        "[::ffff:0:7f00:1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    ],
)
def test_a_private_host_is_refused(host: str) -> None:
    assert is_private_host(host)


@pytest.mark.parametrize(
    "host",
    ["merchant.example", "hooks.shop.example.com", "93.184.216.34", "[2606:4700::1111]",
     "64:ff9b::5db8:d822", "localhost.example.com", "[2002:5db8:d822::]"],
)  # fmt: skip
def test_a_public_host_is_allowed(host: str) -> None:
    assert not is_private_host(host)
