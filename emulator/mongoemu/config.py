"""mongod's command line and YAML configuration file, merged into one ServerConfig."""
from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from mongoemu import server_parameters
from mongoemu.options import OPTIONS, Option, find_yaml


class ConfigError(Exception):
    """Bad options: mongod prints the reason and exits with code 2 (EXIT_BADOPTIONS).

    Two of mongod's startup steps end this way: OptionsParser::run (options_parser_init.cpp
    StartupOptions: the parser's reason, unprefixed) and storeMongodOptions
    (mongod_options_init.cpp: ``Status::toString()``, so "BadValue: <reason>")."""

    exit_code = 2


class InitError(ConfigError):
    """The validation step of the startup options failed (mongod_options_init.cpp: the option
    constraints of Environment::validate, validateMongodOptions and canonicalizeMongodOptions
    under uassertStatusOK): runGlobalInitializers returns the status, mongod_main logs
    "Error during global initialization" (id 20574, fatal) and exits 1 (ExitCode::fail)."""

    exit_code = 1

    def __init__(self, errmsg: str, code: int = 2, code_name: str = "BadValue") -> None:
        super().__init__(errmsg)
        self.code = code
        self.code_name = code_name


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


def _yaml_options(node: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """addYAMLNodesToEnvironment and YAMLNodeToValue (options_parser.cpp): yaml-cpp hands every
    scalar over as text (so ``port: "27017"`` is a port and ``bindIpAll: yes`` is no switch);
    a nested map is walked unless its key is a map option (setParameter); a ``value`` field
    stands for its parent; each leaf is converted by its option's type. Returns
    {dotted key: typed value}."""
    flat: dict[str, Any] = {}
    for field_name, child in node.items():
        field_name = "" if field_name is None else str(field_name)
        if not prefix and not field_name:
            raise ConfigError("Found empty key in YAML config file")
        dotted = prefix[:-1] if prefix and field_name == "value" else prefix + field_name
        option = find_yaml(dotted)
        if isinstance(child, dict) and not (option is not None and option.kind == "map"):
            flat.update(_yaml_options(child, dotted + "."))
            continue
        if option is None:
            raise ConfigError(f"Unrecognized option: {dotted}")
        flat[dotted] = _yaml_value(option, dotted, child)
    return flat


def _yaml_value(option: Option, key: str, node: Any) -> Any:
    if option.kind == "strings":
        if not isinstance(node, list):
            raise ConfigError(f"Option: {key} is of type StringVector, but value in YAML config "
                              "is not a list type")
        if any(isinstance(item, list) for item in node):
            raise ConfigError(f"Option: {key} has nested lists, which is not allowed")
        return [item if isinstance(item, str) else "" for item in node]
    if option.kind == "map":
        if not isinstance(node, dict):
            raise ConfigError(f"Option: {key} is of type StringMap, but value in YAML config is "
                              "not a map type")
        if any(isinstance(v, (list, dict)) for v in node.values()):
            raise ConfigError(f"Option: {key} has a map with non scalar values, which is not "
                              "allowed")
        return {str(k): v for k, v in node.items()}
    # YAML::Node::Scalar() of a sequence or a null node is the empty string
    return _string_to_value(option.kind, node if isinstance(node, str) else "", key)


class _NumberError(Exception):
    """A NumberParser failure (base/parse_number.cpp); the text is its reason."""


def _parse_integer(text: str, bits: int) -> int:
    """NumberParser for an integer type with base 0: an optional sign, then strtol's base rules
    (0x... hexadecimal, 0... octal), the whole string consumed, the type's range."""
    rest = text
    negative = False
    if rest[:1] in ("-", "+"):
        negative, rest = rest[0] == "-", rest[1:]
    base = 10
    if len(rest) > 2 and rest[:2] in ("0x", "0X"):
        base, rest = 16, rest[2:]
    elif len(rest) > 1 and rest[0] == "0":
        base = 8
    if not rest:
        raise _NumberError("No digits")
    magnitude = 0
    consumed = 0
    for char in rest:
        digit = int(char, 36) if char.isascii() and char.isalnum() else 36
        if digit >= base:
            break
        magnitude = magnitude * base + digit
        if magnitude >= 1 << 64:
            raise _NumberError("Overflow")
        consumed += 1
    if consumed != len(rest):
        raise _NumberError("Did not consume whole string.")
    if consumed == 0:
        raise _NumberError("Did not consume any digits")
    if magnitude > (1 << (bits - 1)) - 1 + (1 if negative else 0):
        raise _NumberError("Overflow")
    return -magnitude if negative else magnitude


_STRTOD = re.compile(r"[ \t\n\r\f\v]*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)",
                     re.IGNORECASE)


def _parse_double(text: str) -> float:
    """NumberParser for a double: strtod over the whole string."""
    if not text:
        raise _NumberError("Empty string")
    if text[0].isspace():
        raise _NumberError("Leading whitespace")
    match = _STRTOD.match(text)
    if not match:
        raise _NumberError("Did not consume any digits")
    value = float(match.group(0))
    if value in (float("inf"), float("-inf")) and "inf" not in match.group(0).lower():
        raise _NumberError("Out of range")
    if match.end() != len(text):
        raise _NumberError("Did not consume whole string.")
    return value


def _string_to_value(kind: str, text: str, key: str) -> Any:
    """stringToValue (options_parser.cpp): the text of an option, from the command line (key:
    its command-line name) or the YAML file (key: its dotted name), as the option's type."""
    try:
        if kind in ("int", "long"):
            return _parse_integer(text, 32 if kind == "int" else 64)
        if kind == "double":
            return _parse_double(text)
    except _NumberError as exc:
        how = {"int": "int", "long": "long", "double": "double in"}[kind]
        raise ConfigError(f"Error parsing option \"{key}\" as {how}: {exc}") from None
    if kind == "switch":
        if text in ("true", "false"):
            return text == "true"
        raise ConfigError(f"Expected boolean switch but found string: {text} for option: {key}")
    if kind == "bool":
        if text in ("true", "false"):
            return text == "true"
        raise ConfigError(f"Expected boolean but found string: {text} for option: {key}")
    return text


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
    _check_multiple_occurrences(argv)
    parsed: dict[str, Any] = {}
    config_path = ns.config
    if config_path:
        try:
            with open(config_path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ConfigError(f"Error reading config file: {exc.strerror}") from exc
        try:
            loaded = yaml.load(text, Loader=yaml.BaseLoader)  # every scalar as text, as yaml-cpp
        except yaml.YAMLError as exc:
            raise ConfigError(f"Error parsing YAML config file: {exc}") from exc
        if loaded not in (None, ""):
            if not isinstance(loaded, dict):
                raise ConfigError("No map found at top level of YAML config")
            for key, value in _yaml_options(loaded).items():
                _set_dotted(parsed, key, value)
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
        cli("replication.oplogSizeMB", _int_opt("oplogSize", ns.oplogSize))
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
    cfg = ServerConfig(argv=list(argv), parsed=parsed, config_file=config_path,
                       shutdown=bool(ns.shutdown), version=bool(ns.version),
                       help=bool(ns.help))
    if cfg.help or cfg.version:  # handlePreValidationMongodOptions: before any validation
        return cfg
    _check_mongod_options(parsed, ns)

    g = lambda key, default=None: _get_dotted(parsed, key, default)  # noqa: E731
    cfg.port = g("net.port", 27017)
    bind = g("net.bindIp")
    if bind is not None:
        cfg.bind_ips = [h.strip() for h in str(bind).split(",") if h.strip()]
    # canonicalizeNetBindIpAll turns net.bindIpAll into net.bindIp "*", and storeServerOptions
    # binds "*" to every address (server_options_server_helpers.cpp)
    cfg.bind_ip_all = bool(g("net.bindIpAll", False)) or bind == "*"
    cfg.max_conns = g("net.maxIncomingConnections", 1_000_000)
    cfg.dbpath = str(g("storage.dbPath", "/data/db"))
    repl = g("replication.replSet") or g("replication.replSetName")
    cfg.repl_set = str(repl).split("/", 1)[0] if repl else None
    cfg.oplog_size_mb = g("replication.oplogSizeMB")
    cfg.oplog_min_retention_hours = float(g("storage.oplogMinRetentionHours", 0.0))
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
    cfg.auth = g("security.authorization") == "enabled"
    cluster_auth_mode = g("security.clusterAuthMode")
    if cluster_auth_mode is not None:
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
    cfg.set_parameters = dict(g("setParameter", {}) or {})
    return cfg


# Registered by hand in _build_argparser but stored here, like every table-generated option.
_STORED_GENERICALLY = ("wiredTigerCacheSizeGB", "storageEngine", "nounixsocket",
                       "unixSocketPrefix", "timeZoneInfo", "enableMajorityReadConcern",
                       "tlsDisabledProtocols")


def _option_value(option: Option, flag: str, raw: Any) -> Any:
    if option.kind in ("int", "long", "double", "bool"):
        return _string_to_value(option.kind, raw, flag)
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
                if value not in modes:  # canonicalizeMongodOptions: the validation step
                    raise InitError(f"Bad value for profile: {value}.  Supported modes are: "
                                    "(0=off|1=slowOp|2=all)")
                _set_dotted(parsed, "operationProfiling.mode", modes[value])
            elif cli_name == "noscripting":
                _set_dotted(parsed, "security.javascriptEnabled", False)
            elif option.yaml:
                _set_dotted(parsed, option.name, value)
            else:
                parsed[option.name] = value


def _check_mongod_options(parsed: dict[str, Any], ns: argparse.Namespace) -> None:
    """The checks of mongod_options_init.cpp that refuse a start, in mongod's order:
    handlePreValidationMongodOptions (exit 0 after a fatal log line), the validation step
    (InitError, exit 1: the option constraints, validateMongodOptions, canonicalizeMongodOptions),
    then storeMongodOptions (BadValue, exit 2)."""
    g = lambda key: _get_dotted(parsed, key)  # noqa: E731
    for legacy in ("master", "slave"):
        if legacy in parsed:
            raise PrematureExit("Master/slave replication is no longer supported")
    if g("replication.enableMajorityReadConcern") is False:
        raise PrematureExit("enableMajorityReadConcern:false is no longer supported")
    _check_conflicts(ns, parsed)
    _check_bounds(parsed)
    _check_set_parameters(g("setParameter") or {})
    # -- storeMongodOptions / storeServerOptions / storeBaseOptions (BadValue, exit 2) --
    # applySetParameterOptions: the names in std::map order, each refused when not settable at
    # startup or when setFromString cannot parse its value
    for name, value in sorted((g("setParameter") or {}).items()):
        if not server_parameters.settable_at_startup(name):
            raise ConfigError(f"BadValue: Cannot use --setParameter to set \"{name}\" at "
                              "startup")
        reason = _startup_parameter_error(name, str(value))
        if reason is not None:
            raise ConfigError(f"BadValue: Bad value for parameter \"{name}\": {reason}")
    max_conns = g("net.maxIncomingConnections")
    if max_conns is not None and max_conns < 5:
        raise ConfigError("BadValue: maxConns has to be at least 5")
    oplog = g("replication.oplogSizeMB")
    if oplog is not None and oplog <= 0:
        raise ConfigError(f"BadValue: bad --oplogSize, arg must be greater than 0,found: {oplog}")
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


def _check_conflicts(ns: argparse.Namespace, parsed: dict[str, Any]) -> None:
    """Options the IDL files declare ``conflicts`` for (server_options_nongeneral.idl noauth,
    mongod_options_sharding.idl configsvr/shardsvr, server_options_base.idl logpath/syslog,
    mongod_options_general.idl auth/noauth): MutuallyExclusiveKeyConstraint::check
    (constraints.cpp) says "<other> is not allowed when <key> is specified" (first registered
    key first) in the validation step."""
    given = {"configsvr": getattr(ns, "opt:configsvr", None),
             "shardsvr": getattr(ns, "opt:shardsvr", None),
             "auth": ns.auth, "noauth": ns.noauth,
             "security.keyFile": _get_dotted(parsed, "security.keyFile"),
             "security.transitionToAuth": _get_dotted(parsed, "security.transitionToAuth"),
             "clusterAuthMode": _get_dotted(parsed, "security.clusterAuthMode"),
             "logpath": ns.logpath, "syslog": ns.syslog,
             "objcheck": getattr(ns, "opt:objcheck", None),
             "noobjcheck": getattr(ns, "opt:noobjcheck", None)}
    for key, other in (("configsvr", "shardsvr"), ("auth", "noauth"),
                       ("security.keyFile", "noauth"), ("security.transitionToAuth", "noauth"),
                       ("clusterAuthMode", "noauth"), ("logpath", "syslog"),
                       ("objcheck", "noobjcheck")):
        if given[key] and given[other]:
            raise InitError(f"{other} is not allowed when {key} is specified")


# IDL ``validator: {gte, lte}`` of the options (BoundaryKeyConstraint, constraints.h: checked
# gt, lt, gte, lte in that order, "<dotted key> must be greater than or equal to <n>"):
# server_options_general.idl net.port; mongod_options_storage.idl syncPeriodSecs (at most
# StorageGlobalParams::kMaxSyncdelaySecs, 9e6), journal.commitIntervalMs (1 to
# kMaxJournalCommitIntervalMs, 500), oplogMinRetentionHours; wiredtiger_global_options.idl.
_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "net.port": (0, 65535),
    "storage.syncPeriodSecs": (0.0, 9.0 * 1000 * 1000),
    "storage.journal.commitIntervalMs": (1, 500),
    "storage.oplogMinRetentionHours": (0.0, None),
    "storage.wiredTiger.engineConfig.cacheSizeGB": (0.25, 10000),
    "storage.wiredTiger.engineConfig.statisticsLogDelaySecs": (0, 100000),
    "storage.wiredTiger.engineConfig.zstdCompressionLevel": (-7, 22),
}


def _check_bounds(parsed: dict[str, Any]) -> None:
    for key, (low, high) in _BOUNDS.items():
        value = _get_dotted(parsed, key)
        if value is None:
            continue
        if low is not None and not value >= low:
            raise InitError(f"{key} must be greater than or equal to {low:g}")
        if high is not None and not value <= high:
            raise InitError(f"{key} must be less than or equal to {high:g}")
    # validator callbacks (server_options_general / nongeneral .idl)
    destination = _get_dotted(parsed, "systemLog.destination")
    if destination is not None and destination.lower() not in ("syslog", "file"):
        raise InitError("systemLog.destination expects one of 'syslog' or 'file'")
    # mongod_options_general.h: validateSecurityAuthorizationSetting and
    # validateOperationProfilingModeSetting take any case; the store steps then compare exactly:
    # storeServerOptions turns authorization on only for "enabled" (a case variant leaves it as
    # if unset), storeMongodOptions refuses a profiling mode in another case (BadValue)
    authorization = _get_dotted(parsed, "security.authorization")
    if authorization is not None and authorization.lower() not in ("enabled", "disabled"):
        raise InitError("security.authorization expects either 'enabled' or 'disabled'")
    profiling = _get_dotted(parsed, "operationProfiling.mode")
    if profiling is not None and profiling.lower() not in ("off", "slowop", "all"):
        raise InitError("operationProfiling.mode expects 'off', 'slowOp', or 'all'")
    mode = _get_dotted(parsed, "security.clusterAuthMode")
    if mode is not None and mode not in ("keyFile", "sendKeyFile", "sendX509", "x509"):
        raise InitError("security.clusterAuthMode expects one of 'keyFile', 'sendKeyFile', "
                        "'sendX509', or 'X509'")


def _check_set_parameters(params: dict[str, Any]) -> None:
    """validateBaseOptions (server_options_helpers.cpp): every --setParameter name must be a
    registered server parameter; failpoints are registered only with enableTestCommands."""
    test_commands = str(params.get("enableTestCommands", "")) in ("1", "true")
    for name in params:
        if name.startswith("failpoint.") and test_commands:
            continue
        if not server_parameters.is_known(name):
            raise InitError(f"Unknown --setParameter '{name}'")


def _startup_parameter_error(name: str, text: str) -> str | None:
    """idl_server_parameter_detail::coerceFromString (server_parameter_with_storage.h) for the
    parameters whose type mongoemu knows: the reason it refuses ``text``, or None."""
    kind = server_parameters.TYPES.get(name)
    try:
        if kind == server_parameters.BOOL and text not in ("1", "0", "true", "false"):
            return "Value is not a valid boolean"
        if kind in (server_parameters.INT, server_parameters.LONG):
            _parse_integer(text, 32 if kind == server_parameters.INT else 64)
        elif kind == server_parameters.DOUBLE:
            _parse_double(text)
    except _NumberError as exc:
        return str(exc)
    return None


def _check_multiple_occurrences(argv: list[str]) -> None:
    """boost::program_options refuses a second value for an option that does not compose
    (OptionsParser::parseCommandLine: "Error parsing command line:  Multiple occurrences of
    option \"--<name>\"", two spaces); --setParameter composes, and so do the -v forms."""
    seen: set[str] = set()
    for arg in argv:
        if not arg.startswith("-") or arg in ("-", "--"):
            continue
        name = arg.lstrip("-").split("=", 1)[0]
        option = _CLI_OPTIONS.get(name)
        if option is None or option.kind in ("map", "strings") or name in ("v", "verbose") or \
                set(name) == {"v"}:
            continue
        canonical = option.cli[0]
        if canonical in seen:
            raise ConfigError("Error parsing command line:  Multiple occurrences of option "
                              f"\"--{canonical}\"")
        seen.add(canonical)


_CLI_OPTIONS: dict[str, Option] = {name: o for o in OPTIONS for name in o.cli}


class PrematureExit(ConfigError):
    """handlePreValidationMongodOptions returned false: mongod logs and exits 0."""

    exit_code = 0


def _int_opt(name: str, value: str | None) -> int | None:
    return None if value is None else _string_to_value("int", value, name)


def _number_opt(name: str, value: str) -> float:
    return _string_to_value("double", value, name)


def resolve_path(path: str | None) -> str | None:
    return os.path.abspath(path) if path else None
