"""x.509 authentication like mongod's MONGODB-X509: a client proves who it is with the
certificate it presented in the TLS handshake, and is the user of the ``$external`` database
named by the certificate's subject (RFC 4514, most specific attribute first, as mongod prints it).

A certificate whose O, OU and DC equal those of the member's own cluster certificate is a member
of the set (mongod: SSLConfiguration::isClusterMember, src/mongo/util/net/ssl_manager.cpp); with
clusterAuthMode sendKeyFile, sendX509 or x509 it is authorised as the internal __system user,
with keyFile it is refused (src/mongo/db/commands/authentication_commands.cpp, _authenticateX509).
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mongoemu.auth import AuthenticatedUser
from mongoemu.errors import MongoError

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.dispatch import Ctx
    from mongoemu.server import Server

EXTERNAL_DB = "$external"
_PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def _member_attributes(name: Any) -> tuple:
    from cryptography.x509.oid import NameOID
    wanted = (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.DOMAIN_COMPONENT)
    return tuple(tuple(sorted(a.value for a in name.get_attributes_for_oid(oid))) for oid in wanted)


def peer_certificate(transport: Any) -> Any:
    """The verified certificate the client presented (None without one)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return None
    from cryptography import x509
    return x509.load_der_x509_certificate(der)


def own_cluster_name(server: "Server") -> Any:
    """The subject of the certificate this member presents to the others (clusterFile, else
    certificateKeyFile)."""
    cached = getattr(server, "_x509_own_name", None)
    if cached is None:
        from cryptography import x509
        tls = server.config.tls
        path = tls.cluster_file or tls.certificate_key_file
        with open(path, encoding="ascii", errors="replace") as handle:
            block = _PEM_CERT.search(handle.read())
        cached = x509.load_pem_x509_certificate(block.group(0).encode()).subject if block else x509.Name([])
        server._x509_own_name = cached  # type: ignore[attr-defined]
    return cached


def is_cluster_member(server: "Server", cert: Any) -> bool:
    own = _member_attributes(own_cluster_name(server))
    return any(own) and _member_attributes(cert.subject) == own


def authenticate_x509(ctx: "Ctx", db: str, user: Any) -> dict[str, Any]:
    """The authenticate command with mechanism MONGODB-X509."""
    cert = getattr(ctx.conn, "x509_certificate", None)
    if cert is None:
        raise MongoError(18, "No verified subject name available from client")
    subject = cert.subject.rfc4514_string()
    if user and user != subject:
        raise MongoError(18, "There is no x.509 client certificate matching the user.")
    if db != EXTERNAL_DB:
        raise MongoError(17, "X.509 authentication must always use the $external database.")
    server = ctx.server
    if is_cluster_member(server, cert):
        if server.config.cluster_auth_mode in ("keyFile", "undefined"):
            raise MongoError(18, "The provided certificate can only be used for cluster authentication, not "
                                 "client authentication. The current configuration does not allow x.509 "
                                 "cluster authentication, check the --clusterAuthMode flag")
        authenticated = AuthenticatedUser(user="__system", db="local", roles=[{"role": "__system", "db": "admin"}])
    else:
        from mongoemu.commands.users import _user_doc
        doc = _user_doc(server, EXTERNAL_DB, subject)
        if doc is None:
            raise MongoError(11, f"Could not find user \"{subject}\" for db \"{EXTERNAL_DB}\"")
        authenticated = AuthenticatedUser(user=subject, db=EXTERNAL_DB, roles=list(doc.get("roles", [])))
        from mongoemu.commands.roles import resolve_user
        resolve_user(server, authenticated)  # user-defined roles, as for a SCRAM login
    ctx.conn.users = [u for u in ctx.conn.users if u.db != authenticated.db] + [authenticated]
    server.logger.info("ACCESS", 5286306, f"conn{ctx.conn.id}", "Successfully authenticated",
                       client=f"{ctx.conn.peer[0]}:{ctx.conn.peer[1]}", mechanism="MONGODB-X509",
                       user=subject, db=EXTERNAL_DB)
    return {"dbname": EXTERNAL_DB, "user": subject, "ok": 1.0}
