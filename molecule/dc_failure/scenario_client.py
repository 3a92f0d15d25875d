"""What an application (or an operator's shell) does to a scenario's set between two playbooks.

    scenario_client.py insert   --hosts a:p,b:p [--replica-set rs | --direct] --namespace db.coll
                                --prefix P --count N [--w 1|majority] [--pad BYTES] --out ids.json
    scenario_client.py rollover --hosts a:p,b:p,c:p --replica-set rs --namespace db.coll
                                --after-t T --after-i I [--pad BYTES] [--timeout S] --out rollover.json

insert writes N documents with _id "<prefix>-<n>" one at a time under the given write concern and
records the acknowledged _ids in --out; any failed write ends it with exit status 1 (the scenario
must not go on as if they had been written). rollover inserts padding documents until every
member's oldest oplog entry is newer than (T, I), i.e. until each oplog has rolled over past that
entry. Used by the dc_failure, oplog and backup_restore scenarios. The password comes from the
environment (SCENARIO_PASSWORD), never from the command line.
"""
import argparse
import json
import os
import sys
import time

from pymongo import MongoClient, WriteConcern
from pymongo.errors import PyMongoError


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["insert", "rollover"])
    parser.add_argument("--hosts", required=True, help="seed list host:port,host:port")
    parser.add_argument("--replica-set", default=None)
    parser.add_argument("--direct", action="store_true", help="talk to the one member in --hosts only")
    parser.add_argument("--user", default=None)
    parser.add_argument("--namespace", required=True, help="database.collection")
    parser.add_argument("--prefix", default="doc")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--w", default="majority", help='write concern: a number or "majority"')
    parser.add_argument("--pad", type=int, default=0, help="bytes of padding per document")
    parser.add_argument("--after-t", type=int, default=0)
    parser.add_argument("--after-i", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def connect(args, hosts=None, direct=False):
    return MongoClient(hosts or args.hosts.split(","), replicaSet=None if direct else args.replica_set,
                       directConnection=direct, username=args.user,
                       password=os.environ.get("SCENARIO_PASSWORD") if args.user else None,
                       serverSelectionTimeoutMS=10000)


def collection(client, args):
    database, name = args.namespace.split(".", 1)
    w = int(args.w) if args.w.isdigit() else args.w
    return client[database].get_collection(name, write_concern=WriteConcern(w=w, wtimeout=10000))


def insert(args):
    client = connect(args, direct=args.direct)
    acked = []
    try:
        target = collection(client, args)
        for n in range(args.count):
            doc_id = "%s-%d" % (args.prefix, n)
            target.insert_one({"_id": doc_id, "pad": "x" * args.pad})
            acked.append(doc_id)
    except PyMongoError as exc:
        print("write %d of %d failed: %r" % (len(acked) + 1, args.count, exc), file=sys.stderr)
        return 1
    finally:
        client.close()
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump({"acked": acked, "w": args.w, "namespace": args.namespace}, out)
    return 0


def oldest_entry(client):
    entry = client.local["oplog.rs"].find_one({}, sort=[("$natural", 1)])
    return (entry["ts"].time, entry["ts"].inc) if entry else (0, 0)


def rollover(args):
    addresses = args.hosts.split(",")
    client = connect(args)
    members = {address: connect(args, [address], direct=True) for address in addresses}
    after, batches, oldest = (args.after_t, args.after_i), 0, {}
    deadline = time.monotonic() + args.timeout
    try:
        target = collection(client, args)
        while True:
            oldest = {address: oldest_entry(member) for address, member in members.items()}
            if all(entry > after for entry in oldest.values()):
                break
            if time.monotonic() > deadline:
                print("after %.0f s the oplog of %s still holds %r: %r" % (
                    args.timeout, [a for a, e in oldest.items() if e <= after], after, oldest), file=sys.stderr)
                return 1
            target.insert_many([{"batch": batches, "n": n, "pad": "y" * args.pad} for n in range(8)])
            batches += 1
    except PyMongoError as exc:
        print("rollover failed after %d batches: %r" % (batches, exc), file=sys.stderr)
        return 1
    finally:
        client.close()
        for member in members.values():
            member.close()
        with open(args.out, "w", encoding="utf-8") as out:
            json.dump({"batches": batches, "after": list(after),
                       "oldest": {address: list(entry) for address, entry in oldest.items()}}, out)
    return 0


def main(argv=None):
    args = parse_args(argv)
    return insert(args) if args.action == "insert" else rollover(args)


if __name__ == "__main__":
    sys.exit(main())
