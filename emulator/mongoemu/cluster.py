"""Start, inspect, disturb and stop a mongoemu replica set: a library and a command line.

Each member is a separate ``mongoemu --fork`` process on its own 127.0.0.x address, started
exactly as a user starts mongod (``--replSet --bind_ip --port --dbpath --logpath
--pidfilepath``). The set is initiated on its first electable member with a config built
from the member specs, and the harness waits (bounded) for a primary and for every member to
be PRIMARY, SECONDARY or ARBITER. Every process is stopped by the pid its pid file names
(SIGTERM, then SIGKILL after a bound), never by name. A JSON state file in the root
directory (``cluster.json``) lets another process (the CLI ``stop``) stop a set started
elsewhere.

Library::

    from mongoemu.cluster import MemberSpec, ReplicaSetCluster

    with ReplicaSetCluster([MemberSpec(tags={"dc": "east"}), MemberSpec(), MemberSpec()],
                           set_name="rs0", settings={"electionTimeoutMillis": 1000}) as rs:
        rs.client().db.c.insert_one({"x": 1})
        rs.kill9(rs.primary_member())
        rs.wait_for_primary()

Command line::

    python -m mongoemu.cluster start --root /tmp/rs0 --set rs0 \\
        --member 127.0.0.11:27017,tag.dc=east --member 127.0.0.12:27017,priority=0 \\
        --member 127.0.0.13:27017,arbiterOnly --setting electionTimeoutMillis=1000
    python -m mongoemu.cluster status --root /tmp/rs0
    python -m mongoemu.cluster stop --root /tmp/rs0

Member states are read with an unauthenticated ``hello`` over plain TCP (allowed with
``--auth``/``--keyFile`` too), so the harness needs no credentials to wait for a set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import bson

STATE_FILE = "cluster.json"
KEY_FILE = "keyfile"
START_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
HELLO_TIMEOUT_S = 1.0
#: ports are drawn below Linux's ephemeral range (32768+) so outgoing connections never hold them
PORT_RANGE = (20000, 32767)
READY_STATES = frozenset({"PRIMARY", "SECONDARY", "ARBITER"})

_OP_MSG = 2013


class ClusterError(RuntimeError):
    """A cluster could not be started, initiated, awaited or stopped; the message says why."""


# ---------------------------------------------------------------- member specs


@dataclass
class MemberSpec:
    """One member as the replica set config and the command line see it.

    ``host`` is ``"127.0.0.x:port"``; when omitted a free loopback address is picked.
    ``key_file`` (content or path) overrides the cluster's keyFile for this member only.
    """

    host: str | None = None
    name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    priority: float | None = None
    votes: int | None = None
    arbiter_only: bool = False
    hidden: bool = False
    secondary_delay_secs: int | None = None
    build_indexes: bool | None = None
    key_file: str | None = None
    extra_args: list[str] = field(default_factory=list)

    _CONFIG_KEYS = {"arbiterOnly": "arbiter_only", "secondaryDelaySecs": "secondary_delay_secs",
                    "buildIndexes": "build_indexes", "keyFile": "key_file",
                    "extraArgs": "extra_args"}

    @property
    def electable(self) -> bool:
        """Could stand for election: data-bearing, priority > 0 (hidden/delayed need 0)."""
        return not self.arbiter_only and (self.priority is None or self.priority > 0)

    def config_document(self, member_id: int, host: str) -> dict[str, Any]:
        """The member document of replSetInitiate/replSetReconfig (defaults left out)."""
        doc: dict[str, Any] = {"_id": member_id, "host": host}
        if self.arbiter_only:
            doc["arbiterOnly"] = True
        if self.priority is not None:
            doc["priority"] = self.priority
        if self.votes is not None:
            doc["votes"] = self.votes
        if self.hidden:
            doc["hidden"] = True
        if self.secondary_delay_secs:
            doc["secondaryDelaySecs"] = self.secondary_delay_secs
        if self.build_indexes is not None:
            doc["buildIndexes"] = self.build_indexes
        if self.tags:
            doc["tags"] = dict(self.tags)
        return doc

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["key_file"] is not None:
            data["key_file"] = "<set>"  # key material never goes to the state file
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MemberSpec":
        """Accept snake_case or mongod's member field names (arbiterOnly, secondaryDelaySecs…)."""
        known = {f for f in cls.__dataclass_fields__}
        values: dict[str, Any] = {}
        for key, value in data.items():
            attr = cls._CONFIG_KEYS.get(key, key)
            if attr not in known:
                raise ClusterError(f"member spec {data!r}: unknown field {key!r}")
            values[attr] = value
        return cls(**values)

    @classmethod
    def parse(cls, text: str) -> "MemberSpec":
        """The CLI form ``HOST:PORT[,key=value…][,flag…]``: priority=, votes=, name=,
        secondaryDelaySecs=, buildIndexes=true|false, tag.KEY=VALUE, arbiterOnly, hidden."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise ClusterError("empty --member")
        spec = cls()
        if "=" not in parts[0] and parts[0] not in ("arbiterOnly", "hidden"):
            spec.host = parts.pop(0)
            _split_host(spec.host)
        for part in parts:
            key, sep, value = part.partition("=")
            if not sep:
                if key == "arbiterOnly":
                    spec.arbiter_only = True
                elif key == "hidden":
                    spec.hidden = True
                else:
                    raise ClusterError(f"--member {text!r}: unknown flag {key!r} "
                                       "(flags: arbiterOnly, hidden)")
            elif key.startswith("tag."):
                spec.tags[key[4:]] = value
            elif key == "priority":
                spec.priority = float(value)
            elif key == "votes":
                spec.votes = int(value)
            elif key == "name":
                spec.name = value
            elif key == "secondaryDelaySecs":
                spec.secondary_delay_secs = int(value)
            elif key == "buildIndexes":
                spec.build_indexes = _parse_bool(key, value)
            else:
                raise ClusterError(f"--member {text!r}: unknown key {key!r} (keys: priority, "
                                   "votes, name, secondaryDelaySecs, buildIndexes, tag.KEY)")
        return spec


def _parse_bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ClusterError(f"{key}={value!r}: expected true or false")


def _split_host(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ClusterError(f"member host {address!r}: expected 127.0.0.x:port")
    if not host.startswith("127."):
        raise ClusterError(f"member host {address!r}: the harness binds loopback addresses "
                           "(127.0.0.x) only")
    return host, int(port)


# ---------------------------------------------------------------- processes


def mongoemu_command() -> list[str]:
    """The ``mongoemu`` console script next to this interpreter, else ``python -m mongoemu``."""
    script = Path(sys.executable).with_name("mongoemu")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "mongoemu"]


def address_free(host: str, port: int) -> bool:
    """True when ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_loopback_address(taken: Iterable[str] = ()) -> str:
    """A random ``127.0.0.x:port`` that binds now and is not in ``taken``."""
    rng = random.SystemRandom()
    excluded = set(taken)
    for _ in range(500):
        address = f"127.0.0.{rng.randint(2, 254)}:{rng.randint(*PORT_RANGE)}"
        if address not in excluded and address_free(*_split_host(address)):
            return address
    raise ClusterError("no free 127.0.0.x address found after 500 tries")


def process_alive(pid: int) -> bool:
    """True for a live process; a zombie counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _pid_runs_dbpath(pid: int, dbpath: Path) -> bool:
    """Guard against pid reuse: the process's command line must name this dbPath."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc here: trust the pid file
    return os.fsencode(str(dbpath)) in argv


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def terminate_pids(pids: Sequence[int], timeout: float = STOP_TIMEOUT_S) -> list[int]:
    """SIGTERM (plus SIGCONT so a paused process can act on it) every pid, wait up to
    ``timeout``, SIGKILL whoever is left; returns the pids still alive afterwards."""
    live = [pid for pid in pids if process_alive(pid)]
    for pid in live:
        _signal(pid, signal.SIGTERM)
        _signal(pid, signal.SIGCONT)
    deadline = time.monotonic() + timeout
    for pid in live:
        if not _wait_gone(pid, max(0.0, deadline - time.monotonic())):
            _signal(pid, signal.SIGKILL)
    return [pid for pid in live if not _wait_gone(pid, 5.0)]


def hello(address: str, timeout: float = HELLO_TIMEOUT_S,
          ssl_context: "ssl.SSLContext | None" = None) -> dict[str, Any]:
    """One unauthenticated ``hello`` over OP_MSG (over TLS with ``ssl_context``); raises
    OSError when nobody answers."""
    host, port = _split_host(address)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        sock = ssl_context.wrap_socket(raw) if ssl_context is not None else raw
        sock.settimeout(timeout)
        body = struct.pack("<I", 0) + b"\x00" + bson.encode({"hello": 1, "$db": "admin"})
        sock.sendall(struct.pack("<iiii", 16 + len(body), 1, 0, _OP_MSG) + body)
        length, _rid, _to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
        payload = _recv_exact(sock, length - 16)
    if opcode != _OP_MSG or payload[4] != 0:
        raise OSError(f"{address}: unexpected hello reply (opcode {opcode})")
    doc_len = struct.unpack_from("<i", payload, 5)[0]
    return bson.decode(payload[5:5 + doc_len])


def _tls_context(options: dict[str, Any]) -> "ssl.SSLContext | None":
    if not options.get("tls"):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if options.get("tlsCAFile"):
        ctx.load_verify_locations(options["tlsCAFile"])
    else:
        ctx.verify_mode = ssl.CERT_NONE
    if options.get("tlsCertificateKeyFile"):
        ctx.load_cert_chain(options["tlsCertificateKeyFile"])
    return ctx


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def state_from_hello(reply: dict[str, Any]) -> str:
    """PRIMARY, SECONDARY or ARBITER as hello tells them; NOT_READY for every other state
    (STARTUP, STARTUP2, RECOVERING, ROLLBACK, REMOVED…), which hello does not tell apart."""
    if reply.get("isWritablePrimary"):
        return "PRIMARY"
    if reply.get("secondary"):
        return "SECONDARY"
    if reply.get("arbiterOnly") and reply.get("setName"):
        return "ARBITER"
    return "NOT_READY"


# ---------------------------------------------------------------- the cluster


@dataclass
class Member:
    """A started (or startable) member: its spec, address and files."""

    index: int
    name: str
    address: str
    spec: MemberSpec
    dbpath: Path
    logpath: Path
    pidfile: Path
    key_path: Path | None = None
    pid: int | None = None
    paused: bool = False
    in_config: bool = True

    @property
    def host(self) -> str:
        return _split_host(self.address)[0]

    @property
    def port(self) -> int:
        return _split_host(self.address)[1]

    @property
    def running(self) -> bool:
        return self.pid is not None and process_alive(self.pid)

    def read_pidfile(self) -> int | None:
        try:
            text = self.pidfile.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def log_entries(self) -> list[dict[str, Any]]:
        """The member's JSON-lines log, parsed (lines that are not JSON are skipped)."""
        entries = []
        try:
            text = self.logpath.read_text(errors="replace")
        except FileNotFoundError:
            return []
        for line in text.splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def to_state(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "address": self.address,
                "dbpath": str(self.dbpath), "logpath": str(self.logpath),
                "pidfile": str(self.pidfile),
                "key_path": str(self.key_path) if self.key_path else None,
                "pid": self.pid, "paused": self.paused, "in_config": self.in_config,
                "spec": self.spec.to_dict()}



class ReplicaSetCluster:
    """A mongoemu replica set made of separate processes; see the module docstring."""

    def __init__(self, members: Sequence[MemberSpec | dict[str, Any] | str] | int = 3, *,
                 set_name: str = "rs0", root: str | Path | None = None,
                 key_file: str | Path | None = None, auth: bool = False,
                 oplog_size_mb: float | None = None, settings: dict[str, Any] | None = None,
                 extra_args: Sequence[str] = (), credentials: tuple[str, str] | None = None,
                 start_timeout: float = START_TIMEOUT_S,
                 ready_timeout: float = READY_TIMEOUT_S,
                 stop_timeout: float = STOP_TIMEOUT_S,
                 command: Sequence[str] | None = None,
                 client_options: dict[str, Any] | None = None,
                 on_start: Callable[[Member], None] | None = None) -> None:
        if isinstance(members, int):
            members = [MemberSpec() for _ in range(members)]
        specs = [_as_spec(m) for m in members]
        if not specs:
            raise ClusterError("a replica set needs at least one member")
        self.set_name = set_name
        self.root = Path(root) if root is not None else Path(
            tempfile.mkdtemp(prefix=f"mongoemu-{set_name}-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.key_file = key_file
        self.auth = auth
        self.oplog_size_mb = oplog_size_mb
        self.settings = dict(settings or {})
        self.extra_args = list(extra_args)
        self.credentials = credentials
        # pymongo options for every client (e.g. tls, tlsCAFile, tlsCertificateKeyFile); with
        # tls on, the harness's own hellos use TLS too
        self.client_options = dict(client_options or {})
        self._hello_tls = _tls_context(self.client_options)
        self.start_timeout = start_timeout
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.command = list(command) if command else mongoemu_command()
        self.on_start = on_start  # called with each member once its daemon runs (e.g. to record pids)
        self.members: list[Member] = []
        self._clients: list[Any] = []
        self._cluster_key = self._write_key(key_file, KEY_FILE) if key_file else None
        for spec in specs:
            self._add(spec, in_config=True)

    # -- construction helpers

    def _write_key(self, key_file: str | Path, file_name: str) -> Path:
        """Write the key material to ROOT/<file_name> with mode 0400 (mongod refuses
        group/other permissions). ``key_file`` is a path to an existing file or the key."""
        if isinstance(key_file, Path) or os.path.isfile(str(key_file)):
            content = Path(key_file).read_text()
        else:
            content = str(key_file)
        target = self.root / file_name
        if target.exists():
            target.chmod(0o600)
        target.write_text(content.strip() + "\n")
        target.chmod(0o400)
        return target

    def _add(self, spec: MemberSpec, in_config: bool) -> Member:
        taken = [m.address for m in self.members]
        address = spec.host or free_loopback_address(taken)
        _split_host(address)
        if address in taken:
            raise ClusterError(f"member {address} is listed twice")
        index = len(self.members)
        name = spec.name or f"m{index}"
        if any(m.name == name for m in self.members):
            raise ClusterError(f"member name {name!r} is used twice")
        key_path = self._cluster_key
        if spec.key_file:
            key_path = self._write_key(spec.key_file, f"{KEY_FILE}-{name}")
        member = Member(index=index, name=name, address=address, spec=spec,
                        dbpath=self.root / name, logpath=self.root / f"{name}.log",
                        pidfile=self.root / f"{name}.pid", key_path=key_path,
                        in_config=in_config)
        self.members.append(member)
        return member

    def member(self, ref: "Member | int | str") -> Member:
        """A member by Member, index, address (host:port) or name."""
        if isinstance(ref, Member):
            return ref
        for member in self.members:
            if ref in (member.index, member.address, member.name):
                return member
        raise ClusterError(f"no member {ref!r} in set {self.set_name} "
                           f"(members: {', '.join(m.address for m in self.members)})")

    # -- state file

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def write_state(self) -> None:
        state = {"set_name": self.set_name, "root": str(self.root),
                 "key_file": str(self._cluster_key) if self._cluster_key else None,
                 "auth": self.auth, "oplog_size_mb": self.oplog_size_mb,
                 "settings": self.settings, "extra_args": self.extra_args,
                 "command": self.command, "client_options": self.client_options,
                 "members": [m.to_state() for m in self.members]}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str) + "\n")
        tmp.replace(self.state_path)

    @classmethod
    def load(cls, root: str | Path) -> "ReplicaSetCluster":
        """Attach to a cluster another process started, from ROOT/cluster.json."""
        root = Path(root)
        try:
            state = json.loads((root / STATE_FILE).read_text())
        except FileNotFoundError:
            raise ClusterError(f"no {STATE_FILE} in {root}: no cluster was started there") from None
        cluster = cls.__new__(cls)
        cluster.set_name = state["set_name"]
        cluster.root = root
        cluster._cluster_key = Path(state["key_file"]) if state.get("key_file") else None
        cluster.key_file = cluster._cluster_key
        cluster.auth = bool(state.get("auth"))
        cluster.oplog_size_mb = state.get("oplog_size_mb")
        cluster.settings = state.get("settings") or {}
        cluster.extra_args = state.get("extra_args") or []
        cluster.credentials = None
        cluster.client_options = state.get("client_options") or {}
        cluster._hello_tls = _tls_context(cluster.client_options)
        cluster.start_timeout, cluster.ready_timeout = START_TIMEOUT_S, READY_TIMEOUT_S
        cluster.stop_timeout = STOP_TIMEOUT_S
        cluster.command = state.get("command") or mongoemu_command()
        cluster.on_start = None
        cluster._clients = []
        cluster.members = []
        for item in state["members"]:
            spec_data = dict(item["spec"])
            spec_data["key_file"] = None
            cluster.members.append(Member(
                index=item["index"], name=item["name"], address=item["address"],
                spec=MemberSpec.from_dict(spec_data), dbpath=Path(item["dbpath"]),
                logpath=Path(item["logpath"]), pidfile=Path(item["pidfile"]),
                key_path=Path(item["key_path"]) if item.get("key_path") else None,
                pid=item.get("pid"), paused=bool(item.get("paused")),
                in_config=bool(item.get("in_config", True))))
        return cluster

    # -- starting

    def argv(self, member: Member) -> list[str]:
        argv = [*self.command, "--fork", "--replSet", self.set_name,
                "--bind_ip", member.host, "--port", str(member.port),
                "--dbpath", str(member.dbpath), "--logpath", str(member.logpath),
                "--logappend", "--pidfilepath", str(member.pidfile)]
        if member.key_path:
            argv += ["--keyFile", str(member.key_path)]
        if self.auth:
            argv.append("--auth")
        if self.oplog_size_mb is not None:
            argv += ["--oplogSize", f"{self.oplog_size_mb:g}"]
        return argv + self.extra_args + list(member.spec.extra_args)

    def start_members(self, members: Iterable["Member | int | str"] | None = None) -> None:
        """Fork the given members (default: every member not running) in parallel and wait
        for each ``--fork`` parent to report that its child listens."""
        chosen = [self.member(m) for m in members] if members is not None else \
            [m for m in self.members if not m.running]
        launched = []
        for member in chosen:
            if member.running:
                raise ClusterError(f"{member.address} is already running (pid {member.pid})")
            member.dbpath.mkdir(parents=True, exist_ok=True)
            try:
                member.pidfile.unlink()
            except FileNotFoundError:
                pass
            proc = subprocess.Popen(self.argv(member), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            launched.append((member, proc))
        failures = []
        deadline = time.monotonic() + self.start_timeout
        for member, proc in launched:
            try:
                out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                failures.append(f"{member.address}: mongoemu --fork did not return within "
                                f"{self.start_timeout:g}s")
            pid = member.read_pidfile()
            if proc.returncode == 0 and pid is not None:
                member.pid, member.paused = pid, False
                if self.on_start:
                    self.on_start(member)
                continue
            if pid is not None and process_alive(pid):
                terminate_pids([pid], self.stop_timeout)
            if proc.returncode is not None and proc.returncode != 0 or pid is None:
                failures.append(f"{member.address}: exit code {proc.returncode}; "
                                f"stderr: {(err or '').strip()[-600:]}; stdout: "
                                f"{(out or '').strip()[-600:]}; log: {self._log_tail(member)}")
        self.write_state()
        if failures:
            raise ClusterError("could not start every member of " + self.set_name + ":\n"
                               + "\n".join(failures))

    def _log_tail(self, member: Member, lines: int = 5) -> str:
        try:
            return " | ".join(member.logpath.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def config_document(self) -> dict[str, Any]:
        """The replSetInitiate config: members in config order, _id = their index."""
        config: dict[str, Any] = {"_id": self.set_name, "version": 1, "members": [
            m.spec.config_document(m.index, m.address) for m in self.members if m.in_config]}
        if self.settings:
            config["settings"] = dict(self.settings)
        return config

    def initiate(self, timeout: float = 60.0) -> dict[str, Any]:
        """replSetInitiate on the first electable member; raises pymongo's OperationFailure
        when mongod would refuse (the harness does not reword server errors)."""
        candidates = [m for m in self.members if m.in_config and m.spec.electable]
        if not candidates:
            raise ClusterError(f"set {self.set_name}: no electable member to initiate on "
                               "(every member is an arbiter or has priority 0)")
        from pymongo import MongoClient

        first = candidates[0]
        with MongoClient(first.host, first.port, directConnection=True, **self.client_options,
                         serverSelectionTimeoutMS=int(timeout * 1000),
                         socketTimeoutMS=int(timeout * 1000)) as cli:
            return cli.admin.command({"replSetInitiate": self.config_document()})

    def start(self, initiate: bool = True, wait: bool = True) -> "ReplicaSetCluster":
        """Start every member, initiate the set, wait until it is ready. On any failure
        everything started is stopped again before the error propagates."""
        try:
            self.start_members()
            if initiate:
                self.initiate()
                if wait:
                    self.wait_ready()
                    if self.credentials:
                        self._create_first_user()
        except BaseException:
            self.stop()
            raise
        return self

    def _create_first_user(self) -> None:
        """Create the root user over the localhost exception (no users exist yet)."""
        from pymongo import MongoClient

        user, password = self.credentials  # type: ignore[misc]
        primary = self.wait_for_primary()
        with MongoClient(primary.host, primary.port, directConnection=True,
                         serverSelectionTimeoutMS=10000, **self.client_options) as cli:
            cli.admin.command("createUser", user, pwd=password, roles=["root"],
                              writeConcern={"w": "majority"})

    # -- observing

    def observe(self, members: Iterable[Member] | None = None) -> dict[str, tuple[str, Any]]:
        """address → (state, hello reply or error text) for each member, one pass."""
        seen: dict[str, tuple[str, Any]] = {}
        for member in members if members is not None else self.members:
            if member.pid is None:
                seen[member.address] = ("STOPPED", None)
            elif member.paused:
                seen[member.address] = ("PAUSED", None)
            else:
                try:
                    reply = hello(member.address, ssl_context=self._hello_tls)
                    seen[member.address] = (state_from_hello(reply), reply)
                except (OSError, bson.errors.BSONError) as exc:
                    seen[member.address] = ("UNREACHABLE", str(exc) or type(exc).__name__)
        return seen

    @staticmethod
    def _describe(seen: dict[str, tuple[str, Any]]) -> str:
        parts = []
        for address, (state, detail) in seen.items():
            if isinstance(detail, dict):
                extra = f" primary={detail.get('primary')}" if detail.get("setName") else \
                    " (not initiated)"
            else:
                extra = f" ({detail})" if detail else ""
            parts.append(f"{address} {state}{extra}")
        return "; ".join(parts)

    def primary(self) -> str | None:
        """host:port of the member whose hello says it is the writable primary (the newest
        electionId wins if a stale one still claims it), else None."""
        member = self.primary_member()
        return member.address if member else None

    def primary_member(self, exclude: Iterable["Member | int | str"] = ()) -> Member | None:
        excluded = {self.member(m).address for m in exclude}
        best: tuple[Any, Member] | None = None
        for address, (state, reply) in self.observe(
                [m for m in self.members if m.address not in excluded]).items():
            if state == "PRIMARY":
                key = (str(reply.get("electionId", "")), address)
                if best is None or key > best[0]:
                    best = (key, self.member(address))
        return best[1] if best else None

    def wait_for_primary(self, exclude: Iterable["Member | int | str"] = (),
                         timeout: float | None = None) -> Member:
        """Poll hello until a member outside ``exclude`` is the writable primary."""
        timeout = self.ready_timeout if timeout is None else timeout
        excluded = [self.member(m) for m in exclude]
        deadline = time.monotonic() + timeout
        while True:
            found = self.primary_member(excluded)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                seen = self.observe([m for m in self.members if m not in excluded])
                raise ClusterError(
                    f"set {self.set_name}: no primary"
                    + (f" other than {', '.join(m.address for m in excluded)}" if excluded else "")
                    + f" within {timeout:g}s; last seen: {self._describe(seen)}")
            time.sleep(0.05)

    def wait_ready(self, timeout: float | None = None,
                   members: Iterable["Member | int | str"] | None = None) -> Member:
        """Wait until one member is primary and every given member (default: those in the
        config that run and are not paused) is PRIMARY/SECONDARY/ARBITER and names that
        primary in its hello. Returns the primary."""
        timeout = self.ready_timeout if timeout is None else timeout
        chosen = [self.member(m) for m in members] if members is not None else \
            [m for m in self.members if m.in_config and m.pid is not None and not m.paused]
        deadline = time.monotonic() + timeout
        while True:
            seen = self.observe(chosen)
            primaries = [a for a, (state, _) in seen.items() if state == "PRIMARY"]
            if len(primaries) == 1 and all(
                    state in READY_STATES and reply.get("primary") == primaries[0]
                    for state, reply in seen.values()):
                return self.member(primaries[0])
            if time.monotonic() >= deadline:
                raise ClusterError(f"set {self.set_name} not ready within {timeout:g}s (waited "
                                   "for one primary and every member PRIMARY/SECONDARY/ARBITER "
                                   f"agreeing on it); last seen: {self._describe(seen)}")
            time.sleep(0.05)

    def wait_member_state(self, member: "Member | int | str", states: Iterable[str],
                          timeout: float | None = None) -> str:
        """Wait until ``member``'s hello state (see state_from_hello) is one of ``states``."""
        target = self.member(member)
        wanted = set(states)
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            seen = self.observe([target])
            state = seen[target.address][0]
            if state in wanted:
                return state
            if time.monotonic() >= deadline:
                raise ClusterError(f"{target.address} not {'/'.join(sorted(wanted))} within "
                                   f"{timeout:g}s; last seen: {self._describe(seen)}")
            time.sleep(0.05)

    def client(self, member: "Member | int | str | None" = None, **kwargs: Any):
        """A pymongo MongoClient: direct to one member, or (member None or "all") to the
        whole set by name. Closed by stop()."""
        from pymongo import MongoClient

        options: dict[str, Any] = {"serverSelectionTimeoutMS": 10000, "connectTimeoutMS": 5000,
                                   **self.client_options}
        if self.credentials:
            options.update(username=self.credentials[0], password=self.credentials[1],
                           authSource="admin")
        if member is None or member == "all":
            options["replicaSet"] = self.set_name
            options.update(kwargs)
            cli = MongoClient([m.address for m in self.members if m.in_config], **options)
        else:
            target = self.member(member)
            options["directConnection"] = True
            options.update(kwargs)
            cli = MongoClient(target.host, target.port, **options)
        self._clients.append(cli)
        return cli

    def close_clients(self) -> None:
        while self._clients:
            self._clients.pop().close()

    # -- disturbing

    def _signal_member(self, member: Member, signum: int) -> None:
        if member.pid is None or not process_alive(member.pid):
            raise ClusterError(f"{member.address} is not running")
        os.kill(member.pid, signum)

    def kill9(self, member: "Member | int | str") -> None:
        """SIGKILL the member's process and wait until it is gone."""
        target = self.member(member)
        self._signal_member(target, signal.SIGKILL)
        if not _wait_gone(target.pid, 10.0):  # type: ignore[arg-type]
            raise ClusterError(f"{target.address}: pid {target.pid} survived SIGKILL")
        target.pid, target.paused = None, False
        self.write_state()

    def pause(self, member: "Member | int | str") -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing (a partition).
        Returns once the kernel reports the process stopped."""
        target = self.member(member)
        self._signal_member(target, signal.SIGSTOP)
        self._await_run_state(target, stopped=True)
        target.paused = True
        self.write_state()

    def resume(self, member: "Member | int | str") -> None:
        """SIGCONT a paused member; returns once it runs again."""
        target = self.member(member)
        self._signal_member(target, signal.SIGCONT)
        self._await_run_state(target, stopped=False)
        target.paused = False
        self.write_state()

    @staticmethod
    def _await_run_state(member: Member, stopped: bool, timeout: float = 5.0) -> None:
        """Signals are delivered asynchronously: wait for /proc to show the process stopped
        (T) or not; without /proc, return at once."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(f"/proc/{member.pid}/stat", encoding="ascii") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return
            if (state in ("T", "t")) == stopped:
                return
            if time.monotonic() >= deadline:
                raise ClusterError(f"{member.address}: pid {member.pid} still in state {state} "
                                   f"{timeout:g}s after {'SIGSTOP' if stopped else 'SIGCONT'}")
            time.sleep(0.005)

    def stop_member(self, member: "Member | int | str") -> None:
        """Stop one member by pid (SIGTERM, SIGKILL after the bound)."""
        target = self.member(member)
        pid = target.pid or target.read_pidfile()
        if pid is not None and _pid_runs_dbpath(pid, target.dbpath):
            left = terminate_pids([pid], self.stop_timeout)
            if left:
                raise ClusterError(f"{target.address}: pid {pid} survived SIGKILL")
        target.pid, target.paused = None, False
        self.write_state()

    def restart(self, member: "Member | int | str", wipe: bool = False) -> None:
        """Stop the member and start it again on the same address; ``wipe`` empties its
        dbPath first, so it comes back through initial sync."""
        target = self.member(member)
        self.stop_member(target)
        if wipe:
            shutil.rmtree(target.dbpath, ignore_errors=True)
            target.dbpath.mkdir(parents=True)
        self.start_members([target])

    def add_member(self, spec: MemberSpec | dict[str, Any] | str | None = None,
                   start: bool = True) -> Member:
        """Start one more process of this set that is not in the config yet (for reconfig
        tests); after the reconfig, set ``member.in_config = True``."""
        member = self._add(_as_spec(spec or MemberSpec()), in_config=False)
        if start:
            self.start_members([member])
        else:
            self.write_state()
        return member

    # -- stopping

    def stop(self) -> list[int]:
        """Stop every member by pid; returns pids that survived SIGKILL (normally none)."""
        self.close_clients()
        pids = []
        for member in self.members:
            pid = member.pid or member.read_pidfile()
            if pid is not None and process_alive(pid) and _pid_runs_dbpath(pid, member.dbpath):
                pids.append(pid)
        left = terminate_pids(pids, self.stop_timeout)
        for member in self.members:
            member.pid, member.paused = None, False
        if self.root.exists():
            self.write_state()
        return left

    def status(self) -> dict[str, Any]:
        """Per member: address, pid, running, state by hello, and the primary."""
        seen = self.observe()
        members = []
        for member in self.members:
            state, reply = seen[member.address]
            if state not in ("STOPPED", "PAUSED") and not member.running:
                state = "STOPPED"
            members.append({"name": member.name, "address": member.address, "pid": member.pid,
                            "running": member.running, "state": state,
                            "dbpath": str(member.dbpath), "logpath": str(member.logpath)})
        primaries = [m["address"] for m in members if m["state"] == "PRIMARY"]
        return {"set": self.set_name, "root": str(self.root),
                "primary": primaries[0] if primaries else None, "members": members}

    def __enter__(self) -> "ReplicaSetCluster":
        if not any(m.pid for m in self.members):
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _as_spec(item: MemberSpec | dict[str, Any] | str) -> MemberSpec:
    if isinstance(item, MemberSpec):
        return item
    if isinstance(item, dict):
        return MemberSpec.from_dict(item)
    return MemberSpec.parse(item)


def start_cluster(members: Sequence[MemberSpec | dict[str, Any] | str] | int = 3,
                  **options: Any) -> ReplicaSetCluster:
    """Start, initiate and wait for a set (see ReplicaSetCluster for the options)."""
    return ReplicaSetCluster(members, **options).start()


def stop_cluster(root: str | Path) -> list[int]:
    """Stop, by the pids in ROOT/cluster.json, a set started by any process."""
    return ReplicaSetCluster.load(root).stop()


# ---------------------------------------------------------------- command line


def _setting_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mongoemu.cluster",
        description="Start, inspect and stop a mongoemu replica set (one process per member, "
                    "127.0.0.x addresses, stopped by pid).")
    sub = parser.add_subparsers(dest="action", required=True)
    start = sub.add_parser("start", help="start members, initiate, wait for a primary")
    start.add_argument("--root", help="directory for dbPaths, logs, pid files and the state "
                                      "file (default: a new temporary directory)")
    start.add_argument("--set", "--replSet", dest="set_name", default="rs0")
    start.add_argument("--member", action="append", default=[], metavar="SPEC",
                       help="HOST:PORT[,priority=N][,votes=N][,arbiterOnly][,hidden]"
                            "[,secondaryDelaySecs=N][,buildIndexes=false][,tag.KEY=VALUE]"
                            "[,name=NAME]; repeat per member")
    start.add_argument("--members", type=int, default=0, metavar="N",
                       help="N more members on free 127.0.0.x addresses")
    start.add_argument("--spec", help="JSON file: a list of member specs (mongod field names)")
    start.add_argument("--keyFile", help="keyFile path or key content (written 0400 in root)")
    start.add_argument("--auth", action="store_true")
    start.add_argument("--oplogSize", type=float, help="oplog size in MB for every member")
    start.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE",
                       help="replica set config setting, value as JSON "
                            "(e.g. electionTimeoutMillis=1000)")
    start.add_argument("--no-initiate", action="store_true",
                       help="only start the processes")
    start.add_argument("--timeout", type=float, default=READY_TIMEOUT_S,
                       help="seconds to wait for the set to be ready")
    start.add_argument("extra", nargs=argparse.REMAINDER,
                       help="after --: more mongoemu arguments for every member")
    for name, text in (("stop", "stop every member by pid"),
                       ("status", "print each member's pid and state")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--root", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "start":
            return _cli_start(args)
        if args.action == "stop":
            left = stop_cluster(args.root)
            if left:
                print(f"pids still alive after SIGKILL: {left}", file=sys.stderr)
                return 1
            print(json.dumps({"stopped": args.root}))
            return 0
        print(json.dumps(ReplicaSetCluster.load(args.root).status(), indent=2))
        return 0
    except ClusterError as exc:
        print(f"mongoemu.cluster {args.action}: {exc}", file=sys.stderr)
        return 1


def _cli_start(args: argparse.Namespace) -> int:
    specs: list[MemberSpec] = []
    if args.spec:
        specs += [_as_spec(item) for item in json.loads(Path(args.spec).read_text())]
    specs += [MemberSpec.parse(text) for text in args.member]
    specs += [MemberSpec() for _ in range(args.members)]
    if not specs:
        raise ClusterError("no members: give --member, --members N or --spec")
    settings = {}
    for item in args.setting:
        key, sep, value = item.partition("=")
        if not sep:
            raise ClusterError(f"--setting {item!r}: expected KEY=VALUE")
        settings[key] = _setting_value(value)
    extra = [a for a in args.extra if a != "--"] if args.extra else []
    cluster = ReplicaSetCluster(specs, set_name=args.set_name, root=args.root,
                                key_file=args.keyFile, auth=args.auth,
                                oplog_size_mb=args.oplogSize, settings=settings,
                                extra_args=extra, ready_timeout=args.timeout)
    try:
        cluster.start(initiate=not args.no_initiate)
    except ClusterError:
        raise
    except Exception as exc:  # e.g. replSetInitiate refused: the server's words
        raise ClusterError(f"{type(exc).__name__}: {exc}") from None
    print(json.dumps(cluster.status(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
