"""Background writer of the reconfig scenario: an application that keeps inserting documents with
w:"majority" while the set is reconfigured.

Each acknowledged insert is appended to --acked as "<_id> <unix time>" and flushed at once, so the
file lists exactly the writes the set promised to keep. Failed writes are counted, not retried
under another _id's name. SIGTERM (or --max-seconds) ends the loop; a summary goes to --summary.
The process writes its pid to --pidfile so that it is stopped by pid. The password comes from the
environment (WRITER_PASSWORD), not from the command line.
"""
import argparse
import json
import os
import signal
import sys
import time

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", required=True, help="seed list host:port,host:port")
    parser.add_argument("--replica-set", required=True)
    parser.add_argument("--user", default=None)
    parser.add_argument("--acked", required=True, help="file of acknowledged writes")
    parser.add_argument("--summary", required=True, help="JSON summary written at the end")
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--interval", type=float, default=0.01, help="pause between inserts (s)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    with open(args.pidfile, "w", encoding="ascii") as pidfile:
        pidfile.write("%d\n" % os.getpid())

    client = MongoClient(args.hosts.split(","), replicaSet=args.replica_set, username=args.user,
                         password=os.environ.get("WRITER_PASSWORD") if args.user else None,
                         serverSelectionTimeoutMS=20000)
    coll = client.molecule.get_collection("writer", write_concern=WriteConcern(w="majority", wtimeout=20000))
    acked, errors, next_id = 0, [], 0
    deadline = time.monotonic() + args.max_seconds
    try:
        with open(args.acked, "a", encoding="ascii") as out:
            while not stop and time.monotonic() < deadline:
                try:
                    coll.insert_one({"_id": next_id})
                except PyMongoError as exc:
                    errors.append("%d: %r" % (next_id, exc))
                else:
                    out.write("%d %.3f\n" % (next_id, time.time()))
                    out.flush()
                    acked += 1
                next_id += 1
                time.sleep(args.interval)
    finally:
        client.close()
        with open(args.summary, "w", encoding="utf-8") as summary:
            json.dump({"acked": acked, "attempted": next_id, "errors": len(errors),
                       "first_errors": errors[:5], "stopped_by_signal": bool(stop)}, summary)
        os.unlink(args.pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
