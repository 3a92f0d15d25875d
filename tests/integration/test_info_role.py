"""quorum.mongodb.role and quorum.mongodb.info against an emulated primary-secondary-arbiter set
with authorization on (keyFile, an administrator): roles created, found unchanged when written in
another order (mongod merges privileges per resource and keeps actions as a set: privilege.cpp,
action_set.cpp), updated, refused (built-in names, mongod's own errors) and dropped, with check
and diff mode; info read through the seed list, from a secondary directly and from the arbiter.
No password and no SCRAM material may appear in the output."""
import json

import pytest
from pymongo import MongoClient

from mongoemu.cluster import MemberSpec

pytestmark = [pytest.mark.playbook, pytest.mark.emulator]

KEY = "infoRoleTestKey0123456789abcdefghijklmnopqrstuvwxyz"
ADMIN_PASSWORD, APP_PASSWORD = "Info-admin-s3cret", "0rders-app-s3cret"


def test_role_and_info_modules(replica_set, playbook, tmp_path):
    cluster = replica_set([MemberSpec(priority=2), MemberSpec(), MemberSpec(arbiter_only=True)], "rsinfo",
                          primary=0, key_file=KEY, auth=True, credentials=("admin", ADMIN_PASSWORD))
    primary, secondary, arbiter = cluster.members
    with MongoClient(primary.host, primary.port, directConnection=True, username="admin",
                     password=ADMIN_PASSWORD) as client:
        client.orders.invoices.insert_one({"n": 1})
        client.orders.command("createUser", "orders", pwd=APP_PASSWORD, roles=["readWrite"])
    out = tmp_path / "answers.json"
    extra = {"seeds": [primary.address, secondary.address], "set_name": "rsinfo", "secondary": secondary.address,
             "arbiter": arbiter.address, "login_password": ADMIN_PASSWORD, "out": str(out)}
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps(extra))
    result = playbook("tests/integration/files/info_role_cases.yml", "localhost,", "-e", "@%s" % variables,
                      "--diff", "-v")
    assert result.returncode == 0, result.stdout[-6000:]
    assert "failed=0" in result.stdout

    text = out.read_text()
    for secret in (ADMIN_PASSWORD, APP_PASSWORD):
        assert secret not in result.stdout and secret not in text
    for scram in ("credentials", "storedKey", "serverKey", "SCRAM-SHA-256\": {", "salt", "iterationCount"):
        assert scram not in text and scram not in result.stdout, scram
    answers = json.loads(text)
    orders = [u for u in answers["info_all"]["users"] if u["user"] == "orders"]
    assert orders == [{"user": "orders", "db": "orders", "roles": [{"role": "readWrite", "db": "orders"}],
                       "mechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"]}]
    assert answers["info_all"]["answered_by"] == primary.address
    assert "orders" in [d["name"] for d in answers["info_all"]["databases"]]
