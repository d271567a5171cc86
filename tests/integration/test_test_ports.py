"""The shared port helper: ports are free, outside the ephemeral range, and never repeated."""

from __future__ import annotations

import socket

import pytest

from _support import ports


def test_ports_are_bindable_below_the_ephemeral_range_and_never_given_twice() -> None:
    given = [ports.free_port() for _ in range(200)]
    assert len(set(given)) == len(given)
    assert all(ports.LOWEST <= port < ports._ephemeral_low() for port in given)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", given[-1]))  # still free: nothing took it


def test_a_port_in_use_is_skipped_and_an_exhausted_range_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    low = ports.free_port()
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # every port of the range is ours
    monkeypatch.setattr(ports, "_given", set())
    monkeypatch.setattr(ports, "LOWEST", low)
    monkeypatch.setattr(ports, "_ephemeral_low", lambda: low + 3)  # the range low .. low + 2
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", low + 1))
        squatter.listen()
        assert {ports.free_port(), ports.free_port()} == {low, low + 2}
        with pytest.raises(RuntimeError, match="no free port"):
            ports.free_port()


def test_an_endpoint_is_a_zenoh_tcp_locator_on_a_free_port() -> None:
    endpoint = ports.free_endpoint()
    assert endpoint.startswith("tcp/127.0.0.1:")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])))


@pytest.mark.parametrize("worker", ["gw0", "gw1", "gw2"])
def test_xdist_workers_of_one_run_draw_from_disjoint_ports(
    worker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    assert {ports.free_port() % 3 for _ in range(60)} == {int(worker[2:])}
