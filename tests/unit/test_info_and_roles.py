"""The pure parts of the info and role modules: the feature compatibility version in every shape
mongod 4.4-8.0 answers getParameter with, the sections to gather, credentials never kept, and
roles normalised as mongod stores them (src/mongo/db/auth: privilege.cpp merges privileges per
resource, action_set.cpp keeps actions as a set and anyAction alone, role_graph_builtin_roles.cpp
RoleGraph::isBuiltinRole)."""
import datetime

import pytest
from bson import Int64, ObjectId, Timestamp

from ansible_collections.quorum.mongodb.plugins.module_utils.custom_roles import (
    RoleInputError, builtin_role_refused, normalize_privileges, normalize_restrictions, normalize_role_refs,
    role_changes, role_diff, stored_role)
from ansible_collections.quorum.mongodb.plugins.module_utils.server_info import (
    GatherError, fcv_section, json_safe, parameters_section, replication_section, select_sections, users_section)


@pytest.mark.parametrize("answer, version, target, state", [
    ({"version": "8.0"}, "8.0", None, "stable"),
    ("3.4", "3.4", None, "stable"),                                           # before 3.6: a string
    ({"version": "4.2", "targetVersion": "4.4"}, "4.2", "4.4", "upgrading"),   # 4.4 upgrading
    ({"version": "4.2", "targetVersion": "4.2"}, "4.2", "4.2", "downgrading"),  # 4.4 downgrading
    ({"version": "6.0", "targetVersion": "6.0", "previousVersion": "7.0"}, "6.0", "6.0", "downgrading"),  # 5.0 on
    ({"version": "7.0", "targetVersion": "8.0"}, "7.0", "8.0", "upgrading"),
])
def test_fcv_in_every_shape(answer, version, target, state):
    fcv = fcv_section({"featureCompatibilityVersion": answer, "ok": 1.0})
    assert (fcv["version"], fcv["target_version"], fcv["state"]) == (version, target, state)


def test_sections_include_exclude_and_refuse_unknown_names():
    assert select_sections(["all"]) == select_sections(None)
    assert select_sections(["!users", "!roles"]) == ["version", "fcv", "storage", "parameters", "databases",
                                                     "replication"]
    assert select_sections(["replication", "version"]) == ["version", "replication"]
    assert select_sections(["all", "!fcv"])[:2] == ["version", "storage"]
    with pytest.raises(GatherError, match="'bogus' is not a section"):
        select_sections(["bogus"])


def test_users_never_keep_credentials_and_answers_are_json_safe():
    users = users_section([{"_id": "admin.a", "userId": b"\x01\x02", "user": "a", "db": "admin", "roles": [],
                            "mechanisms": ["SCRAM-SHA-256"],
                            "credentials": {"SCRAM-SHA-256": {"storedKey": "k", "salt": "s"}}}])
    assert users == [{"user": "a", "db": "admin", "roles": [], "mechanisms": ["SCRAM-SHA-256"]}]
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    assert json_safe({"n": Int64(5), "t": Timestamp(7, 2), "o": ObjectId("0" * 24), "d": when}) == {
        "n": 5, "t": [7, 2], "o": "0" * 24, "d": "2026-01-02T03:04:05"}


def test_parameters_unknown_names_are_listed():
    assert parameters_section({"logLevel": 1, "ok": 1.0}, ["logLevel", "gone"]) == {
        "values": {"logLevel": 1}, "unknown": ["gone"]}
    assert parameters_section(None, ["gone"]) == {"values": {}, "unknown": ["gone"]}


def test_replication_of_a_standalone_and_of_an_arbiter():
    assert replication_section({"isWritablePrimary": True}) == {"enabled": False}
    arbiter = replication_section({"setName": "rs0", "hosts": ["a:1", "b:1"], "arbiters": ["c:1"], "me": "c:1",
                                   "setVersion": 3})
    assert arbiter["members"] == [{"host": "a:1"}, {"host": "b:1"}, {"host": "c:1"}] and arbiter["config_version"] == 3


def test_privileges_compare_as_mongod_stores_them():
    written = [{"resource": {"cluster": True}, "actions": ["serverStatus", "serverStatus"]},
               {"resource": {"collection": "", "db": "orders"}, "actions": ["listCollections"]},
               {"resource": {"db": "orders", "collection": ""}, "actions": ["find"]}]
    stored = [{"resource": {"db": "orders", "collection": ""}, "actions": ["find", "listCollections"]},
              {"resource": {"cluster": True}, "actions": ["serverStatus"]}]
    assert normalize_privileges(written) == normalize_privileges(stored)
    assert normalize_privileges([{"resource": {"anyResource": True}, "actions": ["find", "anyAction"]}]) == [
        {"resource": {"anyResource": True}, "actions": ["anyAction"]}]
    for bad in ([{"resource": "orders", "actions": ["find"]}], [{"resource": {"db": "x", "collection": ""}}],
                [{"resource": {"db": "x", "collection": ""}, "actions": ["find"], "extra": 1}]):
        with pytest.raises(RoleInputError):
            normalize_privileges(bad)


def test_role_refs_and_restrictions():
    assert normalize_role_refs(["read", {"role": "read", "db": "reporting"}, "read"], "orders") == [
        {"role": "read", "db": "orders"}, {"role": "read", "db": "reporting"}]
    assert normalize_restrictions(None) is None
    assert normalize_restrictions([{"serverAddress": "10.0.0.1", "clientSource": ["b", "a"]}]) == [
        {"clientSource": ["a", "b"], "serverAddress": ["10.0.0.1"]}]
    with pytest.raises(RoleInputError):
        normalize_role_refs([{"name": "read"}], "orders")


def test_builtin_names_as_mongod_sees_them():
    assert builtin_role_refused("readWrite", "orders")
    assert builtin_role_refused("root", "admin")
    assert builtin_role_refused("root", "orders") is None  # admin-only built-ins are free names elsewhere
    assert builtin_role_refused("ordersReader", "admin") is None


def test_role_changes_and_diff():
    info = {"role": "r", "db": "admin", "isBuiltin": False, "roles": [{"role": "read", "db": "x"}],
            "privileges": [{"resource": {"cluster": True}, "actions": ["serverStatus"]}],
            "authenticationRestrictions": []}
    existing = stored_role(info)
    wanted = dict(existing, authenticationRestrictions=None)
    assert role_changes(existing, wanted, "present") == []
    assert role_changes(None, wanted, "present")[0][0] == "createRole"
    assert role_changes(existing, wanted, "absent") == [("dropRole", [], "the role exists")]
    assert role_changes(None, wanted, "absent") == []
    more = dict(wanted, roles=normalize_role_refs(["read"], "admin"), authenticationRestrictions=[])
    assert role_changes(existing, more, "present") == [("updateRole", ["roles"], "roles differ")]
    diff = role_diff(existing, more, "present", role_changes(existing, more, "present"))
    assert diff["before"]["roles"] == ["read@x"] and diff["after"]["roles"] == ["read@admin"]
    assert role_diff(existing, wanted, "absent", [("dropRole", [], "")])["after"] == {}


def test_restrictions_as_rolesinfo_lifts_them_into_a_container():
    lifted = {"role": "r", "db": "admin", "privileges": [], "roles": [],
              "authenticationRestrictions": [[{"clientSource": ["10.0.0.0/8"]}]]}
    flat = dict(lifted, authenticationRestrictions=[{"clientSource": "10.0.0.0/8"}])
    assert stored_role(lifted)["authenticationRestrictions"] == [{"clientSource": ["10.0.0.0/8"]}]
    assert stored_role(flat) == stored_role(lifted)
    assert stored_role(dict(lifted, authenticationRestrictions=[]))["authenticationRestrictions"] == []
