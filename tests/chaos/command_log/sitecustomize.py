"""Put on PYTHONPATH with QUORUM_CHAOS_COMMAND_LOG=<file>: every Python process of the run
(ansible-playbook and the modules it starts) appends one JSON line per command that a pymongo
client sends - name and address - to that file. The chaos drill arbiter_auth reads it to see
what the collection sent the arbiter (pymongo.monitoring; the connection handshake's hello is
not a monitored command, the arbiter's own log shows any login attempt)."""
import json
import os

_LOG = os.environ.get("QUORUM_CHAOS_COMMAND_LOG")

if _LOG:
    try:
        from pymongo import monitoring
    except ImportError:  # a Python without pymongo sends no MongoDB commands
        monitoring = None

    if monitoring is not None:
        class _CommandLog(monitoring.CommandListener):
            def started(self, event):
                host, port = event.connection_id[:2]
                with open(_LOG, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"command": event.command_name, "address": "%s:%s" % (host, port),
                                          "pid": os.getpid()}) + "\n")

            def succeeded(self, event):
                pass

            def failed(self, event):
                pass

        monitoring.register(_CommandLog())
