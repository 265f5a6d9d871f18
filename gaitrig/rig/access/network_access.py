"""Who may reach the server: this machine only, unless the clinic says otherwise (docs/security.md).

The server listens on 127.0.0.1 by default. Any other address puts patient data on the clinic's
network, so it needs an explicit ``--allow-network`` (``GAITRIG_ALLOW_NETWORK=true``), and is
loud about it when there is no TLS: without TLS anyone on the network can read the live data and
the records as they pass.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AccessCheck:
    """``refusal``: why the server must not start; ``warning``: what to print when it does."""

    refusal: str | None = None
    warning: str | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_access(host: str, allow_network: bool, tls_keyfile: Path | None,
                 tls_certfile: Path | None) -> AccessCheck:
    """Whether the server may listen on ``host`` with these TLS files, and what to warn about."""
    if (tls_keyfile is None) != (tls_certfile is None):
        return AccessCheck(refusal="TLS needs both --tls-key and --tls-cert "
                                   "(GAITRIG_TLS_KEYFILE and GAITRIG_TLS_CERTFILE)")
    for path in (tls_keyfile, tls_certfile):
        if path is not None and not path.is_file():
            return AccessCheck(refusal=f"TLS file {path} does not exist or is not a file")
    if is_loopback(host):
        return AccessCheck()
    if not allow_network:
        return AccessCheck(refusal=f"refusing to listen on {host}: that exposes the rig and the "
                                   "patients' records to the network. Add --allow-network (or "
                                   "GAITRIG_ALLOW_NETWORK=true) if that is what you want; "
                                   "see docs/security.md.")
    if tls_keyfile is None:
        return AccessCheck(warning=f"WARNING: listening on {host} without TLS: anyone on this "
                                   "network can read the live data and the records. Give "
                                   "--tls-key and --tls-cert; see docs/security.md.")
    return AccessCheck()
