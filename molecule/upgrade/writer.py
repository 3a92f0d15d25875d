"""A w:"majority" writer, run during an upgrade (molecule/upgrade, bench/bench_upgrade.py): inserts
{_id: n} one after another into upgrade_check.writes until the stop file appears, and appends a line
per attempt to the log as soon as it is answered - {"id": n, "t": time} when acknowledged, {"failed": n,
"t": time, "error": name} when not. An _id is never tried twice, so every acknowledged _id must be in
the collection at the end; the gaps between acknowledgments are the time without a writable primary.

    python3 writer.py <mongodb URI> <log file> <stop file>
"""
import json
import os
import sys
import time

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError


def main(uri, log_path, stop_path, deadline_seconds=1800):
    client = MongoClient(uri, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, retryWrites=False)
    writes = client.get_database("upgrade_check").get_collection(
        "writes", write_concern=WriteConcern(w="majority", wtimeout=10000))
    number, ends = 0, time.monotonic() + deadline_seconds  # bounded, should the stop file never come
    with open(log_path, "a") as log:
        while not os.path.exists(stop_path) and time.monotonic() < ends:
            number += 1
            try:
                writes.insert_one({"_id": number})
                log.write(json.dumps({"id": number, "t": time.time()}) + "\n")
            except PyMongoError as exc:
                log.write(json.dumps({"failed": number, "t": time.time(), "error": type(exc).__name__}) + "\n")
                time.sleep(0.1)
            log.flush()
            time.sleep(0.02)
    client.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
