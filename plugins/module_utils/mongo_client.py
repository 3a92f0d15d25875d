# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection layer: the only module_utils file that imports pymongo.

Every module takes the same options (doc fragment quorum.mongodb.connection): a seed
list of any members, the set name, credentials, TLS and timeouts. The client discovers
the primary itself; `direct` talks to one named member where an operation needs that.
Failures become ConnectionProblem with a message that says which hosts, what happened
and what to do; waits are bounded and name what they waited for and what they saw last.

Arbiters: an arbiter holds no data, so no users either, and with authorization on nobody can
log in to it over the network (only through the localhost exception on its own host). This
layer never logs in to one: `hello` is always sent without credentials (mongod answers it
before authentication), and a command meant for one member is refused here, before any login,
when that member's hello says arbiterOnly (MemberIsArbiter). Modules ask `is_arbiter` first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from dataclasses import dataclass

try:
    import pymongo
    from bson import ObjectId, Timestamp
    from pymongo import MongoClient, ReadPreference, WriteConcern
    from pymongo import errors as pymongo_errors
    from pymongo.read_preferences import make_read_preference, read_pref_mode_from_name
    from pymongo.server_type import SERVER_TYPE
    PYMONGO_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module with missing_required_lib
    PYMONGO_IMPORT_ERROR = exc

from ansible_collections.quorum.mongodb.plugins.module_utils.member_security import pem_blocks
from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import normalize_host

# codes of errors worth a retry: the primary moved or the connection dropped
_RETRYABLE_CODES = frozenset((91, 189, 10107, 11600, 11602, 13435, 13436))


def connection_argument_spec():
    """The options every module accepts (see the doc fragment quorum.mongodb.connection)."""
    return dict(
        hosts=dict(type="list", elements="str", default=["localhost:27017"]),
        replica_set=dict(type="str"),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_database=dict(type="str", default="admin"),
        auth_mechanism=dict(type="str", choices=["SCRAM-SHA-1", "SCRAM-SHA-256", "MONGODB-X509"]),
        tls=dict(type="bool", default=False),
        tls_ca_file=dict(type="path"),
        tls_certificate_key_file=dict(type="path"),
        tls_certificate_key_file_password=dict(type="str", no_log=True),
        tls_allow_invalid_hostnames=dict(type="bool", default=False),
        connect_timeout=dict(type="float", default=10.0),
        server_selection_timeout=dict(type="float", default=30.0),
    )


class ConnectionProblem(Exception):
    """Connecting or talking to the set failed; the message is meant for people."""


class AuthenticationProblem(ConnectionProblem):
    """The credentials were refused (AuthenticationFailed)."""


class CommandFailed(ConnectionProblem):
    """mongod answered a command with an error (code, codeName and its message)."""

    def __init__(self, command, where, code, code_name, message):
        super(CommandFailed, self).__init__("%s on %s failed: %s (%s, code %s)" % (command, where, message, code_name, code))
        self.code = code
        self.code_name = code_name


class MemberIsArbiter(ConnectionProblem):
    """A command other than hello was meant for an arbiter; nothing was sent to it."""

    def __init__(self, host, what):
        super(MemberIsArbiter, self).__init__(
            "%s is an arbiter: it holds no data and no users, so with authorization on nobody can log in to it over "
            "the network; %s is not asked of it (only an unauthenticated hello is)" % (host, what))
        self.host = host


class WaitTimeout(ConnectionProblem):
    """A bounded wait ran out; the message names what was awaited and what was seen last."""


@dataclass
class ConnectionOptions:
    hosts: list
    replica_set: object = None
    login_user: object = None
    login_password: object = None
    login_database: str = "admin"
    auth_mechanism: object = None
    tls: bool = False
    tls_ca_file: object = None
    tls_certificate_key_file: object = None
    tls_certificate_key_file_password: object = None
    tls_allow_invalid_hostnames: bool = False
    connect_timeout: float = 10.0
    server_selection_timeout: float = 30.0

    @classmethod
    def from_params(cls, params):
        names = connection_argument_spec()
        return cls(**dict((k, params[k]) for k in names if k in params))

    @property
    def seeds(self):
        return [normalize_host(h) or h for h in self.hosts]

    def client_kwargs(self, direct_host=None, authenticate=True):
        """pymongo's MongoClient options; authenticate=False leaves the credentials out (for hello)."""
        kwargs = {
            "connectTimeoutMS": int(self.connect_timeout * 1000),
            "serverSelectionTimeoutMS": int(self.server_selection_timeout * 1000),
            "retryWrites": False,
        }
        if direct_host is not None:
            kwargs["directConnection"] = True
        elif self.replica_set:
            kwargs["replicaSet"] = self.replica_set
        if authenticate and self.auth_mechanism == "MONGODB-X509":
            # The client certificate is the credential; the user is its subject, held in $external
            # (login_user, when given, must be that subject). No password is sent.
            kwargs.update(authMechanism="MONGODB-X509", authSource="$external")
            if self.login_user:
                kwargs["username"] = self.login_user
        elif self.login_user and authenticate:
            kwargs.update(username=self.login_user, password=self.login_password or "",
                          authSource=self.login_database)
            if self.auth_mechanism:
                kwargs["authMechanism"] = self.auth_mechanism
        if self.tls:
            kwargs["tls"] = True
            if self.tls_ca_file:
                kwargs["tlsCAFile"] = self.tls_ca_file
            if self.tls_certificate_key_file:
                kwargs["tlsCertificateKeyFile"] = self.tls_certificate_key_file
            if self.tls_certificate_key_file_password:
                kwargs["tlsCertificateKeyFilePassword"] = self.tls_certificate_key_file_password
            if self.tls_allow_invalid_hostnames:
                kwargs["tlsAllowInvalidHostnames"] = True
        return kwargs


def check_tls_files(options):
    """Fail before connecting, naming the file and the problem, when a TLS file given to the module
    cannot serve: missing or unreadable, not PEM, a certificate-key file without its key, or an
    encrypted key without tls_certificate_key_file_password; MONGODB-X509 without TLS or without a
    client certificate (the certificate is the credential)."""
    if options.auth_mechanism == "MONGODB-X509" and not (options.tls and options.tls_certificate_key_file):
        raise ConnectionProblem("auth_mechanism MONGODB-X509 authenticates with the client certificate: set tls: true "
                                "and tls_certificate_key_file")
    if not options.tls:
        return
    for option, needs in (("tls_ca_file", ("CERTIFICATE",)),
                          ("tls_certificate_key_file", ("CERTIFICATE", "PRIVATE KEY"))):
        path = getattr(options, option)
        if not path:
            continue
        try:
            with open(path) as handle:
                text = handle.read()
        except (OSError, ValueError) as exc:  # ValueError: undecodable text, a NUL in the path
            raise ConnectionProblem("%s %r cannot be read: %s" % (option, path, getattr(exc, "strerror", None) or exc))
        for kind in needs:
            if not pem_blocks(text, kind):
                raise ConnectionProblem("%s %s holds no %s (-----BEGIN ...%s-----): a PEM file is needed%s" % (
                    option, path, kind.lower(), kind, "" if kind == "CERTIFICATE"
                    else " with the client certificate and its private key"))
        if option == "tls_certificate_key_file" and "ENCRYPTED" in text and \
                not options.tls_certificate_key_file_password:
            raise ConnectionProblem("tls_certificate_key_file %s: the private key is encrypted and "
                                    "tls_certificate_key_file_password is not set" % path)


def require_pymongo():
    """None when pymongo is importable, else the import error text."""
    return None if PYMONGO_IMPORT_ERROR is None else str(PYMONGO_IMPORT_ERROR)


class ReplicaSetConnection:
    """A client on the set (primary discovery) plus direct clients to single members."""

    def __init__(self, options):
        self.options = options
        self._clients = {}
        self._arbiters = {}  # host -> whether its hello said arbiterOnly (members of a set only)

    def client(self, direct_host=None, authenticate=True):
        host = normalize_host(direct_host) if direct_host else None
        key = (host, authenticate)
        if key not in self._clients:
            if not self._clients:
                check_tls_files(self.options)
            hosts = [host] if host else self.options.seeds
            try:
                self._clients[key] = MongoClient(hosts, **self.options.client_kwargs(direct_host=host,
                                                                                     authenticate=authenticate))
            except OSError as exc:  # an unreadable tls_ca_file / tls_certificate_key_file
                raise ConnectionProblem("cannot use the TLS files given (tls_ca_file %s, tls_certificate_key_file "
                                        "%s): %s" % (self.options.tls_ca_file, self.options.tls_certificate_key_file,
                                                     exc))
            except pymongo_errors.ConfigurationError as exc:
                raise ConnectionProblem("invalid connection options for %s: %s" % (", ".join(hosts), exc))
        return self._clients[key]

    def close(self):
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- commands --------------------------------------------------------------------

    def admin(self, command, direct_host=None, retries=3, **kwargs):
        """Run a command on the admin database (see command())."""
        return self.command("admin", command, direct_host=direct_host, retries=retries, **kwargs)

    def command(self, database, command, direct_host=None, retries=3, authenticate=True, **kwargs):
        """Run a command, retrying (bounded) when the primary moved or a connection dropped;
        any other failure becomes a ConnectionProblem naming the hosts. Extended-JSON
        ObjectIds ({"$oid": hex}, as the pure core writes them) are sent as BSON ObjectIds.
        A command for one member that is an arbiter raises MemberIsArbiter, unsent (see the
        module docstring); authenticate=False sends it without credentials."""
        command = to_bson(command)
        return self._attempt(_command_name(command), direct_host, authenticate, retries,
                             lambda client: client[database].command(command, **kwargs))

    def _attempt(self, name, direct_host, authenticate, retries, call):
        """call(client) with command()'s retries and errors; `name` names it in them."""
        last = None
        if direct_host is not None and authenticate:
            self.refuse_arbiter(direct_host, name)
        for attempt in range(retries + 1):
            try:
                return call(self.client(direct_host, authenticate))
            except pymongo_errors.OperationFailure as exc:
                if exc.code == 18:
                    raise AuthenticationProblem(self._auth_message(exc, direct_host))
                if exc.code == 13:
                    raise ConnectionProblem(self._auth_message(exc, direct_host))
                if exc.code not in _RETRYABLE_CODES or attempt == retries:
                    details = exc.details or {}
                    raise CommandFailed(name, self._where(direct_host), exc.code,
                                        details.get("codeName"), details.get("errmsg", str(exc)))
                last = exc
            except pymongo_errors.ServerSelectionTimeoutError as exc:  # before AutoReconnect, its base class
                raise ConnectionProblem(self._selection_message(exc, direct_host))
            except (pymongo_errors.AutoReconnect, pymongo_errors.NotPrimaryError) as exc:
                last = exc
            except pymongo_errors.ConfigurationError as exc:
                raise ConnectionProblem("bad connection options for %s: %s" % (self._where(direct_host), exc))
            time.sleep(min(0.2 * 2 ** attempt, 2.0))
        raise ConnectionProblem("%s failed %d times on %s, last: %s" % (
            name, retries + 1, self._where(direct_host), last))

    def _where(self, direct_host):
        return direct_host or ", ".join(self.options.seeds)

    def _auth_message(self, exc, direct_host=None):
        who = self.options.login_user or "(no user)"
        if exc.code == 18:
            return ("authentication failed for user %s on database %s at %s: wrong password, or the user does not exist "
                    "there (check login_user, login_password and login_database)"
                    % (who, self.options.login_database, self._where(direct_host)))
        return ("user %s is not authorized: %s (grant it clusterAdmin or root, or set login_user)"
                % (who, exc.details.get("errmsg") if exc.details else exc))

    def _selection_message(self, exc, direct_host):
        text = str(exc)
        if "Authentication failed" in text or "auth" in text.lower() and "failed" in text.lower():
            return ("authentication failed for user %s on database %s at %s (check login_user, login_password and "
                    "login_database)" % (self.options.login_user, self.options.login_database, self._where(direct_host)))
        hint = "check that mongod runs there, the addresses, the port and any firewall"
        if self.options.replica_set and direct_host is None:
            hint = ("check the addresses and that replica_set %r is the name given to mongod with --replSet; a member "
                    "reachable under another set name is ignored" % self.options.replica_set)
        return "no usable member among %s within %.0f s: %s (%s)" % (
            self._where(direct_host), self.options.server_selection_timeout, _first_line(text), hint)

    def uninitialised_seeds(self, timeout):
        """{seed: what it answered} when every seed has had its first hello answered (or failed) and
        none of them is a member of a replica set, at least one being uninitialised (pymongo's
        RSGhost: started with --replSet, no config yet), the others unreachable. No primary or
        secondary can be selected then until someone initiates the set, so a probe need not wait its
        selection timeout for one. Else None, and the caller goes on as before: as soon as a seed is a
        member, when none answered at all (the selection error then tells why: TLS, refused, ...),
        and when the first answers take longer than `timeout` seconds. Reads pymongo's topology
        description (the monitors' hellos; no command of its own)."""
        if not self.options.replica_set:
            return None  # a single seed without a set name is selectable whatever it is
        client = self.client()
        members = (SERVER_TYPE.RSPrimary, SERVER_TYPE.RSSecondary, SERVER_TYPE.RSArbiter, SERVER_TYPE.RSOther)
        deadline = time.monotonic() + timeout
        while True:
            servers = client.topology_description.server_descriptions()
            if not servers or any(server.server_type in members for server in servers.values()):
                return None  # none left: each answered for another set or as a standalone (pymongo drops those)
            if all(server.server_type != SERVER_TYPE.Unknown or server.error is not None
                   for server in servers.values()):
                if not any(server.server_type == SERVER_TYPE.RSGhost for server in servers.values()):
                    return None
                return dict(("%s:%d" % address, "uninitialised" if server.server_type == SERVER_TYPE.RSGhost
                             else "no answer (%s)" % _first_line(str(server.error or server.server_type_name)))
                            for address, server in sorted(servers.items()))
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)  # the monitors' first hellos are on their way

    # -- what operators read ---------------------------------------------------------

    def hello(self, host):
        """One member's hello, sent without credentials: mongod runs it before authentication
        (mongodb/mongo src/mongo/db/repl/replication_info.cpp, CmdHello::requiresAuth() returns
        false), so it is the probe that works on every member, arbiters included."""
        reply = self.admin("hello", direct_host=host, authenticate=False)
        if reply.get("setName"):  # a member of a set: what it is stays so for this connection
            self._arbiters[normalize_host(host)] = bool(reply.get("arbiterOnly"))
        return reply

    def is_arbiter(self, host):
        """Whether the member is an arbiter, by its hello (asked once per connection)."""
        key = normalize_host(host)
        if key not in self._arbiters:
            return bool(self.hello(key).get("arbiterOnly"))
        return self._arbiters[key]

    def refuse_arbiter(self, host, what):
        """Raise MemberIsArbiter when `host` is an arbiter: `what` (a command, a read) needs a
        login there, and an arbiter has no users to log in as."""
        if self.is_arbiter(host):
            raise MemberIsArbiter(normalize_host(host), what)

    def status(self, direct_host=None):
        """replSetGetStatus from the primary, or from a secondary when there is none."""
        return self.admin("replSetGetStatus", direct_host=direct_host, read_preference=ReadPreference.PRIMARY_PREFERRED)

    def config(self, direct_host=None):
        return self.admin("replSetGetConfig", direct_host=direct_host,
                          read_preference=ReadPreference.PRIMARY_PREFERRED)["config"]

    def read(self, database, command, direct_host=None, authenticate=True):
        """A read-only command, answered by the primary or, when there is none, a secondary
        (or by `direct_host`)."""
        return self.command(database, command, direct_host=direct_host, authenticate=authenticate,
                            read_preference=ReadPreference.PRIMARY_PREFERRED)

    def find_all(self, database, collection, projection=None, direct_host=None):
        """Every document of a collection, from the primary or, when there is none, a secondary
        (or `direct_host`). pymongo's cursor sends each getMore to the server and in the session
        of its find, as mongod requires; a failure retries the whole read."""
        def read_all(client):
            documents = client[database].get_collection(collection, read_preference=ReadPreference.PRIMARY_PREFERRED)
            return list(documents.find({}, projection, batch_size=1000))
        return self._attempt("find", direct_host, True, 3, read_all)

    def oplog_window(self, host):
        """(first, last, window in hours) of a member's oplog, or None without one."""
        stats = self.oplog_stats(host)
        if stats is None:
            return None
        seconds = stats["newest_seconds"] - stats["oldest_seconds"]
        return {"first": stats["oldest_seconds"], "last": stats["newest_seconds"], "hours": round(seconds / 3600.0, 3)}

    def oplog_stats(self, host):
        """A member's oplog: oldest and newest entry times (s), configured and used bytes,
        and minRetentionHours; None when it has no oplog entries."""
        self.refuse_arbiter(host, "reading local.oplog.rs")
        try:
            local = self.client(host).local
            first = local["oplog.rs"].find_one({}, sort=[("$natural", 1)], projection={"ts": 1})
            last = local["oplog.rs"].find_one({}, sort=[("$natural", -1)], projection={"ts": 1})
            stats = local.command("collStats", "oplog.rs")
            truncation = self.client(host).admin.command("serverStatus").get("oplogTruncation") or {}
        except pymongo_errors.PyMongoError as exc:
            raise ConnectionProblem("cannot read local.oplog.rs on %s: %s" % (host, exc))
        if not first or not last:
            return None
        return {"host": host, "oldest_seconds": first["ts"].time, "newest_seconds": last["ts"].time,
                "size_bytes": stats.get("maxSize") or stats.get("size", 0), "used_bytes": stats.get("size", 0),
                "min_retention_hours": float(truncation.get("oplogMinRetentionHours") or 0)}

    def oplog_bytes_since(self, host, seconds):
        """Bytes written to a member's oplog after `seconds` (entries times their average size)."""
        self.refuse_arbiter(host, "reading local.oplog.rs")
        try:
            local = self.client(host).local
            count = local["oplog.rs"].count_documents({"ts": {"$gt": Timestamp(int(seconds), 0xFFFFFFFF)}})
            average = local.command("collStats", "oplog.rs").get("avgObjSize", 0)
        except pymongo_errors.PyMongoError as exc:
            raise ConnectionProblem("cannot read local.oplog.rs on %s: %s" % (host, exc))
        return count * average

    # -- what an application does (the smoke check) ----------------------------------

    def discovered_members(self):
        """The members the driver discovered from the seed list, as it sees them: host, server
        type (RSPrimary, RSSecondary, RSArbiter, Unknown, ...), tags and round-trip time in ms
        (None before the member's first check)."""
        servers = self.client().topology_description.server_descriptions()
        return [{"host": "%s:%d" % address, "type": server.server_type_name, "tags": dict(server.tags or {}),
                 "rtt_ms": None if server.round_trip_time is None else round(server.round_trip_time * 1000, 3)}
                for address, server in sorted(servers.items())]

    def insert_acknowledged(self, namespace, document, w, timeout):
        """Insert one document under write concern `w` (a number, "majority" or a
        getLastErrorModes name), acknowledged within `timeout` seconds (wtimeout)."""
        concern = WriteConcern(w=w, wtimeout=max(int(timeout * 1000), 1))  # no CSOT: it would drop wtimeout
        return self._collection_call("insert under w:%s" % (w,), namespace,
                                     lambda coll: coll.with_options(write_concern=concern).insert_one(document))

    def read_one(self, namespace, query, mode, tag_sets, comment, timeout):
        """find_one under a read preference (mode name and tag sets) within `timeout` seconds;
        returns (the member that answered, as host:port, the document or None)."""
        preference = make_read_preference(read_pref_mode_from_name(mode), tag_sets=tag_sets)

        def read(coll):
            cursor = coll.with_options(read_preference=preference).find(query, comment=comment).limit(1)
            found = next(iter(cursor), None)
            return "%s:%d" % cursor.address, found
        return self._collection_call("read with read preference %s %s" % (mode, tag_sets), namespace, read, timeout)

    def delete_many(self, namespace, query):
        """Delete the matching documents; returns how many."""
        return self._collection_call("delete", namespace, lambda coll: coll.delete_many(query).deleted_count)

    def _collection_call(self, what, namespace, call, timeout=None):
        """call(collection) bounded by `timeout` seconds (server selection included) when given;
        errors become CommandFailed / ConnectionProblem naming what was done where."""
        database, collection = namespace.split(".", 1)
        try:
            with pymongo.timeout(timeout):
                return call(self.client()[database][collection])
        except pymongo_errors.WriteConcernError as exc:
            details = exc.details or {}
            raise CommandFailed(what, namespace, details.get("code"), details.get("codeName"),
                                details.get("errmsg", str(exc)))
        except pymongo_errors.OperationFailure as exc:
            if exc.code in (13, 18):
                raise ConnectionProblem(self._auth_message(exc))
            details = exc.details or {}
            raise CommandFailed(what, namespace, exc.code, details.get("codeName"), details.get("errmsg", str(exc)))
        except pymongo_errors.PyMongoError as exc:
            within = "" if timeout is None else " within %.0f s" % timeout
            raise ConnectionProblem("%s on %s failed%s: %s" % (what, namespace, within, _first_line(str(exc))))


def to_bson(value):
    """{"$oid": hex} -> ObjectId, recursively; everything else unchanged."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$oid"), str):
            return ObjectId(value["$oid"])
        return type(value)((k, to_bson(v)) for k, v in value.items())
    if isinstance(value, list):
        return [to_bson(v) for v in value]
    return value


def wait_until(probe, done, timeout, what, describe=str, interval=0.25, max_interval=2.0, clock=time.monotonic,
               sleep=time.sleep):
    """Poll `probe()` until `done(value)` holds, with backoff, for at most `timeout` seconds.

    Returns (value, polls). On timeout raises WaitTimeout naming `what` and the last value
    seen, as `describe(value)` puts it (or the last error). A ConnectionProblem from the
    probe counts as "not yet".
    """
    deadline = clock() + timeout
    polls, last, error = 0, None, None
    while True:
        polls += 1
        try:
            last = probe()
            error = None
            if done(last):
                return last, polls
        except ConnectionProblem as exc:
            error = exc
        if clock() >= deadline:
            seen = ("last error: %s" % error) if error is not None else ("last seen: %s" % describe(last))
            raise WaitTimeout("timed out after %.0f s waiting for %s; %s" % (timeout, what, seen))
        sleep(min(interval, max(deadline - clock(), 0)))
        interval = min(interval * 1.5, max_interval)


def _command_name(command):
    return command if isinstance(command, str) else next(iter(command))


def _first_line(text):
    return text.split("\n")[0].split(", Timeout:")[0][:300]


def pymongo_version():
    return getattr(pymongo, "version", None) if PYMONGO_IMPORT_ERROR is None else None
