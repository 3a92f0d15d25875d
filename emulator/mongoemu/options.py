"""Every mongod 7.0/8.0 (Community, Linux) startup option, and what mongoemu does with it.

The table follows mongod's option definitions: src/mongo/db/server_options_general.idl,
server_options_base.idl, server_options_nongeneral.idl, mongod_options_general.idl,
mongod_options_storage.idl, mongod_options_replication.idl, mongod_options_sharding.idl,
mongod_options_legacy.idl, storage/wiredtiger/wiredtiger_global_options.idl,
util/net/ssl_options_server.idl, db/auth/sasl_options.idl and
transport/message_compressor_options_server.idl. An option that is in none of them
(Enterprise-only options such as ``auditLog.*`` or ``security.ldap.*``, Windows-only ones such
as ``processManagement.windowsService.*``, and the ones removed before 7.0 such as
``storage.journal.enabled`` or ``net.serviceExecutor``) is unknown to a Community mongod on
Linux: it fails with "Unrecognized option: <key>" (YAML) or "Error parsing command line:
unrecognised option '--<name>'" (command line), exit code 2 (ExitCode::badOptions), as
OptionsParser::run and options_parser_init.cpp (StartupOptions) print it.

``effect`` says what mongoemu does:
  honoured  - the option changes mongoemu's behaviour as it changes mongod's
  accepted  - parsed and shown by getCmdLineOpts, without effect (storage-engine tuning,
              profiling, compression and the like have no counterpart in mongoemu)
  refused   - mongod itself refuses it at startup; mongoemu fails with mongod's message
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    name: str                   # dotted YAML name; the CLI name for command-line-only options
    cli: tuple[str, ...] = ()   # command-line names (without the dashes); first is canonical
    kind: str = "string"        # switch | string | int | long | double | bool | strings | map
    yaml: bool = True           # settable in the YAML config file
    effect: str = "accepted"    # honoured | accepted | refused
    note: str = ""

    @property
    def cli_only(self) -> bool:
        return not self.yaml


def _c(name: str, kind: str = "switch", effect: str = "accepted", note: str = "",
       alias: tuple[str, ...] = ()) -> Option:
    """A command-line (and INI) only option."""
    return Option(name, (name, *alias), kind, False, effect, note)


def _y(name: str, cli: str | tuple[str, ...] = (), kind: str = "string",
       effect: str = "accepted", note: str = "") -> Option:
    """A YAML option, with its command-line names if it has any."""
    names = (cli,) if isinstance(cli, str) else cli
    return Option(name, names, kind, True, effect, note)


_TLS = "net.tls."
_WT = "storage.wiredTiger."

OPTIONS: tuple[Option, ...] = (
    # -- general (server_options_general.idl, server_options_base.idl) ----------------------
    _c("help", effect="honoured", alias=("h",), note="prints the options and exits 0"),
    _c("version", effect="honoured", note="prints the version and exits 0"),
    _c("config", "string", "honoured", alias=("f",), note="the YAML config file"),
    _c("outputConfig", effect="honoured", note="prints the resolved options as YAML, exits 0"),
    _c("configExpand", "string", note="__rest/__exec expansions are not evaluated"),
    _c("configExpandTimeoutSecs", "int"),
    _c("sysinfo", effect="honoured", note="prints page size and counts, exits 0"),
    _c("verbose", "string", alias=("v",), note="log verbosity (-v, -vv, ...)"),
    _y("systemLog.verbosity", kind="int"),
    _y("systemLog.component.", kind="int", note="every component's verbosity"),
    _y("systemLog.quiet", "quiet", "switch", "honoured"),
    _c("logpath", "string", "honoured", note="systemLog.destination: file"),
    _y("systemLog.path", kind="string", effect="honoured"),
    _y("systemLog.destination", effect="honoured", note="file or syslog (syslog: no log)"),
    _c("syslog", effect="honoured", note="systemLog.destination: syslog"),
    _c("logv2"),
    _y("systemLog.syslogFacility", "syslogFacility"),
    _y("systemLog.logFormat", "logFormat", note="always JSON lines"),
    _y("systemLog.logAppend", "logappend", "switch", "honoured"),
    _y("systemLog.logRotate", "logRotate"),
    _y("systemLog.timeStampFormat", "timeStampFormat"),
    _y("systemLog.traceAllExceptions", "traceExceptions", "switch"),
    _y("setParameter", "setParameter", "map", "honoured",
       "the parameters mongoemu knows act; other known ones are kept for getParameter; "
       "unknown names and runtime-only ones are refused as mongod refuses them"),
    _y("net.port", "port", "int", "honoured", "0-65535; --shardsvr 27018, --configsvr 27019"),
    _y("net.ipv6", "ipv6", "switch"),
    _y("net.listenBacklog", "listenBacklog", "int"),
    _y("net.maxIncomingConnections", "maxConns", "int", "honoured", "at least 5"),
    _y("net.maxIncomingConnectionsOverride", kind="strings"),
    _y("net.reservedAdminThreads", kind="int"),
    _y("processManagement.pidFilePath", "pidfilepath", effect="honoured"),
    _y("processManagement.timeZoneInfo", "timeZoneInfo"),
    _c("nounixsocket", note="mongoemu opens no unix socket"),
    _y("net.unixDomainSocket.enabled", kind="bool"),
    _y("net.unixDomainSocket.pathPrefix", "unixSocketPrefix"),
    _y("net.unixDomainSocket.filePermissions", "filePermissions", "int"),
    _y("processManagement.fork", "fork", "switch", "honoured"),
    _c("objcheck"),
    _c("noobjcheck"),
    _y("net.wireObjectCheck", kind="bool"),
    _y("net.compression.compressors", "networkMessageCompressors",
       note="mongoemu answers uncompressed"),
    # -- general, mongod and mongos (server_options_nongeneral.idl) ---------------------------
    _y("net.bindIp", "bind_ip", effect="honoured"),
    _y("net.bindIpAll", "bind_ip_all", "switch", "honoured"),
    _y("security.keyFile", "keyFile", effect="honoured"),
    _c("noauth", effect="honoured"),
    _y("security.transitionToAuth", "transitionToAuth", "switch"),
    _y("security.clusterAuthMode", "clusterAuthMode", effect="honoured",
       note="keyFile|sendKeyFile|sendX509|x509 (x509: members authenticate with MONGODB-X509)"),
    _y("operationProfiling.slowOpThresholdMs", "slowms", "int"),
    _y("operationProfiling.slowOpSampleRate", "slowOpSampleRate", "double"),
    _y("operationProfiling.filter"),
    # -- mongod general (mongod_options_general.idl) ------------------------------------------
    _c("auth", effect="honoured"),
    _y("security.clusterIpSourceAllowlist", ("clusterIpSourceAllowlist",
                                             "clusterIpSourceWhitelist"), "strings"),
    _y("security.clusterIpSourceWhitelist", kind="strings", note="deprecated name"),
    _y("security.authorization", effect="honoured",
       note="enabled|disabled; enabled in a replica set needs a keyFile or clusterAuthMode x509"),
    _y("security.authSchemaVersion", effect="refused",
       note="\"security.authSchemaVersion is currently not supported in config files\""),
    _y("security.enableLocalhostAuthBypass", effect="refused",
       note="\"security.enableLocalhostAuthBypass is currently not supported in config files\" "
            "(the setParameter works)"),
    _c("profile", "int", note="0|1|2, becomes operationProfiling.mode"),
    _y("operationProfiling.mode", note="off|slowOp|all"),
    _c("cpu"),
    _c("noscripting", note="becomes security.javascriptEnabled: false"),
    _y("security.javascriptEnabled", kind="bool"),
    _c("notablescan"),
    _c("shutdown", effect="honoured", note="stops the server of --dbpath"),
    _y("security.authenticationMechanisms", kind="strings"),
    _y("security.sasl.hostName"),
    _y("security.sasl.serviceName"),
    _y("security.sasl.saslauthdSocketPath"),
    # -- TLS (ssl_options_server.idl) ---------------------------------------------------------
    _c("tlsOnNormalPorts", alias=("sslOnNormalPorts",), effect="honoured",
       note="same as tlsMode requireTLS"),
    _y(_TLS + "mode", "tlsMode", effect="honoured"),
    _y("net.ssl.mode", "sslMode", effect="honoured"),
    _y(_TLS + "certificateKeyFile", ("tlsCertificateKeyFile", "sslPEMKeyFile"),
       effect="honoured"),
    _y(_TLS + "certificateKeyFilePassword", ("tlsCertificateKeyFilePassword",
                                              "sslPEMKeyPassword"), effect="honoured"),
    _y(_TLS + "clusterFile", ("tlsClusterFile", "sslClusterFile"), effect="honoured",
       note="the certificate a member presents to the others"),
    _y(_TLS + "clusterPassword", ("tlsClusterPassword", "sslClusterPassword"), effect="honoured"),
    _y(_TLS + "CAFile", ("tlsCAFile", "sslCAFile"), effect="honoured"),
    _y(_TLS + "clusterCAFile", ("tlsClusterCAFile", "sslClusterCAFile")),
    _y(_TLS + "CRLFile", ("tlsCRLFile", "sslCRLFile")),
    _y(_TLS + "tlsCipherConfig", ("tlsCipherConfig", "sslCipherConfig")),
    _y(_TLS + "disabledProtocols", ("tlsDisabledProtocols", "sslDisabledProtocols")),
    _y(_TLS + "allowConnectionsWithoutCertificates",
       ("tlsAllowConnectionsWithoutCertificates", "sslAllowConnectionsWithoutCertificates",
        "tlsWeakCertificateValidation", "sslWeakCertificateValidation"), "switch", "honoured"),
    _y(_TLS + "allowInvalidHostnames", ("tlsAllowInvalidHostnames",
                                         "sslAllowInvalidHostnames"), "switch"),
    _y(_TLS + "allowInvalidCertificates", ("tlsAllowInvalidCertificates",
                                            "sslAllowInvalidCertificates"), "switch",
       "honoured"),
    _y(_TLS + "FIPSMode", ("tlsFIPSMode", "sslFIPSMode"), "switch"),
    _y(_TLS + "logVersions", "tlsLogVersions"),
    _y(_TLS + "clusterAuthX509.attributes", "tlsClusterAuthX509Attributes"),
    _y(_TLS + "clusterAuthX509.extensionValue", "tlsClusterAuthX509ExtensionValue"),
    _y("net.ssl.PEMKeyFile", effect="honoured", note="deprecated name"),
    _y("net.ssl.PEMKeyPassword", effect="honoured", note="deprecated name"),
    _y("net.ssl.CAFile", effect="honoured", note="deprecated name"),
    _y("net.ssl.clusterFile", note="deprecated name"),
    _y("net.ssl.clusterPassword", note="deprecated name"),
    _y("net.ssl.clusterCAFile", note="deprecated name"),
    _y("net.ssl.CRLFile", note="deprecated name"),
    _y("net.ssl.sslCipherConfig", note="deprecated name"),
    _y("net.ssl.disabledProtocols", note="deprecated name"),
    _y("net.ssl.allowConnectionsWithoutCertificates", kind="switch", effect="honoured",
       note="deprecated name"),
    _y("net.ssl.weakCertificateValidation", kind="switch", note="deprecated name"),
    _y("net.tls.weakCertificateValidation", kind="switch", note="deprecated name"),
    _y("net.ssl.allowInvalidHostnames", kind="switch", note="deprecated name"),
    _y("net.ssl.allowInvalidCertificates", kind="switch", note="deprecated name"),
    _y("net.ssl.FIPSMode", kind="switch", note="deprecated name"),
    # -- storage (mongod_options_storage.idl) -------------------------------------------------
    _y("storage.engine", "storageEngine", note="data is kept in sqlite3 whatever the engine"),
    _y("storage.dbPath", "dbpath", effect="honoured"),
    _y("storage.directoryPerDB", "directoryperdb", "switch"),
    _y("storage.queryableBackupMode", "queryableBackupMode", "switch"),
    _y("storage.groupCollections", "groupCollections", "switch"),
    _y("storage.syncPeriodSecs", "syncdelay", "double", note="0-9e6"),
    _y("storage.journal.commitIntervalMs", "journalCommitInterval", "int",
       note="1-500; every write is durable at acknowledgement"),
    _c("upgrade"),
    _c("repair", effect="honoured", note="nothing to repair: exits 0 at once, as after a repair"),
    _c("restore"),
    _y("storage.oplogMinRetentionHours", "oplogMinRetentionHours", "double", "honoured", ">= 0"),
    # -- WiredTiger (wiredtiger_global_options.idl) -------------------------------------------
    _y(_WT + "engineConfig.cacheSizeGB", "wiredTigerCacheSizeGB", "double", note="0.25-10000"),
    _y(_WT + "engineConfig.statisticsLogDelaySecs", "wiredTigerStatisticsLogDelaySecs", "int",
       note="0-100000"),
    _y(_WT + "engineConfig.zstdCompressionLevel", "zstdDefaultCompressionLevel", "int",
       note="-7-22"),
    _y(_WT + "engineConfig.journalCompressor", "wiredTigerJournalCompressor"),
    _y(_WT + "engineConfig.directoryForIndexes", "wiredTigerDirectoryForIndexes", "switch"),
    _y(_WT + "engineConfig.maxCacheOverflowFileSizeGB", "wiredTigerMaxCacheOverflowFileSizeGB",
       "double"),
    _y(_WT + "engineConfig.configString", "wiredTigerEngineConfigString"),
    _y(_WT + "collectionConfig.blockCompressor", "wiredTigerCollectionBlockCompressor"),
    _y(_WT + "collectionConfig.configString", "wiredTigerCollectionConfigString"),
    _y(_WT + "indexConfig.prefixCompression", "wiredTigerIndexPrefixCompression", "bool"),
    _y(_WT + "indexConfig.configString", "wiredTigerIndexConfigString"),
    # -- replication (mongod_options_replication.idl) -----------------------------------------
    _y("replication.oplogSizeMB", "oplogSize", "int", "honoured", "greater than 0"),
    _c("master", effect="refused", note="\"Master/slave replication is no longer supported\""),
    _c("slave", effect="refused", note="\"Master/slave replication is no longer supported\""),
    Option("replication.replSet", ("replSet",), "string", False, "honoured",
           "<setname>[/<seed list>]; not a config file key"),
    _y("replication.replSetName", effect="honoured"),
    _y("replication.enableMajorityReadConcern", "enableMajorityReadConcern", "bool",
       note="false is refused: \"enableMajorityReadConcern:false is no longer supported\""),
    # -- sharding (mongod_options_sharding.idl) -----------------------------------------------
    _c("configsvr", effect="honoured",
       note="sharding.clusterRole: configsvr (needs --replSet; port 27019)"),
    _c("shardsvr", effect="honoured",
       note="sharding.clusterRole: shardsvr (needs --replSet; port 27018)"),
    _y("sharding.clusterRole", effect="honoured", note="configsvr|shardsvr"),
    _y("sharding._overrideShardIdentity"),
    _y("sharding.archiveMovedChunks", kind="bool"),
    _c("moveParanoia"),
    _c("noMoveParanoia"),
    # -- legacy (mongod_options_legacy.idl) ---------------------------------------------------
    _c("cacheSize", "long", "refused", "\"--cacheSize option not currently supported\""),
    _c("pairwith", effect="refused", note="deprecated and unusable"),
    _c("arbiter", effect="refused", note="deprecated and unusable"),
    _c("opIdMem", effect="refused", note="deprecated and unusable"),
    # -- free monitoring (7.0 still parses them; the service is gone) -------------------------
    _y("cloud.monitoring.free.state", "enableFreeMonitoring"),
    _y("cloud.monitoring.free.tags", "freeMonitoringTag", "strings"),
)


def yaml_names() -> frozenset[str]:
    return frozenset(o.name for o in OPTIONS if o.yaml)


def find_yaml(dotted: str) -> Option | None:
    for option in OPTIONS:
        if not option.yaml:
            continue
        if option.name == dotted:
            return option
        if option.name.endswith(".") and dotted.startswith(option.name):
            return option
        if option.kind == "map" and dotted.startswith(option.name + "."):
            return option
    return None


def markdown_table() -> str:
    """The option table of emulator/README.md (a test keeps the two the same)."""
    rows = ["| config file key | command line | mongoemu | note |", "|---|---|---|---|"]
    for o in OPTIONS:
        key = f"`{o.name}*`" if o.name.endswith(".") else (f"`{o.name}`" if o.yaml else "")
        cli = ", ".join(f"`{'-' if len(n) == 1 else '--'}{n}`" for n in o.cli)
        rows.append(f"| {key} | {cli} | {o.effect} | {o.note} |")
    return "\n".join(rows)
