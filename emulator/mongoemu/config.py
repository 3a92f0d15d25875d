"""mongod's command line and YAML configuration file, merged into one ServerConfig."""
from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mongoemu.options import OPTIONS, Option, find_yaml


class ConfigError(Exception):
    """Bad options: mongod prints the reason and exits with code 2 (EXIT_BADOPTIONS)."""

    exit_code = 2


# Which YAML keys mongod knows: mongoemu.options (mongod's option IDL files).


@dataclass
class TlsConfig:
    mode: str = "disabled"
    certificate_key_file: str | None = None
    certificate_key_file_password: str | None = None
    ca_file: str | None = None
    cluster_file: str | None = None
    cluster_password: str | None = None
    allow_connections_without_certificates: bool = False
    allow_invalid_certificates: bool = False

    @property
    def enabled(self) -> bool:
        return self.mode != "disabled"


@dataclass
class ServerConfig:
    port: int = 27017
    bind_ips: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    bind_ip_all: bool = False
    dbpath: str = "/data/db"
    repl_set: str | None = None
    oplog_size_mb: float | None = None
    oplog_min_retention_hours: float = 0.0
    fork: bool = False
    pidfilepath: str | None = None
    logpath: str | None = None
    logappend: bool = False
    quiet: bool = False
    key_file: str | None = None
    auth: bool = False
    # security.clusterAuthMode: how members authenticate to each other (keyFile, sendKeyFile,
    # sendX509, x509); mongod's "undefined" is keyFile here (the keyFile decides whether auth is on)
    cluster_auth_mode: str = "keyFile"
    max_conns: int = 1_000_000
    tls: TlsConfig = field(default_factory=TlsConfig)
    set_parameters: dict[str, Any] = field(default_factory=dict)
    shutdown: bool = False
    version: bool = False
    help: bool = False
    config_file: str | None = None
    argv: list[str] = field(default_factory=list)
    parsed: dict[str, Any] = field(default_factory=dict)

    @property
    def auth_enabled(self) -> bool:
        return self.auth or self.key_file is not None or self.cluster_auth_mode in ("sendX509", "x509")

    @property
    def test_commands_enabled(self) -> bool:
        return _truthy(self.set_parameters.get("enableTestCommands", False))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _get_dotted(tree: dict[str, Any], dotted: str, default: Any = None) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and not dotted.startswith("setParameter"):
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def _check_known(flat_keys: list[str]) -> None:
    """A YAML key no mongod option defines fails as OptionsParser's YAMLNodeToValue fails it:
    "Unrecognized option: <dotted key>" (options_parser.cpp), exit code 2."""
    for key in flat_keys:
        if find_yaml(key) is None:
            raise ConfigError(f"Unrecognized option: {key}\n{_TRY_HELP}")


_TRY_HELP = "try 'mongod --help' for more information"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # boost::program_options' wording, as OptionsParser::parseCommandLine reports it
        # ("Error parsing command line: " + what()).
        missing = re.match(r"argument ([^:/ ]+)(?:/\S+)?: expected one argument", message)
        if missing:
            message = f"the required argument for option '{missing.group(1)}' is missing"
        raise ConfigError(f"Error parsing command line: {message}\n{_TRY_HELP}")


def _add_table_options(p: argparse.ArgumentParser) -> None:
    """Every command-line name of mongoemu.options not registered by hand above."""
    for option in OPTIONS:
        for cli_name in option.cli:
            flag = f"-{cli_name}" if len(cli_name) == 1 else f"--{cli_name}"
            if flag in p._option_string_actions:
                continue
            dest = f"opt:{cli_name}"
            if option.kind == "switch":
                p.add_argument(flag, dest=dest, action="store_true", default=None)
            elif option.kind in ("strings",):
                p.add_argument(flag, dest=dest, action="append", default=None)
            else:
                p.add_argument(flag, dest=dest)


def _unknown_argument(rest: list[str]) -> ConfigError:
    """boost's error for the first argument no option claims (mongod has no positionals)."""
    for arg in rest:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            return ConfigError(f"Error parsing command line: unrecognised option '{name}'\n"
                               f"{_TRY_HELP}")
    return ConfigError("Error parsing command line: too many positional options have been "
                       f"specified on the command line\n{_TRY_HELP}")


def _build_argparser() -> argparse.ArgumentParser:
    p = _Parser(prog="mongod", add_help=False, allow_abbrev=False)
    a = p.add_argument
    a("-h", "--help", action="store_true")
    a("--version", action="store_true")
    a("-f", "--config")
    a("--port", type=str)
    a("--bind_ip")
    a("--bind_ip_all", action="store_true", default=None)
    a("--ipv6", action="store_true", default=None)
    a("--maxConns", type=str)
    a("--dbpath")
    a("--directoryperdb", action="store_true", default=None)
    a("--wiredTigerCacheSizeGB")
    a("--storageEngine")
    a("--replSet")
    a("--oplogSize", type=str)
    a("--oplogMinRetentionHours", type=str)
    a("--fork", action="store_true", default=None)
    a("--pidfilepath")
    a("--logpath")
    a("--logappend", action="store_true", default=None)
    a("--syslog", action="store_true", default=None)
    a("--quiet", action="store_true", default=None)
    a("-v", "--verbose", action="count")
    a("--keyFile")
    a("--auth", action="store_true", default=None)
    a("--noauth", action="store_true", default=None)
    a("--clusterAuthMode")
    a("--setParameter", action="append", default=[])
    a("--tlsMode")
    a("--tlsCertificateKeyFile")
    a("--tlsCertificateKeyFilePassword")
    a("--tlsCAFile")
    a("--tlsAllowConnectionsWithoutCertificates", action="store_true", default=None)
    a("--tlsAllowInvalidCertificates", action="store_true", default=None)
    a("--tlsAllowInvalidHostnames", action="store_true", default=None)
    a("--tlsDisabledProtocols")
    a("--sslMode")
    a("--sslPEMKeyFile")
    a("--sslCAFile")
    a("--shutdown", action="store_true", default=None)
    a("--nounixsocket", action="store_true", default=None)
    a("--unixSocketPrefix")
    a("--timeZoneInfo")
    a("--enableMajorityReadConcern", nargs="?", const="true")
    _add_table_options(p)
    return p


_TLS_MODES = {"disabled", "allowTLS", "preferTLS", "requireTLS"}
_SSL_TO_TLS = {"disabled": "disabled", "allowSSL": "allowTLS", "preferSSL": "preferTLS",
               "requireSSL": "requireTLS"}


def parse_config(argv: list[str]) -> ServerConfig:
    """Parse mongod-style arguments (without the program name) and any config file."""
    ns, rest = _build_argparser().parse_known_args(argv)
    if rest:
        raise _unknown_argument(rest)
    _check_conflicts(ns)
    parsed: dict[str, Any] = {}
    config_path = ns.config
    if config_path:
        try:
            with open(config_path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ConfigError(f"Error reading config file: {exc.strerror}") from exc
        try:
            loaded = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"Error parsing YAML config file: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError("Error parsing YAML config file: the file is not a mapping")
        _check_known(list(_flatten(loaded)))
        parsed = loaded
        parsed["config"] = config_path

    def cli(dotted: str, value: Any) -> None:
        if value is not None:
            _set_dotted(parsed, dotted, value)

    cli("net.port", _int_opt("port", ns.port))
    cli("net.bindIp", ns.bind_ip)
    cli("net.bindIpAll", ns.bind_ip_all)
    cli("net.ipv6", ns.ipv6)
    cli("net.maxIncomingConnections", _int_opt("maxConns", ns.maxConns))
    cli("storage.dbPath", ns.dbpath)
    cli("storage.directoryPerDB", ns.directoryperdb)
    cli("replication.replSet", ns.replSet)
    if ns.oplogSize is not None:
        cli("replication.oplogSizeMB", _number_opt("oplogSize", ns.oplogSize))
    if ns.oplogMinRetentionHours is not None:
        cli("storage.oplogMinRetentionHours",
            _number_opt("oplogMinRetentionHours", ns.oplogMinRetentionHours))
    cli("processManagement.fork", ns.fork)
    cli("processManagement.pidFilePath", ns.pidfilepath)
    if ns.logpath is not None:
        cli("systemLog.destination", "file")
        cli("systemLog.path", ns.logpath)
    if ns.syslog:
        cli("systemLog.destination", "syslog")
    cli("systemLog.logAppend", ns.logappend)
    cli("systemLog.quiet", ns.quiet)
    cli("security.keyFile", ns.keyFile)
    if ns.auth:
        cli("security.authorization", "enabled")
    if ns.noauth:
        cli("security.authorization", "disabled")
    cli("security.clusterAuthMode", ns.clusterAuthMode)
    tls_mode = ns.tlsMode or (_SSL_TO_TLS.get(ns.sslMode, ns.sslMode) if ns.sslMode else None)
    cli("net.tls.mode", tls_mode)
    cli("net.tls.certificateKeyFile", ns.tlsCertificateKeyFile or ns.sslPEMKeyFile)
    cli("net.tls.certificateKeyFilePassword", ns.tlsCertificateKeyFilePassword)
    cli("net.tls.CAFile", ns.tlsCAFile or ns.sslCAFile)
    cli("net.tls.allowConnectionsWithoutCertificates", ns.tlsAllowConnectionsWithoutCertificates)
    cli("net.tls.allowInvalidCertificates", ns.tlsAllowInvalidCertificates)
    cli("net.tls.allowInvalidHostnames", ns.tlsAllowInvalidHostnames)
    for item in ns.setParameter:
        if "=" not in item:
            raise ConfigError(f"Illegal option assignment: \"{item}\"")
        key, value = item.split("=", 1)
        _set_dotted(parsed, "setParameter", {**parsed.get("setParameter", {}), key: value})
    if ns.shutdown:
        cli("processManagement.shutdown", True)

    _store_table_options(ns, parsed)
    _check_mongod_options(parsed)

    cfg = ServerConfig(argv=list(argv), parsed=parsed, config_file=config_path,
                       shutdown=bool(ns.shutdown), version=bool(ns.version),
                       help=bool(ns.help))
    g = lambda key, default=None: _get_dotted(parsed, key, default)  # noqa: E731
    port = g("net.port", 27017)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ConfigError(f"Error parsing option \"net.port\": bad value {port!r}")
    cfg.port = port
    bind = g("net.bindIp")
    if bind is not None:
        cfg.bind_ips = [h.strip() for h in str(bind).split(",") if h.strip()]
    cfg.bind_ip_all = bool(g("net.bindIpAll", False))
    if cfg.bind_ip_all and bind is not None:
        raise ConfigError("BadValue: Only one of net.bindIp and net.bindIpAll is allowed")
    cfg.max_conns = int(g("net.maxIncomingConnections", 1_000_000))
    cfg.dbpath = str(g("storage.dbPath", "/data/db"))
    repl = g("replication.replSet") or g("replication.replSetName")
    cfg.repl_set = str(repl).split("/", 1)[0] if repl else None
    oplog = g("replication.oplogSizeMB")
    if oplog is not None:
        if isinstance(oplog, bool) or not isinstance(oplog, (int, float)) or oplog <= 0:
            raise ConfigError("BadValue: bad --oplogSize, arg must be greater than 0")
        cfg.oplog_size_mb = oplog
    retention = g("storage.oplogMinRetentionHours")
    if retention is not None:
        if isinstance(retention, bool) or not isinstance(retention, (int, float)) or \
                retention < 0:
            raise ConfigError("BadValue: bad --oplogMinRetentionHours, argument must be greater "
                              "or equal to 0")
        cfg.oplog_min_retention_hours = float(retention)
    cfg.fork = bool(g("processManagement.fork", False))
    cfg.pidfilepath = g("processManagement.pidFilePath")
    destination = g("systemLog.destination")
    cfg.logpath = g("systemLog.path") if destination in ("file", None) else None
    if destination == "file" and not cfg.logpath:
        raise ConfigError("BadValue: systemLog.path is required if systemLog.destination is "
                          "to a file")
    cfg.logappend = bool(g("systemLog.logAppend", False))
    cfg.quiet = bool(g("systemLog.quiet", False))
    if cfg.fork and not cfg.logpath and destination != "syslog":
        raise ConfigError("BadValue: --fork has to be used with --logpath or --syslog")
    cfg.key_file = g("security.keyFile")
    authz = g("security.authorization")
    if authz not in (None, "enabled", "disabled"):
        raise ConfigError(f"Error parsing option \"security.authorization\": bad value {authz!r}")
    cfg.auth = authz == "enabled"
    cluster_auth_mode = g("security.clusterAuthMode")
    if cluster_auth_mode is not None:
        if cluster_auth_mode not in ("keyFile", "sendKeyFile", "sendX509", "x509"):
            raise ConfigError(f"Bad value for parameter \"clusterAuthMode\": Invalid clusterAuthMode "
                              f"\"{cluster_auth_mode}\"")
        cfg.cluster_auth_mode = cluster_auth_mode
    tls = TlsConfig()
    tls_mode = g("net.tls.mode") or _SSL_TO_TLS.get(g("net.ssl.mode", ""), None)
    if tls_mode is not None:
        if tls_mode not in _TLS_MODES:
            raise ConfigError(f"BadValue: unsupported value for tlsMode {tls_mode}")
        tls.mode = tls_mode
    tls.certificate_key_file = g("net.tls.certificateKeyFile") or g("net.ssl.PEMKeyFile")
    tls.certificate_key_file_password = g("net.tls.certificateKeyFilePassword")
    tls.ca_file = g("net.tls.CAFile") or g("net.ssl.CAFile")
    tls.cluster_file = g("net.tls.clusterFile") or g("net.ssl.clusterFile")
    tls.cluster_password = g("net.tls.clusterPassword") or g("net.ssl.clusterPassword")
    tls.allow_connections_without_certificates = bool(
        g("net.tls.allowConnectionsWithoutCertificates",
          g("net.ssl.allowConnectionsWithoutCertificates", False)))
    tls.allow_invalid_certificates = bool(g("net.tls.allowInvalidCertificates", False))
    if tls.enabled and not tls.certificate_key_file:
        raise ConfigError("BadValue: need tlsCertificateKeyFile or certificateSelector when TLS "
                          "is enabled")
    if cfg.cluster_auth_mode in ("sendX509", "x509") and not tls.enabled:
        raise ConfigError(f"BadValue: need to enable TLS via the tlsMode flag when using "
                          f"clusterAuthMode {cfg.cluster_auth_mode}")
    cfg.tls = tls
    params = g("setParameter", {}) or {}
    if not isinstance(params, dict):
        raise ConfigError("Error parsing YAML config file: setParameter must be a mapping")
    cfg.set_parameters = dict(params)
    return cfg


# Registered by hand in _build_argparser but stored here, like every table-generated option.
_STORED_GENERICALLY = ("wiredTigerCacheSizeGB", "storageEngine", "nounixsocket",
                       "unixSocketPrefix", "timeZoneInfo", "enableMajorityReadConcern",
                       "tlsDisabledProtocols")


def _option_value(option: Option, flag: str, raw: Any) -> Any:
    if option.kind == "int" or option.kind == "long":
        return _int_opt(flag, raw)
    if option.kind == "double":
        return _number_opt(flag, raw)
    if option.kind == "bool":
        if raw in ("true", "1"):
            return True
        if raw in ("false", "0"):
            return False
        raise ConfigError(f"Error parsing command line: the argument ('{raw}') for option "
                          f"'--{flag}' is invalid\n{_TRY_HELP}")
    return raw


def _store_table_options(ns: argparse.Namespace, parsed: dict[str, Any]) -> None:
    """Command-line values of mongoemu.options into the option tree, under their config file
    key (canonicalizeMongodOptions: --configsvr/--shardsvr become sharding.clusterRole,
    --profile operationProfiling.mode, --noscripting security.javascriptEnabled: false)."""
    for option in OPTIONS:
        for cli_name in option.cli:
            dest = cli_name if cli_name in _STORED_GENERICALLY else f"opt:{cli_name}"
            raw = getattr(ns, dest, None)
            if raw is None:
                continue
            value = _option_value(option, cli_name, raw)
            if cli_name in ("configsvr", "shardsvr"):
                _set_dotted(parsed, "sharding.clusterRole", cli_name)
            elif cli_name == "profile":
                modes = {0: "off", 1: "slowOp", 2: "all"}
                if value not in modes:
                    raise ConfigError(f"BadValue: Bad value for profile: {value}.  Supported "
                                      "modes are: (0=off|1=slowOp|2=all)")
                _set_dotted(parsed, "operationProfiling.mode", modes[value])
            elif cli_name == "noscripting":
                _set_dotted(parsed, "security.javascriptEnabled", False)
            elif option.yaml:
                _set_dotted(parsed, option.name, value)
            else:
                parsed[option.name] = value


def _check_mongod_options(parsed: dict[str, Any]) -> None:
    """The checks of mongod_options.cpp that refuse a start, in mongod's order: option
    conflicts (constraints.cpp MutuallyExclusiveKeyConstraint, from the IDL ``conflicts``),
    handlePreValidationMongodOptions (exit 0 after a fatal log line), then
    storeMongodOptions (BadValue, exit 2)."""
    g = lambda key: _get_dotted(parsed, key)  # noqa: E731
    for legacy in ("master", "slave"):
        if legacy in parsed:
            raise PrematureExit("Master/slave replication is no longer supported")
    if g("replication.enableMajorityReadConcern") is False:
        raise PrematureExit("enableMajorityReadConcern:false is no longer supported")
    for legacy in ("pairwith", "arbiter", "opIdMem"):
        if legacy in parsed:
            raise ConfigError("BadValue: ****\nReplica Pairs have been deprecated. Invalid "
                              "options: --pairwith, --arbiter, and/or --opIdMem\n"
                              "<http://dochub.mongodb.org/core/replicapairs>\n****")
    for key in ("security.authSchemaVersion", "security.enableLocalhostAuthBypass"):
        if g(key) is not None:
            raise ConfigError(f"BadValue: {key} is currently not supported in config files")
    mode = g("operationProfiling.mode")
    if mode is not None and mode not in ("off", "slowOp", "all"):
        raise ConfigError(f"BadValue: Bad value for operationProfiling.mode: {mode}.  "
                          "Supported modes are: (off|slowOp|all)")
    if "cacheSize" in parsed:
        raise ConfigError("BadValue: bad --cacheSize arg" if parsed["cacheSize"] <= 0
                          else "BadValue: --cacheSize option not currently supported")
    # storeMongodOptions: a replica set member with authorization needs a keyFile unless the
    # members authenticate with x.509 only (mongod 5.0+)
    if (g("replication.replSet") or g("replication.replSetName")) and \
            g("security.authorization") == "enabled" and not g("security.keyFile") and \
            g("security.clusterAuthMode") != "x509":
        raise ConfigError("BadValue: security.keyFile is required when authorization is enabled "
                          "with replica sets")
    role = g("sharding.clusterRole")
    if role is not None:
        if not (g("replication.replSet") or g("replication.replSetName")) and \
                (role == "configsvr" or not g("storage.queryableBackupMode")):
            raise ConfigError(f"BadValue: Cannot start a {role} as a standalone server. Please "
                              "use the option --replSet to start the node as a replica set.")
        if role not in ("configsvr", "shardsvr"):
            raise ConfigError(f"BadValue: Bad value for sharding.clusterRole: {role}. Supported "
                              "modes are: (configsvr|shardsvr)")
        # ServerGlobalParams: a config server listens on 27019 and keeps its data in
        # /data/configdb, a shard server on 27018, unless told otherwise.
        if g("net.port") is None:
            _set_dotted(parsed, "net.port", 27019 if role == "configsvr" else 27018)
        if role == "configsvr" and g("storage.dbPath") is None:
            _set_dotted(parsed, "storage.dbPath", "/data/configdb")


def _check_conflicts(ns: argparse.Namespace) -> None:
    """Command-line options the IDL files declare ``conflicts`` for; the parser's
    MutuallyExclusiveKeyConstraint (constraints.cpp) says "<other> is not allowed when <key>
    is specified" (first registered key first)."""
    given = {"configsvr": getattr(ns, "opt:configsvr", None),
             "shardsvr": getattr(ns, "opt:shardsvr", None),
             "auth": ns.auth, "noauth": ns.noauth, "security.keyFile": ns.keyFile,
             "logpath": ns.logpath, "syslog": ns.syslog}
    for key, other in (("configsvr", "shardsvr"), ("auth", "noauth"),
                       ("security.keyFile", "noauth"), ("logpath", "syslog")):
        if given[key] and given[other]:
            raise ConfigError(f"{other} is not allowed when {key} is specified\n{_TRY_HELP}")


class PrematureExit(ConfigError):
    """handlePreValidationMongodOptions returned false: mongod logs and exits 0."""

    exit_code = 0


def _int_opt(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"Error parsing option \"{name}\" as int: Bad digit \"{value}\" "
                          "while parsing") from None


def _number_opt(name: str, value: str) -> float | int:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"Error parsing option \"{name}\" as double") from None


def resolve_path(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None
