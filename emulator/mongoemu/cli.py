"""The ``mongoemu`` command: mongod's command line, --fork, --shutdown, --version."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from typing import Any, Callable, Coroutine

from mongoemu import MONGOEMU_VERSION
from mongoemu.config import ConfigError, InitError, ServerConfig, parse_config

HELP = """Options:
  -f [ --config ] arg          configuration file specifying additional options
  --port arg                   specify port number - 27017 by default
  --bind_ip arg                comma separated list of ip addresses to listen on
  --bind_ip_all                bind to all ip addresses
  --dbpath arg                 directory for datafiles - defaults to /data/db
  --replSet arg                arg is <setname>[/<optionalseedhostlist>]
  --oplogSize arg              size to use (in MB) for replication op log
  --fork                       fork server process
  --pidfilepath arg            full path to pidfile
  --logpath arg                log file to send write to instead of stdout
  --logappend                  append to logpath instead of over-writing
  --keyFile arg                private key for cluster authentication
  --auth                       run with security
  --setParameter arg           set a configurable parameter
  --tlsMode arg                disabled|allowTLS|preferTLS|requireTLS
  --tlsCertificateKeyFile arg  certificate and key file for TLS
  --tlsCAFile arg              certificate authority file for TLS
  --shutdown                   kill a running server (for init scripts)
  --version                    show version information

mongoemu is a mongod 7.0 stand-in for tests; it accepts mongod's options.
"""


def _version_text() -> str:
    from mongoemu import release

    version = release.current().version
    build = {"version": version, "gitVersion": f"mongoemu-{MONGOEMU_VERSION}",
             "modules": [], "allocator": "system",
             "environment": {"distmod": "mongoemu", "distarch": "x86_64",
                             "target_arch": "x86_64"},
             "mongoemu": MONGOEMU_VERSION}
    return f"db version v{version}\nBuild Info: {json.dumps(build, indent=4)}\n"


def _shutdown_running(cfg: ServerConfig) -> int:
    from mongoemu.storage import read_lock_pid

    pid = read_lock_pid(cfg.dbpath)
    alive = False
    if pid:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
    if not alive:
        print(f"There doesn't seem to be a server running with dbpath: {cfg.dbpath}")
        return 1
    print(f"killing process with pid: {pid}")
    assert pid is not None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 0
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return 0
        except OSError:
            return 0
        time.sleep(0.05)
    print(f"failed to kill process: {pid}")
    return 1


def run_server(cfg: ServerConfig, ready: Callable[[], None] | None = None,
               fail: Callable[[int, str], None] | None = None) -> int:
    """Open, bind and serve until shutdown; returns the process exit code."""
    from mongoemu.log import Logger
    from mongoemu.server import Server, StartupError

    try:
        logger = Logger(cfg.logpath, append=cfg.logappend, quiet=cfg.quiet)
    except OSError as exc:
        message = f"Failed to open log file {cfg.logpath}: {exc.strerror}"
        if fail:
            fail(1, message)
        else:
            print(message, file=sys.stderr)
        return 1
    server = Server(cfg, logger)
    try:
        server.open()
        if cfg.pidfilepath:
            try:
                with open(cfg.pidfilepath, "w", encoding="ascii") as fh:
                    fh.write(f"{os.getpid()}\n")
            except OSError as exc:
                raise StartupError(f"Failed to write pid file {cfg.pidfilepath}: "
                                   f"{exc.strerror}", 1) from None
        server.bind()
    except StartupError as exc:
        if not exc.fatal:
            logger.log("F", "CONTROL", 20575, "initandlisten", "Error creating service context",
                       {"error": str(exc)})
            logger.info("CONTROL", 23138, "initandlisten", "Shutting down",
                        exitCode=exc.exit_code)
        if server.lock is not None:
            try:
                if server.storage is not None:
                    server.storage.close()
            finally:
                server.lock.release()
        if fail:
            fail(exc.exit_code, str(exc))
        else:
            print(str(exc), file=sys.stderr)
        logger.close()
        return exc.exit_code
    try:
        _run_loop(server.serve(ready))
    finally:
        logger.close()
    return 0


def _run_loop(main: "Coroutine[Any, Any, None]") -> None:
    """Run the server's event loop; uvloop when installed (much less per-request overhead)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    if hasattr(uvloop, "run"):
        uvloop.run(main)
    else:  # pragma: no cover - old uvloop
        uvloop.install()
        asyncio.run(main)


def _fork_and_run(cfg: ServerConfig) -> int:
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid > 0:
        os.close(write_fd)
        print("about to fork child process, waiting until server is ready for connections.")
        print(f"forked process: {pid}")
        sys.stdout.flush()
        chunks = []
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(read_fd)
        message = b"".join(chunks).decode("utf-8", "replace")
        if message.startswith("OK"):
            print("child process started successfully, parent exiting")
            return 0
        code = 1
        reason = "child process exited before it was ready for connections"
        if message.startswith("ERR "):
            head, _, reason = message[4:].partition(" ")
            try:
                code = int(head)
            except ValueError:
                code = 1
        try:  # the child exits right after its report: gone (files closed) when the parent returns
            _pid, status = os.waitpid(pid, 0)
            if not message.startswith("ERR "):
                code = os.waitstatus_to_exitcode(status) or 1
        except ChildProcessError:
            pass
        print(f"ERROR: child process failed, exited with error number {code}")
        print(reason)
        print("To see additional information in this output, start without the \"--fork\" "
              "option.")
        return code
    # The child: a daemon in its own session.
    os.close(read_fd)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    def ready() -> None:
        nonlocal write_fd
        if write_fd >= 0:
            os.write(write_fd, b"OK")
            os.close(write_fd)
            write_fd = -1

    def fail(code: int, reason: str) -> None:
        nonlocal write_fd
        if write_fd >= 0:
            os.write(write_fd, f"ERR {code} {reason}".encode())
            os.close(write_fd)
            write_fd = -1

    try:
        code = run_server(cfg, ready, fail)
    except BaseException as exc:  # pragma: no cover - last resort for the daemon
        fail(1, f"{type(exc).__name__}: {exc}")
        code = 1
    os._exit(code)


def _pre_validation_exit(cfg: ServerConfig) -> int | None:
    """Options after which mongod exits 0 without serving: --outputConfig
    (options_parser_init.cpp OutputConfig), --sysinfo (handlePreValidationMongodOptions) and
    --repair (mongod repairs every database and exits; mongoemu's sqlite store needs none)."""
    parsed = cfg.parsed
    if parsed.get("outputConfig"):
        import yaml

        shown = {k: v for k, v in parsed.items() if k != "outputConfig"}
        sys.stdout.write(yaml.safe_dump(shown, default_flow_style=False))
        return 0
    if parsed.get("sysinfo"):
        pages = {}
        for name in ("SC_PAGE_SIZE", "SC_PHYS_PAGES", "SC_AVPHYS_PAGES"):
            try:
                pages["_" + name] = os.sysconf(name)
            except (ValueError, OSError):
                continue
        print(json.dumps({"sysinfo": pages}, indent=2))
        return 0
    if parsed.get("repair"):
        return 0
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        cfg = parse_config(args)
    except InitError as exc:
        # mongod_main: runGlobalInitializers failed in the options' validation step
        from mongoemu.log import Logger

        Logger().log("F", "CONTROL", 20574, "thread1", "Error during global initialization",
                     {"error": {"code": exc.code, "codeName": exc.code_name,
                                "errmsg": str(exc)}})
        sys.stdout.flush()
        return exc.exit_code
    except ConfigError as exc:
        message = str(exc)
        # mongod_options_init.cpp / options_parser_init.cpp: every refused start (exit code 2)
        # ends with this line
        if exc.exit_code == 2 and not message.endswith("for more information"):
            message += "\ntry 'mongod --help' for more information"
        print(message, file=sys.stderr)
        return exc.exit_code
    if cfg.help:
        print(HELP)
        return 0
    if cfg.version:
        from mongoemu import release

        unsupported = release.check_environment()
        if unsupported:
            print(unsupported, file=sys.stderr)
            return 2
        sys.stdout.write(_version_text())
        return 0
    early = _pre_validation_exit(cfg)
    if early is not None:
        return early
    if cfg.shutdown:
        return _shutdown_running(cfg)
    if cfg.fork:
        return _fork_and_run(cfg)
    return run_server(cfg)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
