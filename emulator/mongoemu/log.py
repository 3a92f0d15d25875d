"""mongod 4.4+ structured logs: one JSON object per line (t, s, c, id, ctx, msg, attr)."""
from __future__ import annotations

import collections
import datetime as _dt
import json
import os
import sys
import threading
from typing import Any, TextIO

import bson.json_util

COMPONENTS = ("CONTROL", "NETWORK", "STORAGE", "ACCESS", "COMMAND", "REPL", "ELECTION",
              "INDEX", "QUERY", "WRITE", "SHARDING", "FTDC", "ASIO", "REPL_HB", "INITSYNC",
              "ROLLBACK", "-")

_JSON_OPTS = bson.json_util.JSONOptions(json_mode=bson.json_util.JSONMode.RELAXED)


def _timestamp(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"


def _to_jsonable(value: Any) -> Any:
    try:
        return json.loads(bson.json_util.dumps(value, json_options=_JSON_OPTS))
    except Exception:
        return str(value)


class Logger:
    """Writes mongod-style log lines to a file (or stdout) and keeps the recent ones
    in memory for the getLog command."""

    def __init__(self, path: str | None = None, append: bool = False,
                 keep: int = 1024, quiet: bool = False) -> None:
        self.path = path
        self.quiet = quiet
        self._lock = threading.Lock()
        self._recent: collections.deque[str] = collections.deque(maxlen=keep)
        self.startup_warnings: list[str] = []
        self.total_lines = 0
        self._stream: TextIO | None = None
        if path:
            mode = "a" if append else "w"
            if not append and os.path.exists(path) and os.path.getsize(path) > 0:
                # mongod renames the old log file aside when logAppend is false.
                stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
                try:
                    os.replace(path, f"{path}.{stamp}")
                except OSError:
                    pass
            self._stream = open(path, mode, encoding="utf-8", buffering=1)
        else:
            self._stream = sys.stdout

    def rotate(self) -> None:
        """SIGUSR1 / logRotate: rename the file aside with a timestamp and reopen it."""
        if not self.path:
            return
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
        with self._lock:
            if self._stream is not None and self._stream is not sys.stdout:
                self._stream.close()
            try:
                os.replace(self.path, f"{self.path}.{stamp}")
            except OSError:
                pass
            self._stream = open(self.path, "a", encoding="utf-8", buffering=1)
        self.info("CONTROL", 23166, "SignalHandler", "Log rotation initiated")

    def log(self, severity: str, component: str, log_id: int, ctx: str, msg: str,
            attr: dict[str, Any] | None = None, warning_at_startup: bool = False) -> None:
        record: dict[str, Any] = {"t": {"$date": _timestamp()}, "s": severity,
                                  "c": component, "id": log_id, "ctx": ctx,
                                  "msg": msg}
        if attr:
            record["attr"] = _to_jsonable(attr)
        if warning_at_startup:  # logv2's LogTag::kStartupWarnings: a top-level "tags" array
            record["tags"] = ["startupWarnings"]
        line = json.dumps(record, separators=(",", ":"))
        with self._lock:
            self.total_lines += 1
            self._recent.append(line)
            if warning_at_startup:
                self.startup_warnings.append(line)
            stream = self._stream
            if stream is not None:
                try:
                    stream.write(line + "\n")
                except (OSError, ValueError):
                    pass

    def info(self, component: str, log_id: int, ctx: str, msg: str, **attr: Any) -> None:
        self.log("I", component, log_id, ctx, msg, attr or None)

    def warning(self, component: str, log_id: int, ctx: str, msg: str, **attr: Any) -> None:
        self.log("W", component, log_id, ctx, msg, attr or None)

    def error(self, component: str, log_id: int, ctx: str, msg: str, **attr: Any) -> None:
        self.log("E", component, log_id, ctx, msg, attr or None)

    def recent(self) -> list[str]:
        with self._lock:
            return list(self._recent)

    def close(self) -> None:
        with self._lock:
            if self._stream is not None and self._stream is not sys.stdout:
                try:
                    self._stream.close()
                except OSError:
                    pass
            self._stream = None
