"""Review of the session's landings (review70): what ``collect --host 0.0.0.0`` tells the
app to use, Set-Cookie Expires read as RFC 6265 reads it, and newcomer12's messages.

Each test failed before its fix.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path

import pytest

from readme_metrics.cli.addresses import interface_addresses
from tests.support.command import CommandProcess
from tests.support.processes import run_command

# -- collect on every address: the URLs to copy name an address the app can reach -----------

def _machine_ipv4() -> list[str]:
    """This machine's IPv4 addresses but loopback, as iproute2 lists them."""
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("no iproute2 to list the interfaces' addresses with")
    listed = run_command([ip, "-o", "-4", "addr", "show"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    found = re.findall(r"\sinet (\d+\.\d+\.\d+\.\d+)/", listed)
    return [a for a in found if not ipaddress.ip_address(a).is_loopback]


def test_interface_addresses_are_the_machines_own_but_loopback() -> None:
    assert sorted(address for _, address in interface_addresses()) == sorted(_machine_ipv4())


@pytest.mark.parametrize("host, here", [("0.0.0.0", "http://127.0.0.1:"),
                                         ("::", "http://[::1]:")])
def test_collect_on_every_address_prints_this_machines_address_to_copy(
        tmp_path: Path, host: str, here: str) -> None:
    """``collect --host 0.0.0.0`` is for an app in a container or on another machine, yet
    its lines to copy said ``http://127.0.0.1:PORT``: that app's own loopback, not this
    machine. They name this machine's address now; 127.0.0.1 is said to be for an app here.
    Nothing is sent to that address: only the banner is read."""
    addresses = _machine_ipv4()
    if not addresses:
        pytest.skip("this machine has no address but loopback")
    with CommandProcess("collect", "--host", host, "--port", "0", cwd=tmp_path) as proc:
        port = proc.wait_for(r"listening on http://\S+:(\d+) \(every address").group(1)
        line = proc.wait_for(r"^  export README_METRICS_SERVER=(\S+) README_API_URL=(\S+)$")
        said = proc.wait_for(r"^  \(this machine's address on (\S+), for an app in a "
                             r"container or on another machine; an app on this machine "
                             r"may use (\S+?)[;)]")
        proc.wait_for("Press Ctrl-C to stop.")
        assert proc.stop() == 0
    assert line.group(1) == line.group(2) == f"http://{addresses[0]}:{port}", proc.stdout
    assert said.group(2) == f"{here}{port}"
    assert f"  dashboard:  {here}{port}/" in proc.lines
    assert f"  README_METRICS_SERVER=http://{addresses[0]}:{port}" in proc.lines
