"""Talking to the other members of the set: one asyncio connection per purpose (heartbeats,
votes, oplog fetching, cloning), OP_MSG frames from wire.py, authenticated as ``__system``
with SCRAM-SHA-256 when the member runs with a keyFile, as mongod's internal auth does.

Every request has a deadline: a paused (SIGSTOP) or partitioned member must look like a
member that does not answer, never like a member that hangs its peers.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import ssl
from typing import Any, Callable

from mongoemu import wire
from mongoemu.rsconfig import parse_host


class PeerError(Exception):
    """A member did not answer (connection refused, timeout) or refused to authenticate."""


class PeerCommandError(PeerError):
    """The member answered ok: 0."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.code = int(reply.get("code", 0) or 0)
        super().__init__(str(reply.get("errmsg", "command failed")))


class PeerClient:
    """One connection to one member; requests on it are serialised."""

    def __init__(self, host_port: str, key: str | None, *,
                 ssl_context: ssl.SSLContext | None = None, x509: bool = False,
                 wire: Callable[[], tuple[int, int]] | None = None) -> None:
        self.host_port = host_port
        self.wire = wire  # this member's outgoing (minWireVersion, maxWireVersion)
        self.key = key
        self.ssl_context = ssl_context
        self.x509 = x509  # authenticate with the cluster certificate (clusterAuthMode sendX509/x509)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()
        self._request_id = 0

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def close(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # the transport may already be gone
                pass
        self._reader = self._writer = None

    async def command(self, db: str, doc: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one command and return its reply; raises PeerCommandError for ok: 0 and
        PeerError when the member does not answer within ``timeout`` seconds."""
        async with self._lock:
            try:
                return await asyncio.wait_for(self._command(db, doc), timeout)
            except PeerCommandError:
                raise
            except asyncio.TimeoutError:
                self.close()
                raise PeerError(f"Couldn't get a connection within the time limit of "
                                f"{int(timeout * 1000)}ms") from None
            except (OSError, EOFError, asyncio.IncompleteReadError, wire.ProtocolError) as exc:
                self.close()
                reason = os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno \
                    else (str(exc) or type(exc).__name__)
                raise PeerError(f"Error connecting to {self.host_port} :: caused by :: "
                                f"{reason}") from None

    def healthy(self) -> bool:
        """ConnectionPool::SpecificPool::tryGetInternal drops a pooled connection that is no
        longer healthy ("dropping unhealthy pooled connection to ...") before using it: the
        other end closed it (the member was restarted) or the transport failed. Sending on it
        would lose the request (an election handoff's replSetStepUp, a vote request)."""
        if self._reader is None or self._writer is None:
            return False
        if self._writer.is_closing() or self._reader.at_eof():
            return False
        return self._reader.exception() is None

    async def _command(self, db: str, doc: dict[str, Any]) -> dict[str, Any]:
        if self._writer is not None and not self.healthy():
            self.close()
        if self._writer is None:
            await self._connect()
        # members read from each other whatever their state, as mongod's internal clients do
        return await self._roundtrip({**doc, "$db": db,
                                      "$readPreference": {"mode": "secondaryPreferred"}})

    async def _connect(self) -> None:
        host, port = parse_host(self.host_port)
        self._reader, self._writer = await asyncio.open_connection(host, port,
                                                                   ssl=self.ssl_context)
        hello: dict[str, Any] = {"hello": 1, "$db": "admin"}
        if self.wire is not None:
            low, high = self.wire()
            hello["internalClient"] = {"minWireVersion": low, "maxWireVersion": high}
        reply = await self._roundtrip(hello)
        if self.wire is not None:
            self._validate_wire(reply, hello["internalClient"])
        if self.x509 or self.key is not None:
            try:
                if self.x509:
                    await self._roundtrip({"authenticate": 1, "mechanism": "MONGODB-X509",
                                           "$db": "$external"})
                else:
                    await self._authenticate()
            except PeerCommandError as exc:
                self.close()
                raise PeerError(f"{exc.code == 18 and 'AuthenticationFailed' or 'Error'}: "
                                f"{exc}") from None

    def _validate_wire(self, reply: dict[str, Any], mine: dict[str, int]) -> None:
        """wire_version::validateWireVersion (src/mongo/db/wire_version.cpp): an internal
        client refuses a member whose [min, max] wire versions do not meet its own."""
        low, high = mine["minWireVersion"], mine["maxWireVersion"]
        s_low, s_high = int(reply.get("minWireVersion", 0)), int(reply.get("maxWireVersion", 0))
        if low <= s_high and high >= s_low:
            return
        self.close()
        msg = (f"Server min and max wire version ({s_low},{s_high}) is incompatible with "
               f"client min wire version ({low},{high}).")
        if high < s_low:
            raise PeerError(f"IncompatibleWithUpgradedServer: {msg}You (client) are attempting "
                            "to connect to a node (server) that no longer accepts connections "
                            "with your (client\u2019s) binary version. Please upgrade the "
                            "client\u2019s binary version.")
        raise PeerError(f"IncompatibleServerVersion: {msg}You (client) are attempting to connect "
                        "to a node (server) with a binary version with which you (client) no "
                        "longer accept connections. Please upgrade the server\u2019s binary "
                        "version.")

    async def _roundtrip(self, doc: dict[str, Any]) -> dict[str, Any]:
        assert self._reader is not None and self._writer is not None
        self._request_id += 1
        self._writer.write(wire.encode_op_msg(self._request_id, 0, doc))
        await self._writer.drain()
        header = await self._reader.readexactly(16)
        length, _rid, _to, op_code = wire.parse_header(header)
        payload = await self._reader.readexactly(length - 16)
        if op_code != wire.OP_MSG:
            raise wire.ProtocolError(f"unexpected reply opCode {op_code}")
        reply = wire.parse_message(0, op_code, payload).body
        if not reply.get("ok"):
            raise PeerCommandError(reply)
        return reply

    async def _authenticate(self) -> None:
        """SCRAM-SHA-256 client side (RFC 5802/7677) as __system@local with the keyFile."""
        assert self.key is not None
        nonce = base64.b64encode(os.urandom(24)).decode()
        first_bare = f"n=__system,r={nonce}"
        reply = await self._roundtrip({"saslStart": 1, "mechanism": "SCRAM-SHA-256",
                                       "payload": ("n,," + first_bare).encode(),
                                       "autoAuthorize": 1, "options": {"skipEmptyExchange": True},
                                       "$db": "local"})
        server_first = bytes(reply["payload"]).decode()
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        if not attrs.get("r", "").startswith(nonce):
            raise PeerError("server nonce does not extend ours")
        salted = hashlib.pbkdf2_hmac("sha256", self.key.encode(), base64.b64decode(attrs["s"]),
                                     int(attrs["i"]))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        final_bare = f"c=biws,r={attrs['r']}"
        auth_message = f"{first_bare},{server_first},{final_bare}".encode()
        signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = f"{final_bare},p={base64.b64encode(proof).decode()}"
        reply = await self._roundtrip({"saslContinue": 1, "conversationId":
                                       reply["conversationId"], "payload": final.encode(),
                                       "$db": "local"})
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        expected = base64.b64encode(hmac.digest(server_key, auth_message, "sha256")).decode()
        answer = bytes(reply["payload"]).decode()
        if answer != f"v={expected}":
            raise PeerError("the server's SCRAM signature does not match")
        while not reply.get("done"):
            reply = await self._roundtrip({"saslContinue": 1, "conversationId":
                                           reply["conversationId"], "payload": b"",
                                           "$db": "local"})


class PeerPool:
    """Connections by (member, purpose): heartbeats never wait behind an oplog getMore."""

    def __init__(self, key: str | None, ssl_context: ssl.SSLContext | None = None,
                 x509: bool = False, wire: Callable[[], tuple[int, int]] | None = None) -> None:
        self.key = key
        self.ssl_context = ssl_context
        self.x509 = x509
        self.wire = wire
        self._clients: dict[tuple[str, str], PeerClient] = {}

    def get(self, host_port: str, purpose: str) -> PeerClient:
        client = self._clients.get((host_port, purpose))
        if client is None:
            client = PeerClient(host_port, self.key, ssl_context=self.ssl_context, x509=self.x509,
                                wire=self.wire)
            self._clients[(host_port, purpose)] = client
        return client

    def drop(self, host_port: str, purpose: str) -> None:
        client = self._clients.pop((host_port, purpose), None)
        if client is not None:
            client.close()

    def close_all(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

