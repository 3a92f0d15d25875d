"""Start and stop mongoemu the way a user starts mongod, and talk raw wire protocol to it.

Used by the conformance tests in this folder (conftest.py builds fixtures on it).
Every process started here is recorded in ``STARTED_PIDS`` and stopped by pid only.
"""

from __future__ import annotations

import datetime
import errno
import ipaddress
import os
import random
import signal
import socket
import struct
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import bson
from bson.codec_options import CodecOptions
from pymongo import MongoClient

from mongoemu.cluster import address_free, mongoemu_command
from mongoemu.cluster import process_alive as pid_alive

#: pids of every daemon a test started; conftest kills leftovers at session end.
STARTED_PIDS: set[int] = set()


def poll_until(probe: Callable[[], Any], timeout: float, what: str,
          show: Callable[[], Any] | None = None) -> Any:
    """Call ``probe`` until it returns something truthy; fail naming what was awaited and
    the last value (or error) seen, or what ``show`` returns then."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - kept for the failure message
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            if show is not None:
                last = show()
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last}")
        time.sleep(0.05)


def assert_fails(call, code: int, code_name: str):
    """Run `call`; it must raise OperationFailure with mongod's code and codeName."""
    import pytest
    from pymongo.errors import OperationFailure

    with pytest.raises(OperationFailure) as err:
        call()
    assert err.value.code == code, err.value.details
    assert err.value.details.get("codeName") == code_name, err.value.details
    return err.value


def stop_all_started() -> list[int]:
    """Stop, by pid, every daemon still recorded as started; returns the pids still alive."""
    for pid in list(STARTED_PIDS):
        stop_pid(pid)
    return [p for p in STARTED_PIDS if pid_alive(p)]

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

OP_REPLY = 1
OP_QUERY = 2004
OP_MSG = 2013
MSG_FLAG_MORE_TO_COME = 1 << 1
MSG_FLAG_EXHAUST_ALLOWED = 1 << 16


def pick_address() -> tuple[str, int]:
    """A random loopback address and a port free on it.

    Drawing the address from 127.0.0.2-254 and the port from 20000-59999 keeps two test
    runs on one machine apart; the bind probe rules out what is already taken.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        host = f"127.0.0.{rng.randint(2, 254)}"
        port = rng.randint(20000, 59999)
        if address_free(host, port):
            return host, port
    raise RuntimeError("no free loopback address/port found after 200 tries")


def wait_pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


def stop_pid(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM, bounded wait, then SIGKILL. Never by name."""
    if not pid_alive(pid):
        STARTED_PIDS.discard(pid)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        STARTED_PIDS.discard(pid)
        return
    if not wait_pid_gone(pid, timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_pid_gone(pid, 5)
    STARTED_PIDS.discard(pid)


@dataclass
class Emu:
    """One mongoemu daemon: its dbPath, address and the command line it was started with."""

    root: Path
    host: str
    port: int
    extra_args: list[str] = field(default_factory=list)
    dbpath: Path | None = None
    config_file: Path | None = None
    bind_ip: str | None = None
    pid: int | None = None
    clients: list[MongoClient] = field(default_factory=list)
    last_start: subprocess.CompletedProcess | None = None

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self.dbpath is None:
            self.dbpath = self.root / "db"
        self.dbpath.mkdir(parents=True, exist_ok=True)

    @property
    def pidfile(self) -> Path:
        return self.root / "mongod.pid"

    @property
    def logpath(self) -> Path:
        return self.root / "mongod.log"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def argv(self) -> list[str]:
        if self.config_file is not None:
            return [*mongoemu_command(), "-f", str(self.config_file), *self.extra_args]
        return [
            *mongoemu_command(),
            "--fork",
            "--dbpath", str(self.dbpath),
            "--bind_ip", self.bind_ip or self.host,
            "--port", str(self.port),
            "--pidfilepath", str(self.pidfile),
            "--logpath", str(self.logpath),
            "--logappend",
            *self.extra_args,
        ]

    def start(self, check: bool = True) -> subprocess.CompletedProcess:
        """Run the --fork command line; the parent must return once the child listens."""
        try:
            self.pidfile.unlink()
        except FileNotFoundError:
            pass
        try:
            proc = subprocess.run(
                self.argv(), capture_output=True, text=True, timeout=START_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            # the --fork parent never returned: stop whatever daemon it left, by its pid file
            pid = self._read_pidfile()
            if pid is not None:
                STARTED_PIDS.add(pid)
                stop_pid(pid)
            raise
        self.last_start = proc
        pid = self._read_pidfile()
        if proc.returncode == 0:
            if pid is None:
                raise AssertionError(f"mongoemu --fork returned 0 but wrote no pid file\n{self.describe(proc)}")
            self.pid = pid
            STARTED_PIDS.add(pid)
        elif pid is not None and pid_alive(pid):
            # a failed start must leave nothing behind; stop it if it did
            STARTED_PIDS.add(pid)
            stop_pid(pid)
        if check and proc.returncode != 0:
            raise AssertionError(f"mongoemu failed to start\n{self.describe(proc)}")
        return proc

    def describe(self, proc: subprocess.CompletedProcess) -> str:
        log = ""
        if self.logpath.exists():
            log = self.logpath.read_text(errors="replace")[-4000:]
        return (f"argv: {proc.args}\nrc: {proc.returncode}\nstdout: {proc.stdout[-2000:]}\n"
                f"stderr: {proc.stderr[-4000:]}\nlog tail: {log}")

    def _read_pidfile(self) -> int | None:
        try:
            text = self.pidfile.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def client(self, **kwargs: Any) -> MongoClient:
        options: dict[str, Any] = {
            "directConnection": True,
            "serverSelectionTimeoutMS": 5000,
            "connectTimeoutMS": 5000,
        }
        options.update(kwargs)
        cli = MongoClient(self.host, self.port, **options)
        self.clients.append(cli)
        return cli

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        self.close_clients()
        if self.pid is not None:
            stop_pid(self.pid, timeout)
            self.pid = None

    def kill9(self) -> None:
        self.close_clients()
        assert self.pid is not None
        os.kill(self.pid, signal.SIGKILL)
        assert wait_pid_gone(self.pid, 10), f"pid {self.pid} survived SIGKILL"
        STARTED_PIDS.discard(self.pid)
        self.pid = None

    def restart(self) -> None:
        self.stop()
        wait_port_free(self.host, self.port)
        self.start()

    def log_lines(self) -> list[str]:
        return self.logpath.read_text(errors="replace").splitlines()


def wait_port_free(host: str, port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if address_free(host, port):
            return
        time.sleep(0.05)


# ---------------------------------------------------------------- raw wire protocol

_CODEC = CodecOptions(tz_aware=False)


class Wire:
    """A bare socket speaking OP_MSG / OP_QUERY, for what pymongo will not send."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.request_id = random.randint(1, 1 << 20)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Wire":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _next_id(self) -> int:
        self.request_id += 1
        return self.request_id

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_msg(self, doc: dict, flags: int = 0, sequences: dict[str, list[dict]] | None = None) -> int:
        body = struct.pack("<I", flags) + b"\x00" + bson.encode(doc)
        for ident, docs in (sequences or {}).items():
            payload = ident.encode() + b"\x00" + b"".join(bson.encode(d) for d in docs)
            body += b"\x01" + struct.pack("<i", len(payload) + 4) + payload
        rid = self._next_id()
        header = struct.pack("<iiii", 16 + len(body), rid, 0, OP_MSG)
        self.sock.sendall(header + body)
        return rid

    def send_query(self, ns: str, doc: dict, number_to_return: int = -1) -> int:
        body = (struct.pack("<i", 0) + ns.encode() + b"\x00"
                + struct.pack("<ii", 0, number_to_return) + bson.encode(doc))
        rid = self._next_id()
        header = struct.pack("<iiii", 16 + len(body), rid, 0, OP_QUERY)
        self.sock.sendall(header + body)
        return rid

    def _recv_exact(self, n: int) -> bytes:
        chunks = []
        while n:
            chunk = self.sock.recv(n)
            if not chunk:
                raise ConnectionError("connection closed by server")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv(self) -> tuple[int, int, dict]:
        """Returns (opcode, flags, document) of the next reply."""
        header = self._recv_exact(16)
        length, _rid, _resp_to, opcode = struct.unpack("<iiii", header)
        body = self._recv_exact(length - 16)
        if opcode == OP_MSG:
            flags = struct.unpack_from("<I", body)[0]
            assert body[4] == 0, "first section must be kind 0"
            doc = bson.decode(body[5:], _CODEC)
            return opcode, flags, doc
        if opcode == OP_REPLY:
            flags, _cursor, _start, nret = struct.unpack_from("<iqii", body)
            docs = bson.decode_all(body[20:], _CODEC)
            assert nret == len(docs) == 1, f"expected one reply document, got {nret}"
            return opcode, flags, docs[0]
        raise AssertionError(f"unexpected reply opcode {opcode}")

    def command(self, doc: dict, **kwargs: Any) -> dict:
        self.send_msg(doc, **kwargs)
        return self.recv()[2]

    def closed_by_peer(self, timeout: float = 5.0) -> bool:
        """True when the server closes this connection within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
            while data:  # an error reply may come first; the close must follow
                data = self.sock.recv(1 << 16)
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        except OSError as exc:
            return exc.errno in (errno.ECONNRESET, errno.EPIPE)


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the mongoemu command line in the foreground (e.g. --version, --shutdown)."""
    return subprocess.run([*mongoemu_command(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def write_pki(directory: Path, ips: list[str]) -> dict[str, Path]:
    """A test CA and PEM files signed by it: ``server`` (serverAuth, the given IPs and
    localhost), ``client`` (clientAuth) and ``member`` (both: what replica set members present
    to each other)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mongoemu tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.TraditionalOpenSSL,
                                 serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .sign(ca_key, hashes.SHA256()))

    def leaf(cn: str, usages, sans) -> bytes:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM) + pem(key)

    sans = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips] + [x509.DNSName("localhost")]
    paths = {"ca": directory / "ca.pem", "server": directory / "server.pem",
             "client": directory / "client.pem", "member": directory / "member.pem"}
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["server"].write_bytes(leaf("server", [ExtendedKeyUsageOID.SERVER_AUTH], sans))
    paths["client"].write_bytes(leaf("client", [ExtendedKeyUsageOID.CLIENT_AUTH], []))
    paths["member"].write_bytes(leaf("member", [ExtendedKeyUsageOID.SERVER_AUTH,
                                                ExtendedKeyUsageOID.CLIENT_AUTH], sans))
    for path in paths.values():
        path.chmod(0o600)
    return paths


# ---------------------------------------------------------------- a filesystem that fills up


def mount_tmpfs(path: Path, size_mb: int, name: str) -> None:
    """Mount a tmpfs of size_mb at path (created if missing), named so that `mount` shows whose
    it is; OSError when it cannot be mounted (only root can)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", name, str(path)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        raise OSError(f"cannot mount a tmpfs at {path}: {mounted.stderr.strip()}")


def unmount(path: Path) -> None:
    """Unmount what mount_tmpfs mounted, by its path (never by a pattern)."""
    subprocess.run(["umount", str(path)], check=True, capture_output=True, text=True)


def fill_filesystem(directory: Path) -> int:
    """Write directory/filler until the filesystem has no room left; the bytes written."""
    written = 0
    block = b"\0" * (1 << 16)
    with open(directory / "filler", "wb") as filler:
        try:
            while True:
                written += filler.write(block)
                filler.flush()
        except OSError:
            pass
    return written
