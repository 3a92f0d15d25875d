"""Fixtures that start mongoemu as a user starts mongod: the CLI, --fork, a temp dbPath,
a random 127.0.0.x address, and a finalizer that always stops it by pid."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from emuharness import Emu, pick_address, stop_all_started


@pytest.fixture(scope="session", autouse=True)
def _stop_leftover_daemons() -> Iterator[None]:
    """Safety net: whatever a test started and did not stop is stopped here, by pid."""
    yield
    assert not stop_all_started(), "mongoemu processes left running"


EmuFactory = Callable[..., Emu]


def _factory(root: Path, started: list[Emu]) -> EmuFactory:
    def make(*extra_args: str, start: bool = True, name: str | None = None,
             dbpath: Path | None = None, host: str | None = None, port: int | None = None,
             bind_ip: str | None = None) -> Emu:
        picked_host, picked_port = pick_address()
        emu = Emu(
            root=root / (name or f"node{len(started)}"),
            host=host or picked_host,
            port=port or picked_port,
            extra_args=list(extra_args),
            dbpath=dbpath,
            bind_ip=bind_ip,
        )
        started.append(emu)
        if start:
            emu.start()
        return emu
    return make


@pytest.fixture
def emu_factory(tmp_path: Path) -> Iterator[EmuFactory]:
    """Make fresh mongoemu daemons for one test; all are stopped by pid afterwards."""
    started: list[Emu] = []
    yield _factory(tmp_path, started)
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def module_emu_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmuFactory]:
    started: list[Emu] = []
    yield _factory(tmp_path_factory.mktemp("emu"), started)
    for emu in started:
        emu.stop()


@pytest.fixture(scope="module")
def emu(module_emu_factory: EmuFactory) -> Emu:
    """One standalone server shared by the tests of a module."""
    return module_emu_factory(name="shared")


@pytest.fixture(scope="module")
def client(emu: Emu):
    return emu.client()
