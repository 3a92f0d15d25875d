"""The startup warnings mongod 7.0 logs on Linux, tagged startupWarnings (what
``getLog: "startupWarnings"`` returns), from the same checks of the same system files:
src/mongo/db/startup_warnings_common.cpp (logCommonStartupWarnings) and
src/mongo/db/startup_warnings_mongod.cpp (logMongodStartupWarnings), plus the XFS notice of the
WiredTiger engine's start (id 22297)."""
from __future__ import annotations

import os
import resource
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mongoemu.config import ServerConfig
    from mongoemu.log import Logger

THP_DIR = "/sys/kernel/mm/transparent_hugepage"
MIN_OPEN_FILES = 64000
MIN_LOCKED_PAGES = 16


def _read_first(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.readline().strip()
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    text = _read_first(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _thp_mode(name: str) -> str | None:
    """StartupWarningsMongod::readTransparentHugePagesParameter: the bracketed word."""
    line = _read_first(f"{THP_DIR}/{name}")
    if not line or "[" not in line or "]" not in line:
        return None
    return line[line.index("[") + 1:line.index("]")]


def _filesystem_type(path: str) -> str | None:
    """The type of the mount holding ``path`` (longest mount point prefix in /proc/mounts)."""
    try:
        real = os.path.realpath(path)
        best, fstype = "", None
        with open("/proc/mounts", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and (real == parts[1] or
                                        real.startswith(parts[1].rstrip("/") + "/")):
                    if len(parts[1]) >= len(best):
                        best, fstype = parts[1], parts[2]
        return fstype
    except OSError:
        return None


def _given(cfg: "ServerConfig", dotted: str) -> bool:
    node: Any = cfg.parsed
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def log_startup_warnings(cfg: "ServerConfig", logger: "Logger") -> None:
    def warn(component: str, log_id: int, msg: str, severity: str = "W", **attr: Any) -> None:
        logger.log(severity, component, log_id, "initandlisten", msg, attr or None,
                   warning_at_startup=True)

    if _filesystem_type(cfg.dbpath) == "ext4":
        warn("STORAGE", 22297, "Using the XFS filesystem is strongly recommended with the "
             "WiredTiger storage engine. See http://dochub.mongodb.org/core/prodnotes-filesystem",
             severity="I")
    # ServerGlobalParams::AuthState::kUndefined (logCommonStartupWarnings): storeServerOptions
    # (server_options_server_helpers.cpp) sets the state for a keyFile and for
    # security.authorization "enabled" or "disabled" spelt exactly so; another spelling that the
    # validator lets through ("Enabled") leaves it undefined, and mongod warns
    from mongoemu.config import _get_dotted

    authorization = _get_dotted(cfg.parsed, "security.authorization")
    if not cfg.key_file and authorization not in ("enabled", "disabled") and \
            not _given(cfg, "security.clusterAuthMode"):
        warn("CONTROL", 22120, "Access control is not enabled for the database. Read and write "
             "access to data and configuration is unrestricted")
    if cfg.tls.allow_invalid_certificates:
        warn("CONTROL", 22124, "While invalid X509 certificates may be used to connect to this "
             "server, they will not be considered permissible for authentication")
    if os.getuid() == 0:
        warn("CONTROL", 22138, "You are running this process as the root user, which is not "
             "recommended")
    if not _given(cfg, "net.bindIp") and not cfg.bind_ip_all:
        warn("CONTROL", 22140, "This server is bound to localhost. Remote systems will be "
             "unable to connect to this server. Start the server with --bind_ip <address> to "
             "specify which IP addresses it should serve responses from, or with --bind_ip_all "
             "to bind to all interfaces. If this behavior is desired, start the server with "
             "--bind_ip 127.0.0.1 to disable this warning")
    if os.path.exists("/sys/devices/system/node/node1"):
        first = _read_first("/proc/self/numa_maps") or ""
        rest = first.split(" ", 1)[1] if " " in first else ""
        if rest and not rest.startswith("interleave"):
            warn("CONTROL", 22167, "You are running on a NUMA machine. We suggest launching "
                 "mongod like this to avoid performance problems: numactl --interleave=all "
                 "mongod [other options]")
    if _read_int("/proc/sys/vm/overcommit_memory") == 2:
        warn("CONTROL", 22171, "Journaling works best if /proc/sys/vm/overcommit_memory is set "
             "to 0 or 1", severity="I", currentValue=2)
    zone = _read_int("/proc/sys/vm/zone_reclaim_mode")
    if zone:
        warn("CONTROL", 22174, "We suggest setting /proc/sys/vm/zone_reclaim_mode to 0. See "
             "http://www.kernel.org/doc/Documentation/sysctl/vm.txt", severity="I",
             currentValue=zone)
    if _thp_mode("enabled") == "always":
        warn("CONTROL", 22178, f"{THP_DIR}/enabled is 'always'. We suggest setting it to "
             "'never' in this binary version")
        if _thp_mode("defrag") == "always":
            warn("CONTROL", 22181, f"{THP_DIR}/defrag is 'always'. We suggest setting it to "
                 "'never' in this binary version")
    soft_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    # maxOpenSessions: net.maxIncomingConnections, but at most 80 % of the open files limit
    # (the transport layer lowers it so at start)
    max_conns = cfg.max_conns if soft_files == resource.RLIM_INFINITY else \
        min(cfg.max_conns, int(soft_files * 0.8))
    max_map = _read_int("/proc/sys/vm/max_map_count")
    if max_map is not None and max_map < 2 * max_conns:
        warn("CONTROL", 5123300, "vm.max_map_count is too low", currentValue=max_map,
             recommendedMinimum=2 * max_conns, maxConns=max_conns)
    if soft_files != resource.RLIM_INFINITY and soft_files < MIN_OPEN_FILES:
        warn("CONTROL", 22184, "Soft rlimits for open file descriptors too low",
             currentValue=soft_files, recommendedMinimum=MIN_OPEN_FILES)
    page = os.sysconf("SC_PAGE_SIZE")
    locked = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    if locked != resource.RLIM_INFINITY and locked // page < MIN_LOCKED_PAGES:
        warn("CONTROL", 22188, "Soft rlimit for locked memory too low",
             lockedMemoryBytes=locked, minLockedMemoryBytes=MIN_LOCKED_PAGES * page)
