# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure checks of a member's security settings before mongod.conf is written (no I/O).

The mongod role runs them on the controller, where the key and the PEM material are variables
(from Vault): a member that would accept network connections without authorization, a keyFile
mongod would refuse, and TLS material that does not fit the member (a certificate that does not
name the host, a key that cannot be read or does not belong to the certificate, a CA that did not
sign it) are reported naming the file and the problem, before a member is restarted with a config
it cannot run. ``cryptography`` is imported only when TLS material is checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

TLS_MODES = ("disabled", "allowTLS", "preferTLS", "requireTLS")
CLUSTER_AUTH_MODES = ("keyFile", "sendKeyFile", "sendX509", "x509")
TLS_PROTOCOLS = ("TLS1_0", "TLS1_1", "TLS1_2", "TLS1_3", "none")
LOOPBACK_NAMES = ("localhost",)

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
# mongod's keyFile alphabet: base64 characters, whitespace ignored (src/mongo/db/auth/security_file.cpp,
# readSecurityFile); 6 to 1024 characters (src/mongo/db/auth/security_key.cpp, the key length check).
_KEYFILE_CHARS = re.compile(r"^[A-Za-z0-9+/=]*$")
KEYFILE_MIN, KEYFILE_MAX = 6, 1024


def bind_addresses(bind_ip):
    """mongod's net.bindIp as a list (a comma-separated string or a list)."""
    if isinstance(bind_ip, (list, tuple)):
        items = bind_ip
    else:
        items = str(bind_ip or "").split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def is_local_only(address):
    """True for an address only this host can reach: loopback (127.0.0.0/8, ::1), localhost, or
    a Unix domain socket path."""
    if address.startswith("/") or address.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name or an interface address: reachable from the network


def network_addresses(bind_ip, bind_ip_all=False):
    """The bindIp entries other hosts can connect to (all of them with bindIpAll)."""
    if bind_ip_all:
        return ["0.0.0.0 (bindIpAll)"]
    return [a for a in bind_addresses(bind_ip) if a in ("0.0.0.0", "::", "*") or not is_local_only(a)]


def exposure_problems(bind_ip, authorization, keyfile, cluster_auth_mode, replset_name, bind_ip_all=False):
    """Why a member would accept network connections without access control ([] when it would not)."""
    exposed = network_addresses(bind_ip, bind_ip_all)
    if not exposed:
        return []
    problems = []
    where = ", ".join(exposed)
    if not authorization:
        problems.append("authorization is off while mongod listens on %s: anyone who can reach it can read and "
                        "change every database" % where)
    if replset_name and not keyfile and cluster_auth_mode not in ("x509", "sendX509"):
        problems.append("replica set member without member authentication (no keyFile, clusterAuthMode %s) while "
                        "mongod listens on %s: set mongod_keyfile_content (from Vault) or "
                        "mongod_cluster_auth_mode: x509 with TLS" % (cluster_auth_mode or "keyFile", where))
    return problems


def keyfile_problems(content, path):
    """What mongod would refuse in a keyFile's content (it checks when it starts)."""
    if not content:
        return []
    key = re.sub(r"\s", "", content)
    if not _KEYFILE_CHARS.match(key):
        bad = sorted(set(c for c in key if not _KEYFILE_CHARS.match(c)))
        return ["keyFile %s: mongod accepts only base64 characters (A-Z, a-z, 0-9, +, /, =), the key holds %s"
                % (path, " ".join(repr(c) for c in bad))]
    if not KEYFILE_MIN <= len(key) <= KEYFILE_MAX:
        return ["keyFile %s: the key has %d characters, mongod needs %d to %d"
                % (path, len(key), KEYFILE_MIN, KEYFILE_MAX)]
    return []


def keyfile_mode_problem(path, mode):
    """mongod refuses a keyFile that group or others may access (readSecurityFile: "permissions on
    <file> are too open"); mode is the file's permission bits."""
    if mode is None or int(mode) & 0o077 == 0:
        return None
    return "keyFile %s: mode %04o, mongod refuses a keyFile that group or others can access (use 0400 or 0600)" % (
        path, int(mode) & 0o7777)


def pem_blocks(text, kind):
    """The PEM blocks of one kind ("CERTIFICATE", "PRIVATE KEY" matches every private key type)."""
    return [m.group(0) for m in _PEM_BLOCK.finditer(text or "") if m.group(1).endswith(kind)]


def _name(cert):
    return cert.subject.rfc4514_string() or "(empty subject)"


def _load_certs(text):
    from cryptography import x509
    certs = []
    for block in pem_blocks(text, "CERTIFICATE"):
        certs.append(x509.load_pem_x509_certificate(block.encode()))
    return certs


def _hostname_matches(pattern, host):
    """One DNS name of a certificate against a host name (a leading "*." covers one label)."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, dot, rest = host.partition(".")
        return bool(head and dot) and rest == pattern[2:]
    return pattern == host


def certificate_names(cert):
    """The DNS names and IP addresses a certificate is for (subjectAltName, else its CN)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)], []
    return san.get_values_for_type(x509.DNSName), [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def certificate_matches_host(cert, host):
    dns_names, ips = certificate_names(cert)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return any(_hostname_matches(name, host) for name in dns_names)
    return str(address) in ips or str(address) in dns_names


def _issued_by(cert, issuer):
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # signature, algorithm or issuer mismatch: all mean "not signed by it"
        return False
    return True


def _extended_key_usages(cert):
    from cryptography import x509
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def certificate_key_problems(label, path, pem, password, host, ca_certs, now, purposes):
    """Problems of one certificate+key PEM file (the member's or the cluster's)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID
    where = "%s (%s)" % (label, path)
    try:
        certs = _load_certs(pem)
    except ValueError as exc:
        return ["%s: the certificate cannot be read: %s" % (where, exc)]
    if not certs:
        return ["%s: no certificate (-----BEGIN CERTIFICATE-----) in the PEM" % where]
    cert, chain = certs[0], certs[1:]
    problems = []
    keys = pem_blocks(pem, "PRIVATE KEY")
    if not keys:
        problems.append("%s: no private key in the PEM (mongod needs the certificate and its key in one file)" % where)
    else:
        try:
            key = serialization.load_pem_private_key(keys[0].encode(), password.encode() if password else None)
        except TypeError:
            problems.append("%s: the private key is unreadable: %s" % (
                where, "it is encrypted and no passphrase is set" if not password
                else "a passphrase is set but the key is not encrypted"))
        except ValueError as exc:
            problems.append("%s: the private key is unreadable (%s)" % (
                where, "wrong passphrase or damaged key" if password else exc))
        else:
            spki = serialization.PublicFormat.SubjectPublicKeyInfo
            if key.public_key().public_bytes(serialization.Encoding.PEM, spki) != \
                    cert.public_key().public_bytes(serialization.Encoding.PEM, spki):
                problems.append("%s: the private key does not belong to the certificate %s" % (where, _name(cert)))
    if host and "server" in purposes and not certificate_matches_host(cert, host):
        dns_names, ips = certificate_names(cert)
        problems.append("%s: the certificate %s does not match the host %s (it names %s); clients and the other "
                        "members verify the member's name" % (where, _name(cert), host,
                                                              ", ".join(dns_names + ips) or "nothing"))
    if now is not None:
        if cert.not_valid_after_utc < now:
            problems.append("%s: the certificate %s expired on %s" % (where, _name(cert),
                                                                      cert.not_valid_after_utc.isoformat()))
        elif cert.not_valid_before_utc > now:
            problems.append("%s: the certificate %s is not valid before %s" % (where, _name(cert),
                                                                               cert.not_valid_before_utc.isoformat()))
    if ca_certs is not None:
        # Up the chain the PEM carries (intermediates after the certificate) to a CA of the CA file.
        link, unused = cert, list(chain)
        while not any(_issued_by(link, ca) for ca in ca_certs):
            parents = [c for c in unused if _issued_by(link, c)]
            if not parents:
                problems.append("%s: the certificate %s is not signed by the CA file's certificates (its issuer is "
                                "%s, the CA file holds %s)" % (where, _name(cert), link.issuer.rfc4514_string(),
                                                               "; ".join(_name(c) for c in ca_certs)))
                break
            link = parents[0]
            unused.remove(link)
    usages = _extended_key_usages(cert)
    if usages is not None:
        wanted = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
        for purpose in [p for p in purposes if p in wanted]:
            if wanted[purpose] not in usages:
                problems.append("%s: the certificate %s has extendedKeyUsage without %sAuth, which a member needs "
                                "to %s" % (where, _name(cert), purpose,
                                           "accept TLS connections" if purpose == "server"
                                           else "authenticate to the other members (x509)"))
    if "member" in purposes:
        from cryptography.x509.oid import NameOID
        wanted_attrs = (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME, NameOID.DOMAIN_COMPONENT)
        if not any(cert.subject.get_attributes_for_oid(oid) for oid in wanted_attrs):
            problems.append("%s: the certificate %s has no O, OU or DC in its subject; with clusterAuthMode x509 "
                            "mongod recognises the set's members by these attributes" % (where, _name(cert)))
    return problems


def tls_problems(settings, now=None):
    """Problems of a member's TLS settings. settings: dict with tls_mode, cluster_auth_mode, host,
    certificate_key (PEM text) and certificate_key_password, ca (PEM text), cluster_certificate_key
    and cluster_password (optional), disabled_protocols, and the paths they are written to:
    certificate_key_file, ca_file, cluster_file. now: a timezone-aware datetime (default: now)."""
    mode = settings.get("tls_mode") or "disabled"
    cluster_auth = settings.get("cluster_auth_mode") or "keyFile"
    problems = []
    if mode not in TLS_MODES:
        return ["mongod_tls_mode %r: mongod accepts %s" % (mode, ", ".join(TLS_MODES))]
    if cluster_auth not in CLUSTER_AUTH_MODES:
        return ["mongod_cluster_auth_mode %r: mongod accepts %s" % (cluster_auth, ", ".join(CLUSTER_AUTH_MODES))]
    if mode == "disabled":
        if cluster_auth != "keyFile":
            problems.append("clusterAuthMode %s needs TLS: set mongod_tls_mode (requireTLS) and the member's "
                            "certificate" % cluster_auth)
        return problems
    for protocol in [p.strip() for p in (settings.get("disabled_protocols") or "").split(",") if p.strip()]:
        if protocol not in TLS_PROTOCOLS:
            problems.append("mongod_tls_disabled_protocols: %r is not one of %s" % (protocol, ", ".join(TLS_PROTOCOLS)))
    if not settings.get("certificate_key"):
        problems.append("TLS mode %s needs the member's certificate and key: set mongod_tls_certificate_key_content "
                        "(from Vault)" % mode)
    if not settings.get("ca"):
        problems.append("TLS mode %s needs the CA certificate that signed the members' and clients' certificates: "
                        "set mongod_tls_ca_content" % mode)
    if problems:
        return problems
    now = now or datetime.datetime.now(datetime.timezone.utc)
    try:
        ca_certs = _load_certs(settings["ca"])
    except ValueError as exc:
        return ["CA file %s: the certificate cannot be read: %s" % (settings.get("ca_file"), exc)]
    if not ca_certs:
        return ["CA file %s: no certificate (-----BEGIN CERTIFICATE-----) in the PEM" % settings.get("ca_file")]
    x509_members = cluster_auth in ("x509", "sendX509")
    separate_cluster = bool(settings.get("cluster_certificate_key"))
    member_purposes = ["server"] + ([] if separate_cluster or not x509_members else ["client", "member"])
    problems += certificate_key_problems("mongod_tls_certificate_key_content", settings.get("certificate_key_file"),
                                         settings["certificate_key"], settings.get("certificate_key_password"),
                                         settings.get("host"), ca_certs, now, member_purposes)
    if separate_cluster:
        problems += certificate_key_problems("mongod_tls_cluster_certificate_key_content",
                                             settings.get("cluster_file"), settings["cluster_certificate_key"],
                                             settings.get("cluster_password"), None, ca_certs, now,
                                             ["client", "member"] if x509_members else ["client"])
    return problems
