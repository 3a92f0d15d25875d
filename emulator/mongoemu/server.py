"""The server process: listening sockets (plain and TLS), connections, the request loop,
the awaitable/streaming hello, fsync locking and shutdown."""
from __future__ import annotations

import asyncio
import datetime as _dt
import errno
import os
import socket
import sqlite3
import ssl
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable

from bson import ObjectId

from mongoemu import release, wire
from mongoemu.auth import AuthenticatedUser, ScramConversation, read_key_file
from mongoemu.x509 import peer_certificate
from mongoemu.config import ServerConfig
from mongoemu.dispatch import Dispatcher
from mongoemu.errors import ProtocolError
from mongoemu.log import Logger
from mongoemu.repl import ReplicationCoordinator
from mongoemu.sessions import SessionStore
from mongoemu.storage import DbPathError, DbPathLock, Storage, is_disk_full


class StartupError(Exception):
    """The server cannot start; mongod logs the reason and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1, fatal: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.fatal = fatal  # an fassert: its lines are logged, mongod exits at once (quickExit)


@dataclass
class Connection:
    id: int
    peer: tuple[str, int]
    local: tuple[str, int]
    tls: bool = False
    protocol: Any = None
    users: list[AuthenticatedUser] = field(default_factory=list)
    conversations: dict[int, ScramConversation] = field(default_factory=dict)
    next_conversation: int = 1
    client_metadata: dict[str, Any] | None = None
    created: float = field(default_factory=time.time)
    # the verified certificate the client presented in the TLS handshake (MONGODB-X509)
    x509_certificate: Any = None
    # hello's internalClient.maxWireVersion: another member (or mongos) on this connection
    internal_max_wire: int | None = None

    @property
    def is_localhost(self) -> bool:
        host = self.peer[0]
        return host.startswith("127.") or host in ("::1", "localhost") or host == ""

    @property
    def authenticated(self) -> bool:
        return bool(self.users)


class Server:
    """One mongod-like process."""

    def __init__(self, config: ServerConfig, logger: Logger) -> None:
        self.config = config
        self.logger = logger
        self.start_time = time.time()
        self.start_monotonic = time.monotonic()
        self.storage: Storage = None  # type: ignore[assignment]
        self.lock: DbPathLock | None = None
        self.key: str | None = None
        self.sockets: list[socket.socket] = []
        self.connections: dict[int, Connection] = {}
        self.total_connections = 0
        self.bytes_in = 0
        self.awaiting_topology_changes = 0
        self.exhaust_hello = 0
        self.bytes_out = 0
        self._next_request_id = 1
        self.ssl_context: ssl.SSLContext | None = None
        self.opcounters = {"insert": 0, "query": 0, "update": 0, "delete": 0, "getmore": 0,
                           "command": 0}
        self.parameters: dict[str, Any] = {}
        self.failpoints: dict[str, dict[str, Any]] = {}
        self.fsync_lock_count = 0
        self.writes_allowed: asyncio.Event | None = None
        self.shutdown_event: asyncio.Event | None = None
        self.shutting_down = False
        self.repl: ReplicationCoordinator = None  # type: ignore[assignment]
        self.sessions: SessionStore = None  # type: ignore[assignment]
        self.dispatcher = Dispatcher(self)
        self.hostname = socket.gethostname()
        self.fcv: release.Fcv | None = None  # None: not yet known (a new replica set member)

    # -- startup --------------------------------------------------------------------------

    def open(self) -> None:
        """Everything before listening: keyFile, TLS files, dbPath lock, storage."""
        cfg = self.config
        unsupported = release.check_environment()
        if unsupported:
            self.logger.log("F", "CONTROL", 20573, "initandlisten", "Wrong mongod version",
                            {"error": unsupported})
            raise StartupError(unsupported, 2)
        self.logger.info("CONTROL", 4615611, "initandlisten", "MongoDB starting",
                         pid=os.getpid(), port=cfg.port, dbPath=cfg.dbpath, architecture="64-bit",
                         host=self.hostname)
        self.logger.info("CONTROL", 23403, "initandlisten", "Build Info",
                         buildInfo={"version": _version(), "mongoemu": True})
        self.logger.info("CONTROL", 21951, "initandlisten", "Options set by command line",
                         options=cfg.parsed)
        if cfg.key_file:
            try:
                self.key = read_key_file(cfg.key_file)
            except Exception as exc:
                self.logger.error("ACCESS", 20254, "initandlisten",
                                  "Read security file failed", error=str(exc))
                raise StartupError(f"Read security file failed: {exc}", 1) from None
        if cfg.tls.enabled:
            self.ssl_context = self._make_ssl_context()
        if not os.path.isdir(cfg.dbpath):
            msg = (f"NonExistentPath: Data directory {cfg.dbpath} not found. Create the missing "
                   "directory or specify another path using (1) the --dbpath command line "
                   "option, or (2) by adding the 'storage.dbPath' option in the configuration "
                   "file.")
            self.logger.log("F", "STORAGE", 28595, "initandlisten", "Terminating.",
                            {"reason": msg})
            raise StartupError(msg, 100)
        self.lock = DbPathLock(cfg.dbpath)
        try:
            self.lock.acquire()
            self.storage = Storage(cfg.dbpath)
        except DbPathError as exc:
            self.logger.error("STORAGE", 20557, "initandlisten",
                              "DBException in initAndListen, terminating",
                              error=f"DBPathInUse: {exc}")
            raise StartupError(f"DBPathInUse: {exc}", exc.exit_code) from None
        except (OSError, sqlite3.Error) as exc:
            if not is_disk_full(exc):
                raise
            self._full_at_startup(str(exc))
        self.storage.conn.on_disk_full = self.disk_full
        self.logger.info("STORAGE", 22315, "initandlisten", "Opening storage engine",
                         engine="sqlite3 (mongoemu)", dbPath=cfg.dbpath)
        self.sessions = SessionStore(self.storage)
        self.repl = ReplicationCoordinator(self)
        self.repl.load()
        self._initialize_catalog()

    def _full_at_startup(self, error: str) -> None:
        """No room left in the dbPath when the storage engine opens: wiredtiger_open fails with
        ENOSPC - before mongod writes its pid into mongod.lock (storage_engine_init.cpp,
        initializeStorageEngine) - and WiredTigerKVEngine::_openWiredTiger ends with
        LOGV2_FATAL_NOTRACE(28595), fassertFailedNoTraceWithLocation's quickExit(EXIT_ABRUPT):
        exit code 14 (src/mongo/util/assert_util.cpp)."""
        self.logger.error("WT", 22435, "initandlisten", "WiredTiger error message",
                          error=errno.ENOSPC,
                          message=f"{self.config.dbpath}: {error}: No space left on device")
        self.logger.log("W", "STORAGE", 22347, "initandlisten", "Failed to start up WiredTiger "
                        "under any compatibility version. This may be due to an unsupported "
                        "upgrade or downgrade.")
        self.logger.log("F", "STORAGE", 28595, "initandlisten", "Terminating.",
                        {"reason": "28: No space left on device"})
        self.logger.log("F", "ASSERT", 23091, "initandlisten", "Fatal assertion",
                        {"msgid": 28595,
                         "file": "src/mongo/db/storage/wiredtiger/wiredtiger_kv_engine.cpp"})
        self.logger.log("F", "ASSERT", 23092, "initandlisten",
                        "\n\n***aborting after fassert() failure\n\n")
        raise StartupError("28: No space left on device", 14, fatal=True)

    def disk_full(self, error: str) -> None:
        """A write found the dbPath's filesystem full. mongod does not survive it: WiredTiger
        cannot write its log or a data file, panics (WT_PANIC), and mongod's error handler
        aborts the process (src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp,
        mdb_handle_error_with_startup_suppression: fassert(50853, errorCode != WT_PANIC)),
        leaving its pid file and mongod.lock behind. mongoemu logs the same lines and aborts
        too (SIGABRT, no core file)."""
        import resource

        self.logger.error("WT", 22435, "conn", "WiredTiger error message", error=errno.ENOSPC,
                          message=f"{self.config.dbpath}: {error}: No space left on device")
        self.logger.log("F", "ASSERT", 23089, "conn", "Fatal assertion",
                        {"msgid": 50853,
                         "file": "src/mongo/db/storage/wiredtiger/wiredtiger_util.cpp"})
        self.logger.log("F", "ASSERT", 23090, "conn", "\n\n***aborting after fassert() failure\n\n")
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.abort()

    def _initialize_catalog(self) -> None:
        st = self.storage
        self._check_fcv_at_startup()
        if st.get("local.startup_log") is None:
            st.create_collection("local.startup_log", {"capped": True, "size": 10485760})
        now = _dt.datetime.now(_dt.timezone.utc)
        st.insert("local.startup_log", {
            "_id": f"{self.hostname}-{int(now.timestamp() * 1000)}",
            "hostname": self.hostname, "startTime": now.replace(microsecond=0),
            "startTimeLocal": now.ctime(), "cmdLine": self.config.parsed, "pid": os.getpid(),
            "buildinfo": {"version": _version(), "mongoemu": True}})

    def _check_fcv_at_startup(self) -> None:
        """FeatureCompatibilityVersion::fassertInitializedAfterStartup and
        initializeForStartup (feature_compatibility_version.cpp): data without an FCV document
        is refused (40652, fassert: exit 14), a document this release does not accept is an
        "UPGRADE PROBLEM" (20573, exit 62); a new standalone gets the latest FCV; a new replica
        set member learns its FCV at replSetInitiate or from its initial sync."""
        st = self.storage
        found = st.find_by_id(release.FCV_NS, release.FCV_ID)
        if found is None:
            initial_sync = bool(self.config.repl_set) and self.repl.initial_sync_flag()
            if any(db != "local" for db in st.database_names()) and not initial_sync:
                msg = ("Unable to start up mongod due to missing featureCompatibilityVersion "
                       "document. Please run with --repair to restore the document.")
                self.logger.log("F", "STORAGE", 40652, "initandlisten", msg)
                self.logger.log("F", "ASSERT", 23091, "initandlisten",
                                "\n\n***aborting after fassert() failure\n\n")
                raise StartupError(msg, release.EXIT_ABRUPT)
            if not self.config.repl_set:
                self.set_fcv(release.Fcv(release.current().series.latest))
            return
        try:
            self.fcv = release.parse_document(found[1])
        except release.FcvError as exc:
            msg = release.upgrade_problem(exc)
            self.logger.log("F", "CONTROL", 20573, "initandlisten", "Wrong mongod version",
                            {"error": msg})
            raise StartupError(msg, release.EXIT_NEED_UPGRADE) from None

    def set_fcv(self, fcv: release.Fcv, *, replicate: bool = False) -> None:
        """Write the FCV document (through the oplog on a primary) and apply its effects."""
        st = self.storage
        doc = fcv.document()
        with st.transaction(journal=True):
            found = st.find_by_id(release.FCV_NS, release.FCV_ID)
            if found is None:
                st.insert(release.FCV_NS, doc)
                if replicate:
                    self.repl.log_op("i", release.FCV_NS, doc)
            else:
                st.replace(release.FCV_NS, found[0], doc)
                if replicate:
                    self.repl.log_op("u", release.FCV_NS, doc, o2={"_id": release.FCV_ID})
        self.fcv_changed()

    def fcv_changed(self) -> None:
        """FcvOpObserver: read the FCV document again; when the wire version floor rises,
        end the connections of older internal clients and drop the connections to older
        members ("Close all incoming connections from internal clients with binary versions
        lower than ours", feature_compatibility_version.cpp)."""
        found = self.storage.find_by_id(release.FCV_NS, release.FCV_ID)
        before = self.wire_floor()
        new = release.parse_document(found[1]) if found else None
        if new != self.fcv:
            self.logger.info("REPL", 20459, "ReplWriterWorker-0" if self.repl.enabled else
                             "conn", "Setting featureCompatibilityVersion",
                             currentVersion=self.fcv.describe() if self.fcv else None,
                             newVersion=new.describe() if new else None)
        self.fcv = new
        floor = self.wire_floor()
        if floor != before and self.repl.enabled and self.repl.config is not None:
            # FcvOpObserver::_setVersion: minWireVersion changed -> incrementTopologyVersion
            self.repl.bump()
        if floor > before:
            for conn in list(self.connections.values()):
                if conn.internal_max_wire is not None and conn.internal_max_wire < floor \
                        and conn.protocol is not None:
                    conn.protocol.close()
            if self.repl is not None and self.repl.peers is not None:
                self.repl.peers.close_all()

    def wire_floor(self) -> int:
        """The lowest wire version this member accepts from, and requires of, the other
        members. An arbiter keeps no data and stays at the floor of an FCV not yet known."""
        me = self.repl.self_member() if self.repl is not None and self.repl.config else None
        if me is not None and me.get("arbiterOnly"):
            return release.wire_floor(None)
        return release.wire_floor(self.fcv)

    def _make_ssl_context(self) -> ssl.SSLContext:
        tls = self.config.tls
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(tls.certificate_key_file or "",
                                password=tls.certificate_key_file_password)
            if tls.ca_file:
                ctx.load_verify_locations(tls.ca_file)
        except (OSError, ssl.SSLError) as exc:
            self.logger.error("NETWORK", 23248, "initandlisten",
                              "Cannot read certificate file", error=str(exc))
            raise StartupError(f"Cannot read certificate file: {exc}", 1) from None
        if tls.ca_file and not tls.allow_invalid_certificates:
            ctx.verify_mode = (ssl.CERT_OPTIONAL if tls.allow_connections_without_certificates
                               else ssl.CERT_REQUIRED)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def bind(self) -> None:
        hosts = ["0.0.0.0"] if self.config.bind_ip_all else list(self.config.bind_ips)
        for host in hosts:
            if host == "localhost":
                host = "127.0.0.1"
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, self.config.port))
                sock.listen(1024)
            except OSError as exc:
                sock.close()
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                self.logger.error("NETWORK", 23024, "initandlisten", "Error setting up listener",
                                  error={"code": 9001, "codeName": "SocketException",
                                         "errmsg": reason})
                for s in self.sockets:
                    s.close()
                code = 48 if exc.errno == errno.EADDRINUSE else 1
                raise StartupError(f"Failed to set up listener: SocketException: {reason}",
                                   code) from None
            sock.setblocking(False)
            self.sockets.append(sock)
            self.logger.info("NETWORK", 23015, "listener", "Listening on",
                             address=host)

    # -- helpers ----------------------------------------------------------------------------

    def uptime(self) -> float:
        return time.monotonic() - self.start_monotonic

    def advertised_host(self) -> str:
        if self.config.bind_ip_all or not self.config.bind_ips:
            return self.hostname
        return self.config.bind_ips[0]

    def is_self_host(self, host_port: str) -> bool:
        host, _, port = host_port.rpartition(":")
        if not host:
            host, port = host_port, "27017"
        try:
            if int(port) != self.config.port:
                return False
        except ValueError:
            return False
        if host in ("localhost", self.hostname):
            return True
        if self.config.bind_ip_all:
            return host.startswith("127.") or host == self.hostname
        return host in self.config.bind_ips

    def next_request_id(self) -> int:
        self._next_request_id += 1
        return self._next_request_id

    async def wait_writes_allowed(self) -> None:
        if self.writes_allowed is not None and not self.writes_allowed.is_set():
            await self.writes_allowed.wait()

    # -- serving -----------------------------------------------------------------------------

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self.shutdown_event = asyncio.Event()
        self.writes_allowed = asyncio.Event()
        self.writes_allowed.set()
        self.storage.insert_listeners.append(self.dispatcher.cursors.notify_insert)
        import signal

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_shutdown, f"signal {sig.name}")
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
        loop.add_signal_handler(signal.SIGUSR1, self.logger.rotate)
        accept_tasks = [loop.create_task(self._accept_loop(sock)) for sock in self.sockets]
        accept_tasks.append(loop.create_task(self._housekeeping()))
        from mongoemu.startup_warnings import log_startup_warnings

        log_startup_warnings(self.config, self.logger)
        ssl_mode = "off" if not self.ssl_context else "on"
        self.logger.info("NETWORK", 23016, "listener", "Waiting for connections",
                         port=self.config.port, ssl=ssl_mode)
        self.repl.start()
        if ready is not None:
            ready()
        await self.shutdown_event.wait()
        await self._shutdown(accept_tasks)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(60)
            self.dispatcher.cursors.reap()

    def request_shutdown(self, reason: str = "") -> None:
        if self.shutting_down or self.shutdown_event is None:
            return
        self.shutting_down = True
        self.logger.info("CONTROL", 23377, "SignalHandler" if "signal" in reason else "conn",
                         "Received signal" if "signal" in reason else
                         "Terminating via shutdown command", reason=reason or "shutdown")
        self.shutdown_event.set()

    async def _shutdown(self, accept_tasks: list[asyncio.Task[Any]]) -> None:
        self.logger.info("REPL", 4784900, "SignalHandler", "Stepping down the ReplicationCoordinator "
                         "for shutdown")
        for task in accept_tasks:
            task.cancel()
        for sock in self.sockets:
            sock.close()
        self.logger.info("NETWORK", 4784905, "SignalHandler", "Shutting down the global "
                         "connection pool")
        self.repl.notify_shutdown()
        for conn in list(self.connections.values()):
            try:
                if conn.protocol is not None:
                    conn.protocol.close()
            except Exception:
                pass
        await asyncio.sleep(0)
        self.logger.info("STORAGE", 4784929, "SignalHandler", "Acquiring the global lock for "
                         "shutdown")
        self.storage.close()
        self.logger.info("STORAGE", 22322, "SignalHandler", "Shutting down checkpoint thread")
        if self.lock is not None:
            self.lock.release()
        self.logger.info("CONTROL", 20565, "SignalHandler", "Now exiting")
        self.logger.info("CONTROL", 23138, "SignalHandler", "Shutting down",
                         exitCode=0)

    async def _accept_loop(self, lsock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, addr = await loop.sock_accept(lsock)
            except asyncio.CancelledError:
                raise
            except OSError as exc:
                self.logger.warning("NETWORK", 23021, "listener", "Error accepting new connection",
                                    error=str(exc))
                await asyncio.sleep(0.01)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            loop.create_task(self._start_connection(sock, addr))

    async def _start_connection(self, sock: socket.socket, addr: Any) -> None:
        loop = asyncio.get_running_loop()
        use_tls = False
        if self.ssl_context is not None:
            if self.config.tls.mode == "requireTLS":
                use_tls = True
            else:
                use_tls = await self._peek_tls(sock)
        self.total_connections += 1
        conn_id = self.total_connections
        local = sock.getsockname()
        conn = Connection(id=conn_id, peer=(addr[0], addr[1]), local=(local[0], local[1]),
                          tls=use_tls)
        protocol = WireProtocol(self, conn)
        try:
            if use_tls:
                await asyncio.wait_for(loop.connect_accepted_socket(
                    lambda: protocol, sock=sock, ssl=self.ssl_context,
                    ssl_handshake_timeout=10), 15)
            else:
                await loop.connect_accepted_socket(lambda: protocol, sock=sock)
        except (ssl.SSLError, OSError, asyncio.TimeoutError, ConnectionError) as exc:
            self.logger.info("NETWORK", 22988, "conn", "Error receiving request from client. "
                             "Ending connection from remote",
                             error=f"SSLHandshakeFailed: {exc}", remote=f"{addr[0]}:{addr[1]}")
            sock.close()

    def connection_opened(self, conn: Connection) -> bool:
        if len(self.connections) >= self.config.max_conns:
            self.logger.info("NETWORK", 22942, "listener", "Connection refused because there "
                             "are too many open connections",
                             remote=f"{conn.peer[0]}:{conn.peer[1]}",
                             connectionCount=len(self.connections))
            return False
        self.connections[conn.id] = conn
        if not self.config.quiet:
            self.logger.info("NETWORK", 22943, "listener", "Connection accepted",
                             remote=f"{conn.peer[0]}:{conn.peer[1]}", uuid=str(ObjectId()),
                             connectionId=conn.id, connectionCount=len(self.connections))
        return True

    def connection_ended(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is None:
            return
        self.dispatcher.connection_closed(conn)
        if not self.config.quiet:
            self.logger.info("NETWORK", 22944, f"conn{conn.id}", "Connection ended",
                             remote=f"{conn.peer[0]}:{conn.peer[1]}", connectionId=conn.id,
                             connectionCount=len(self.connections))

    async def _peek_tls(self, sock: socket.socket) -> bool:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        fd = sock.fileno()

        def readable() -> None:
            if not fut.done():
                fut.set_result(None)
        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(fut, 30)
        except asyncio.TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)
        try:
            first = sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, OSError):
            return False
        return first == b"\x16"


@types.coroutine
def _continue(coro: Any, yielded: Any) -> Any:
    """Finish, inside a Task, a coroutine that was started by hand and suspended."""
    while True:
        try:
            value = yield yielded
        except BaseException as exc:  # noqa: BLE001 - forwarded into the coroutine
            try:
                yielded = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                yielded = coro.send(value)
            except StopIteration as stop:
                return stop.value


class WireProtocol(asyncio.Protocol):
    """One client connection: frames requests out of the byte stream and answers them in
    order. Commands that complete without waiting are answered inline (no Task per request);
    the rest (awaitable hello, awaitData getMore, writes behind an fsync lock) continue in a
    Task while further requests of this connection wait their turn."""

    def __init__(self, server: Server, conn: Connection) -> None:
        self.server = server
        self.conn = conn
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.closed = False
        self.task: asyncio.Task[Any] | None = None
        self.ctx = f"conn{conn.id}"

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.protocol = self
        if self.conn.tls:  # before any request: the handshake is done, the client's certificate known
            self.conn.x509_certificate = peer_certificate(transport)
        transport.set_write_buffer_limits(high=4 << 20)  # type: ignore[attr-defined]
        if not self.server.connection_opened(self.conn):
            self.closed = True
            transport.close()

    def data_received(self, data: bytes) -> None:
        self.server.bytes_in += len(data)
        self.buf += data
        if not self.busy:
            self._process()

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.server.connection_ended(self.conn)

    def pause_writing(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # -- requests -----------------------------------------------------------------------------

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def _protocol_error(self, exc: Exception) -> None:
        self.server.logger.warning("NETWORK", 22988, self.ctx, "Error receiving request from "
                                   "client. Ending connection from remote",
                                   error=f"ProtocolError: {exc}",
                                   remote=f"{self.conn.peer[0]}:{self.conn.peer[1]}",
                                   connectionId=self.conn.id)
        self.close()

    def _process(self) -> None:
        buf = self.buf
        while not self.busy and not self.closed and len(buf) >= 16:
            header = bytes(buf[:16])
            try:
                length, request_id, _response_to, op_code = wire.parse_header(header)
            except ProtocolError as exc:
                self._protocol_error(exc)
                return
            if len(buf) < length:
                return
            payload = bytes(buf[16:length])
            del buf[:length]
            try:
                if op_code == wire.OP_MSG and len(payload) >= 4 and \
                        payload[0] & wire.FLAG_CHECKSUM_PRESENT:
                    wire.verify_checksum(header, payload)
                request = wire.parse_message(request_id, op_code, payload)
            except ProtocolError as exc:
                self._protocol_error(exc)
                return
            coro = self.server.dispatcher.handle(self.conn, request)
            try:
                yielded = coro.send(None)
            except StopIteration as stop:
                self._respond(request, stop.value)
                continue
            except Exception as exc:  # pragma: no cover - handle() reports its own errors
                self._protocol_error(exc)
                return
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(
                self._finish(request, _continue(coro, yielded)))

    async def _finish(self, request: wire.Request, pending: Any) -> None:
        try:
            result = await pending
            if self.closed:
                return
            self._respond(request, result)
        except asyncio.CancelledError:
            return
        except (ConnectionError, OSError, RuntimeError):
            self.close()
            return
        finally:
            self.busy = False
            self.task = None
        if not self.closed and self.buf:
            self._process()

    def _respond(self, request: wire.Request, result: Any) -> None:
        if result.close_connection:
            self.close()
            return
        transport = self.transport
        if transport is None or self.closed:
            return
        if request.op_code == wire.OP_QUERY:
            data = wire.encode_op_reply(self.server.next_request_id(), request.request_id,
                                        result.reply)
            self.server.bytes_out += len(data)
            transport.write(data)
            return
        if request.more_to_come:
            return
        stream = request.exhaust_allowed and result.exhaust is not None and \
            result.reply.get("ok") == 1
        reply_id = self.server.next_request_id()
        data = wire.encode_op_msg(reply_id, request.request_id, result.reply,
                                  more_to_come=stream)
        self.server.bytes_out += len(data)
        transport.write(data)
        if stream:
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(
                self._stream(result, reply_id))

    async def _stream(self, result: Any, reply_id: int) -> None:
        """exhaustAllowed hello: keep sending replies flagged moreToCome, each answering
        the previous one, until the client goes away."""
        self.server.exhaust_hello += 1
        try:
            reply = result.reply
            while not self.closed:
                reply = await result.exhaust(reply)
                if reply is None or self.closed or self.transport is None:
                    self.close()
                    return
                new_id = self.server.next_request_id()
                data = wire.encode_op_msg(new_id, reply_id, reply, more_to_come=True)
                self.server.bytes_out += len(data)
                self.transport.write(data)
                reply_id = new_id
        except asyncio.CancelledError:
            return
        except (ConnectionError, OSError, RuntimeError):
            self.close()
        finally:
            self.server.exhaust_hello -= 1
            self.busy = False
            self.task = None


def _version() -> str:
    return release.current().version
