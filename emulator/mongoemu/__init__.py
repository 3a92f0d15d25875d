"""mongoemu: a mongod stand-in speaking the MongoDB wire protocol (7.0 by default; the release it
plays comes from MONGOEMU_VERSION, see :mod:`mongoemu.release`).

The package is split by responsibility:

* :mod:`mongoemu.cli` / :mod:`mongoemu.config` -- mongod's command line and YAML config
* :mod:`mongoemu.wire` -- message framing (OP_MSG, OP_QUERY, OP_REPLY)
* :mod:`mongoemu.server` -- sockets, TLS, connections, awaitable hello
* :mod:`mongoemu.dispatch` -- command registry, auth checks, error replies
* :mod:`mongoemu.storage` -- durable sqlite3 storage in the dbPath
* :mod:`mongoemu.query`, :mod:`mongoemu.update`, :mod:`mongoemu.aggregate` -- query language
* :mod:`mongoemu.auth` -- SCRAM, users, built-in roles
* :mod:`mongoemu.repl` -- replica set state (topology version, hello fields)
* :mod:`mongoemu.release` -- the release played and its feature compatibility version
* :mod:`mongoemu.log` -- mongod 4.4+ JSON-lines logs
"""

#: the release played when MONGOEMU_VERSION is unset (mongoemu.release.current() is the one in use)
MONGOD_VERSION = "7.0.14"
MONGOEMU_VERSION = "0.1.0"  # mongoemu's own version, not the environment variable's
MAX_WIRE_VERSION = 21  # of the default release

__all__ = ["MONGOD_VERSION", "MONGOEMU_VERSION", "MAX_WIRE_VERSION"]
