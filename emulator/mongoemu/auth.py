"""Authentication (SCRAM-SHA-1 / SCRAM-SHA-256) and authorization (built-in roles)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from mongoemu.errors import MongoError

SCRAM_ITERATIONS = {"SCRAM-SHA-1": 10000, "SCRAM-SHA-256": 15000}
_HASHES = {"SCRAM-SHA-1": hashlib.sha1, "SCRAM-SHA-256": hashlib.sha256}
MECHANISMS = ("SCRAM-SHA-1", "SCRAM-SHA-256")

# -- keyFile ------------------------------------------------------------------------------


class KeyFileError(Exception):
    pass


def read_key_file(path: str) -> str:
    """Read a keyFile as mongod does: refuse group/other permissions, strip whitespace,
    require 6..1024 base64 characters."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise KeyFileError(f"error getting file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"permissions on {path} are too open")
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    key = "".join(text.split())
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    bad = [ch for ch in key if ch not in allowed]
    if bad:
        raise KeyFileError(f"invalid char in key file {path}: {bad[0]}")
    if len(key) < 6:
        raise KeyFileError(f" security key in {path} is too short")
    if len(key) > 1024:
        raise KeyFileError(f" security key in {path} is too long")
    return key


# -- SCRAM ------------------------------------------------------------------------------------


def _saslprep(password: str) -> str:
    if password.isascii():
        return password
    try:
        from pymongo.saslprep import saslprep  # a well-kept implementation of RFC 4013

        return saslprep(password)
    except ImportError:  # pragma: no cover
        return password


def _salted_password(mechanism: str, user: str, password: str, salt: bytes,
                     iterations: int) -> bytes:
    if mechanism == "SCRAM-SHA-1":
        material = hashlib.md5(f"{user}:mongo:{password}".encode()).hexdigest().encode()
        return hashlib.pbkdf2_hmac("sha1", material, salt, iterations)
    return hashlib.pbkdf2_hmac("sha256", _saslprep(password).encode(), salt, iterations)


def make_credentials(user: str, password: str,
                     mechanisms: Iterable[str] = MECHANISMS) -> dict[str, Any]:
    creds: dict[str, Any] = {}
    for mech in mechanisms:
        h = _HASHES[mech]
        salt = os.urandom(16 if mech == "SCRAM-SHA-1" else 28)
        iterations = SCRAM_ITERATIONS[mech]
        salted = _salted_password(mech, user, password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", h)
        server_key = hmac.digest(salted, b"Server Key", h)
        creds[mech] = {"iterationCount": iterations,
                       "salt": base64.b64encode(salt).decode(),
                       "storedKey": base64.b64encode(h(client_key).digest()).decode(),
                       "serverKey": base64.b64encode(server_key).decode()}
    return creds


def _parse_attrs(message: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for part in message.split(","):
        if len(part) >= 2 and part[1] == "=":
            attrs[part[0]] = part[2:]
    return attrs


def _decode_name(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")


@dataclass
class ScramConversation:
    mechanism: str
    db: str
    user: str = ""
    client_first_bare: str = ""
    server_first: str = ""
    nonce: str = ""
    credentials: dict[str, Any] | None = None
    step: int = 0
    done: bool = False
    skip_empty_exchange: bool = False


def scram_start(conv: ScramConversation, payload: bytes,
                lookup: Callable[[str, str], dict[str, Any] | None]) -> bytes:
    """Process client-first; returns server-first. ``lookup(db, user)`` gives credentials."""
    text = payload.decode("utf-8", "replace")
    if not text.startswith(("n,", "y,")):
        raise MongoError(18, "Authentication failed.")
    gs2_end = text.find(",", 2)
    bare = text[gs2_end + 1:]
    attrs = _parse_attrs(bare)
    if "n" not in attrs or "r" not in attrs:
        raise MongoError(18, "Authentication failed.")
    conv.user = _decode_name(attrs["n"])
    conv.client_first_bare = bare
    creds = lookup(conv.db, conv.user)
    conv.credentials = creds.get(conv.mechanism) if creds else None
    server_nonce = base64.b64encode(os.urandom(24)).decode()
    conv.nonce = attrs["r"] + server_nonce
    if conv.credentials is None:
        # Keep the exchange going with fake values so a missing user looks like a bad password.
        salt = base64.b64encode(os.urandom(16)).decode()
        iterations = SCRAM_ITERATIONS[conv.mechanism]
    else:
        salt = conv.credentials["salt"]
        iterations = conv.credentials["iterationCount"]
    conv.server_first = f"r={conv.nonce},s={salt},i={iterations}"
    conv.step = 1
    return conv.server_first.encode()


def scram_continue(conv: ScramConversation, payload: bytes) -> bytes:
    """Process client-final; returns server-final (v=...). Raises AuthenticationFailed."""
    if conv.step == 2:
        conv.done = True
        return b""
    text = payload.decode("utf-8", "replace")
    attrs = _parse_attrs(text)
    if conv.credentials is None or attrs.get("r") != conv.nonce or "p" not in attrs:
        raise MongoError(18, "Authentication failed.")
    without_proof = text[:text.rfind(",p=")]
    auth_message = f"{conv.client_first_bare},{conv.server_first},{without_proof}".encode()
    h = _HASHES[conv.mechanism]
    stored_key = base64.b64decode(conv.credentials["storedKey"])
    server_key = base64.b64decode(conv.credentials["serverKey"])
    client_signature = hmac.digest(stored_key, auth_message, h)
    try:
        proof = base64.b64decode(attrs["p"])
    except ValueError:
        raise MongoError(18, "Authentication failed.") from None
    if len(proof) != len(client_signature):
        raise MongoError(18, "Authentication failed.")
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature))
    if not hmac.compare_digest(h(client_key).digest(), stored_key):
        raise MongoError(18, "Authentication failed.")
    server_signature = hmac.digest(server_key, auth_message, h)
    conv.step = 2
    if conv.skip_empty_exchange:
        conv.done = True
    return f"v={base64.b64encode(server_signature).decode()}".encode()


# -- roles and privileges -------------------------------------------------------------------

READ = frozenset({"find", "listCollections", "listIndexes", "collStats", "dbStats",
                  "killCursors", "changeStream", "dbHash", "listSearchIndexes"})
WRITE = frozenset({"insert", "update", "remove", "createCollection", "dropCollection",
                   "createIndex", "dropIndex", "convertToCapped", "renameCollectionSameDB"})
DB_ADMIN = frozenset({"dropDatabase", "collMod", "createCollection", "dropCollection",
                      "createIndex", "dropIndex", "collStats", "dbStats", "listCollections",
                      "listIndexes", "enableProfiler", "compact", "validate", "reIndex",
                      "renameCollectionSameDB", "convertToCapped"})
USER_ADMIN = frozenset({"createUser", "dropUser", "grantRole", "revokeRole", "viewUser",
                        "changePassword", "changeCustomData", "viewRole", "createRole",
                        "dropRole", "updateUser", "revokeRole",
                        "setAuthenticationRestriction"})
CLUSTER_MONITOR = frozenset({"serverStatus", "hostInfo", "getCmdLineOpts", "getLog",
                             "getParameter", "replSetGetStatus", "replSetGetConfig",
                             "listDatabases", "connPoolStats", "top", "inprog",
                             "getDefaultRWConcern", "netstat", "listSessions"})
CLUSTER_MANAGER = frozenset({"replSetConfigure", "replSetStateChange", "resync",
                             "applicationMessage", "replSetResizeOplog", "listDatabases"})
HOST_MANAGER = frozenset({"shutdown", "fsync", "unlock", "setParameter", "killop",
                          "logRotate", "killAnyCursor", "killAnySession",
                          "setFeatureCompatibilityVersion"})
ALL = "*"


@dataclass(frozen=True)
class RoleGrant:
    """Actions a role grants: on its own database, on every database, on the cluster."""

    db_actions: frozenset[str] = frozenset()
    any_db_actions: frozenset[str] = frozenset()
    cluster_actions: frozenset[str] = frozenset()
    everything: bool = False
    admin_only: bool = False
    privileges: tuple["Privilege", ...] = ()   # a user-defined role's own privileges


BUILTIN_ROLES: dict[str, RoleGrant] = {
    "read": RoleGrant(db_actions=READ),
    "readWrite": RoleGrant(db_actions=READ | WRITE),
    "dbAdmin": RoleGrant(db_actions=DB_ADMIN),
    "userAdmin": RoleGrant(db_actions=USER_ADMIN),
    "dbOwner": RoleGrant(db_actions=READ | WRITE | DB_ADMIN | USER_ADMIN),
    # builtin_roles.yml: enableSharding is not adminOnly (built in on every database) and
    # grants on every normal resource
    "enableSharding": RoleGrant(any_db_actions=frozenset({
        "analyzeShardKey", "enableSharding", "refineCollectionShardKey", "reshardCollection"})),
    "readAnyDatabase": RoleGrant(any_db_actions=READ, cluster_actions=frozenset({"listDatabases"}),
                                 admin_only=True),
    "readWriteAnyDatabase": RoleGrant(any_db_actions=READ | WRITE,
                                      cluster_actions=frozenset({"listDatabases"}),
                                      admin_only=True),
    "userAdminAnyDatabase": RoleGrant(any_db_actions=USER_ADMIN,
                                      cluster_actions=frozenset({"listDatabases"}),
                                      admin_only=True),
    "dbAdminAnyDatabase": RoleGrant(any_db_actions=DB_ADMIN,
                                    cluster_actions=frozenset({"listDatabases"}),
                                    admin_only=True),
    "clusterMonitor": RoleGrant(any_db_actions=frozenset({"collStats", "dbStats"}),
                                cluster_actions=CLUSTER_MONITOR, admin_only=True),
    "clusterManager": RoleGrant(cluster_actions=CLUSTER_MANAGER, admin_only=True),
    "hostManager": RoleGrant(cluster_actions=HOST_MANAGER, admin_only=True),
    "clusterAdmin": RoleGrant(any_db_actions=frozenset({"dropDatabase", "collStats", "dbStats"}),
                              cluster_actions=CLUSTER_MONITOR | CLUSTER_MANAGER | HOST_MANAGER,
                              admin_only=True),
    "backup": RoleGrant(any_db_actions=READ,
                        cluster_actions=frozenset({"listDatabases", "serverStatus",
                                                   "getParameter", "appendOplogNote"}),
                        admin_only=True),
    "restore": RoleGrant(any_db_actions=WRITE | frozenset({"listCollections", "listIndexes",
                                                           "collMod", "find"}) | USER_ADMIN,
                         cluster_actions=frozenset({"listDatabases"}), admin_only=True),
    "__queryableBackup": RoleGrant(any_db_actions=frozenset({"find", "listCollections",
                                                             "listIndexes", "collStats"}),
                                   cluster_actions=frozenset({"getParameter", "listDatabases",
                                                              "useUUID"}), admin_only=True),
    "directShardOperations": RoleGrant(cluster_actions=frozenset({"issueDirectShardOperations"}),
                                       admin_only=True),
    "root": RoleGrant(everything=True, admin_only=True),
    "__system": RoleGrant(everything=True, admin_only=True),
}


# The localhost exception (AuthorizationSessionImpl::_getDefaultPrivileges,
# authorization_session_impl.cpp): while no user and no role exists, an unauthenticated
# loopback connection holds these privileges and nothing else; each command's own
# authorization check runs against them (commands.cpp: "Still can't decide on auth because of
# the localhost bypass"). On an arbiter (serverIsArbiter, SERVER-5479) four more cluster actions.
LOCALHOST_ADMIN_DB_ACTIONS = frozenset({"createUser", "grantRole"})
LOCALHOST_EXTERNAL_DB_ACTIONS = frozenset({"createUser"})
LOCALHOST_CLUSTER_ACTIONS = frozenset({"addShard", "replSetConfigure", "replSetGetStatus"})
LOCALHOST_ARBITER_CLUSTER_ACTIONS = frozenset({"getCmdLineOpts", "getParameter",
                                               "serverStatus", "shutdown"})


@dataclass
class LocalhostBypass:
    """The principal of a connection using the localhost exception (not a user)."""

    arbiter: bool = False

    def grants(self) -> list[tuple[str, RoleGrant]]:
        cluster = LOCALHOST_CLUSTER_ACTIONS | (LOCALHOST_ARBITER_CLUSTER_ACTIONS
                                               if self.arbiter else frozenset())
        return [("admin", RoleGrant(db_actions=LOCALHOST_ADMIN_DB_ACTIONS,
                                    cluster_actions=cluster)),
                ("$external", RoleGrant(db_actions=LOCALHOST_EXTERNAL_DB_ACTIONS))]


def has_any_action_on_db(users: Iterable[Any], db: str) -> bool:
    """isAuthorizedForAnyActionOnAnyResourceInDB: what listDatabases' authorizedDatabases
    filter keeps."""
    for user in users:
        for role_db, grant in user.grants():
            if grant.everything or grant.any_db_actions or \
                    (role_db == db and grant.db_actions):
                return True
    return False


def role_exists(role: str, db: str) -> bool:
    grant = BUILTIN_ROLES.get(role)
    if grant is None:
        return False
    return not grant.admin_only or db == "admin"


@dataclass
class AuthenticatedUser:
    user: str
    db: str
    roles: list[dict[str, str]] = field(default_factory=list)
    # every role reached from ``roles`` with what it grants (built-in or user-defined), set by
    # whoever can read admin.system.roles (commands.roles.resolve_user); None: built-ins only
    resolved: list[tuple[str, RoleGrant]] | None = None

    def grants(self) -> list[tuple[str, RoleGrant]]:
        if self.resolved is not None:
            return self.resolved
        out = []
        for r in self.roles:
            grant = BUILTIN_ROLES.get(r.get("role", ""))
            if grant is not None:
                out.append((r.get("db", self.db), grant))
        return out


def is_authorized(users: Iterable[Any], needs: Iterable[tuple[str | None, str]],
                  collection: str | None = None) -> bool:
    """``needs`` is a list of (database or None for the cluster, action); ``collection`` is the
    collection the command acts on, for privileges granted on one collection."""
    grants = [g for u in users for g in u.grants()]
    for db, action in needs:
        ok = False
        for role_db, grant in grants:
            if grant.everything:
                ok = True
            elif db is None:
                ok = action in grant.cluster_actions
            else:
                ok = action in grant.any_db_actions or (role_db == db and
                                                        action in grant.db_actions)
            if not ok and grant.privileges:
                ok = any(p.covers(db, action, collection) for p in grant.privileges)
            if ok:
                break
        if not ok:
            return False
    return True


def privileges_of(user: AuthenticatedUser) -> list[dict[str, Any]]:
    privs: list[dict[str, Any]] = []
    for role_db, grant in user.grants():
        if grant.everything:
            privs.append({"resource": {"anyResource": True}, "actions": ["anyAction"]})
            continue
        if grant.db_actions:
            privs.append({"resource": {"db": role_db, "collection": ""},
                          "actions": sorted(grant.db_actions)})
        if grant.any_db_actions:
            privs.append({"resource": {"db": "", "collection": ""},
                          "actions": sorted(grant.any_db_actions)})
        if grant.cluster_actions:
            privs.append({"resource": {"cluster": True},
                          "actions": sorted(grant.cluster_actions)})
        for privilege in grant.privileges:
            privs.append(privilege.to_doc())
    return privs


# -- user-defined privileges (src/mongo/db/auth/privilege.cpp, resource_pattern.cpp) ----------

# Every action type of src/mongo/db/auth/action_type.idl (7.0 and later) a privilege may name.
ACTION_TYPES = frozenset("""
addShard advanceClusterTime allCollectionStats analyze analyzeShardKey anyAction appendOplogNote
applicationMessage applyOps auditConfigure auditLogRotate authCheck authSchemaUpgrade authenticate
bypassDocumentValidation cleanupStructuredEncryptionData createDatabase emptycapped fsyncUnlock
getChangeStreamState getCmdLineOpts getDatabaseVersion getLog grantPrivilegesToRole
grantRolesToRole grantRolesToUser issueDirectShardOperations listCursors listSampledQueries
moveCollection oidcListKeys oidcRefreshKeys querySettings repairDatabase replSetReconfig
revokePrivilegesFromRole revokeRolesFromRole revokeRolesFromUser runTenantMigration
setChangeStreamState transitionFromDedicatedConfigServer transitionToDedicatedConfigServer
updateUser useTenant
bypassWriteBlockingMode changeCustomData changeOwnCustomData changeOwnPassword
changePassword changeStream checkFreeMonitoringStatus checkMetadataConsistency cleanupOrphaned
clearJumboFlag closeAllDatabases collMod collStats compact compactStructuredEncryptionData
configureQueryAnalyzer connPoolStats connPoolSync convertToCapped cpuProfiler createCollection
createIndex createRole createSearchIndexes createUser dbCheck dbHash dbStats dropAllRolesFromDatabase
dropAllUsersFromDatabase dropCollection dropConnections dropDatabase dropIndex dropRole
dropSearchIndex dropUser enableProfiler enableSharding exportCollection find flushRouterConfig
forceUUID fsync getClusterParameter getDefaultRWConcern getParameter getShardMap getShardVersion
grantRole hostInfo impersonate importCollection indexStats inprog insert internal invalidateUserCache
killAnyCursor killAnySession killCursors killop listCachedAndActiveUsers listCollections
listDatabases listIndexes listSearchIndexes listSessions listShards logRotate moveChunk
netstat oidReset operationMetrics planCacheIndexFilter planCacheRead planCacheWrite
queryStatsRead queryStatsReadTransformed reIndex refineCollectionShardKey remove
removeShard renameCollection renameCollectionSameDB replSetConfigure replSetGetConfig
replSetGetStatus replSetHeartbeat replSetResizeOplog replSetStateChange reshardCollection
resync revokeRole rotateCertificates runAsLessPrivilegedUser serverStatus setAuthenticationRestriction
setClusterParameter setDefaultRWConcern setFeatureCompatibilityVersion setFreeMonitoring
setParameter setUserWriteBlockMode shardCollection shardedDataDistribution shardingState
shutdown splitChunk splitVector storageDetails top touch trafficRecord unlock update
updateRole updateSearchIndex useUUID validate viewRole viewUser
""".split())


@dataclass(frozen=True)
class Privilege:
    """A resource document and its actions, as a role document holds them."""

    db: str | None            # None: not a database/collection resource
    collection: str | None
    cluster: bool = False
    any_resource: bool = False
    actions: frozenset[str] = frozenset()

    def covers(self, db: str | None, action: str, collection: str | None = None) -> bool:
        """ResourcePattern matching as buildResourceSearchList (authorization_session_impl.cpp)
        builds it: {db: "", collection: ""} is every normal resource (not local or config),
        {db: "", collection: c} the collection c of any database."""
        if action not in self.actions and "anyAction" not in self.actions:
            return False
        if self.any_resource:
            return True
        if self.cluster or db is None:
            return self.cluster and db is None
        if self.db == "" and self.collection == "":
            return db not in ("local", "config")
        if self.db == "":
            return collection == self.collection
        if self.db != db:
            return False
        return self.collection == "" or collection == self.collection

    def resource_doc(self) -> dict[str, Any]:
        if self.any_resource:
            return {"anyResource": True}
        if self.cluster:
            return {"cluster": True}
        return {"db": self.db, "collection": self.collection}

    def to_doc(self) -> dict[str, Any]:
        # ActionSet::getActionsAsStrings: a set holding anyAction holds every action and is
        # written as anyAction alone (ActionSet::addAction: anyAction sets them all)
        actions = ["anyAction"] if "anyAction" in self.actions else sorted(self.actions)
        return {"resource": self.resource_doc(), "actions": actions}

    def without(self, actions: frozenset[str]) -> "Privilege":
        """ActionSet::removeAllActionsFromSet: removing anyAction removes all; removing
        anything from a set that held anyAction leaves every other action, not anyAction."""
        if "anyAction" in actions:
            kept: frozenset[str] = frozenset()
        elif "anyAction" in self.actions and actions:
            kept = ACTION_TYPES - {"anyAction"} - actions
        else:
            kept = self.actions - actions
        return Privilege(self.db, self.collection, self.cluster, self.any_resource, kept)


def parse_privilege(doc: Any, command: str) -> Privilege:
    """One element of a "privileges" array (ParsedPrivilege / ParsedResource IDL): errors as
    mongod's parser reports them, BadValue for anything malformed."""
    if not isinstance(doc, dict):
        raise MongoError(14, f"BSON field '{command}.privileges' is the wrong type, expected "
                             "type 'object'")
    resource = doc.get("resource")
    actions = doc.get("actions")
    if not isinstance(resource, dict):
        raise MongoError(40414, f"BSON field '{command}.privileges.resource' is missing but a "
                                "required field")
    if not isinstance(actions, list):
        raise MongoError(40414, f"BSON field '{command}.privileges.actions' is missing but a "
                                "required field")
    for key in doc:
        if key not in ("resource", "actions"):
            raise MongoError(40415, f"BSON field '{command}.privileges.{key}' is an unknown "
                                    "field.")
    bad = [a for a in actions if not isinstance(a, str) or a not in ACTION_TYPES]
    if bad:
        raise MongoError(2, f"Unknown action type in privilege set: {bad[0]}")
    keys = set(resource)
    if keys == {"cluster"} and resource["cluster"] is True:
        return Privilege(None, None, cluster=True, actions=frozenset(actions))
    if keys == {"anyResource"} and resource["anyResource"] is True:
        return Privilege(None, None, any_resource=True, actions=frozenset(actions))
    if keys == {"db", "collection"} and isinstance(resource["db"], str) and \
            isinstance(resource["collection"], str):
        return Privilege(resource["db"], resource["collection"], actions=frozenset(actions))
    raise MongoError(2, "resource must have exactly one of cluster: true, anyResource: true, "
                        "or a db and collection pair")


def privileges_from_docs(docs: Iterable[Any], command: str) -> list[Privilege]:
    """Parse and merge (Privilege::addPrivilegeToPrivilegeVector: one entry per resource)."""
    merged: dict[tuple[Any, ...], Privilege] = {}
    for doc in docs:
        p = parse_privilege(doc, command)
        key = (p.db, p.collection, p.cluster, p.any_resource)
        old = merged.get(key)
        merged[key] = p if old is None else Privilege(p.db, p.collection, p.cluster,
                                                      p.any_resource, old.actions | p.actions)
    return list(merged.values())


# -- authenticationRestrictions (src/mongo/db/auth/address_restriction.cpp, restriction*.h) ----


def check_restrictions(value: Any, command: str) -> list[dict[str, Any]]:
    """getRawAuthenticationRestrictions: an array of {clientSource?, serverAddress?} documents,
    each naming at least one, every entry a CIDR block or an address."""
    import ipaddress

    if not isinstance(value, list):
        raise MongoError(14, f"BSON field '{command}.authenticationRestrictions' is the wrong "
                             f"type '{type(value).__name__}', expected type 'array'")
    out = []
    for doc in value:
        if not isinstance(doc, dict):
            raise MongoError(12, "'authenticationRestrictions' array sub-documents must be "
                                 "address restriction objects")
        for key in doc:
            if key not in ("clientSource", "serverAddress"):
                raise MongoError(2, f"BSON field 'address restriction.{key}' is an unknown "
                                    "field.")
        if "clientSource" not in doc and "serverAddress" not in doc:
            raise MongoError(162, "At least one of 'clientSource' and/or 'serverAddress' must "
                                  "be set")
        clean: dict[str, Any] = {}
        for key in ("clientSource", "serverAddress"):
            if key not in doc:
                continue
            entries = doc[key]
            if isinstance(entries, str):
                entries = [entries]
            if not isinstance(entries, list):
                raise MongoError(2, f"BSON field 'address restriction.{key}' is the wrong type")
            for entry in entries:
                try:
                    ipaddress.ip_network(str(entry), strict=False)
                except ValueError:
                    raise MongoError(2, f"'{entry}' is not a valid CIDR range") from None
            clean[key] = list(entries)
        out.append(clean)
    return out


def restrictions_met(documents: list[dict[str, Any]], client_ip: str, server_ip: str) -> bool:
    """RestrictionDocument semantics: met when any one document is met; a document is met when
    each of its restrictions is (clientSource: the peer address, serverAddress: the address the
    connection arrived at, each in one of the listed ranges). No documents: met."""
    import ipaddress

    if not documents:
        return True

    def inside(address: str, ranges: list[str]) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(r, strict=False) for r in ranges)

    for doc in documents:
        if "clientSource" in doc and not inside(client_ip, doc["clientSource"]):
            continue
        if "serverAddress" in doc and not inside(server_ip, doc["serverAddress"]):
            continue
        return True
    return False
