"""User roles and the changes between what the server has and what is wanted (pure)."""
import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils.users import (
    RoleError, check_user_names, normalize_roles, user_changes, user_diff)


def test_roles_are_normalised_and_sorted():
    assert normalize_roles(["readWrite", {"role": "read", "db": "reports"}, "readWrite", {"role": "dbAdmin"}], "app") == [
        {"role": "dbAdmin", "db": "app"}, {"role": "read", "db": "reports"}, {"role": "readWrite", "db": "app"}]
    with pytest.raises(RoleError, match="a role is a name or a mapping"):
        normalize_roles([5], "app")


def test_changes_between_existing_and_wanted():
    existing = {"user": "u", "db": "app", "roles": [{"role": "readWrite", "db": "app"}]}
    wanted = normalize_roles(["readWrite"], "app")
    assert user_changes(None, wanted, "present", None, "on_create") == [("createUser", "the user does not exist")]
    assert user_changes(existing, wanted, "present", None, "on_create") == []
    assert user_changes(existing, wanted, "present", True, "always") == []
    assert [c[0] for c in user_changes(existing, wanted, "present", False, "always")] == ["updateUser.pwd"]
    more = normalize_roles(["readWrite", "dbAdmin"], "app")
    assert user_changes(existing, more, "present", None, "on_create") == [
        ("updateUser.roles", "roles differ: readWrite@app -> dbAdmin@app, readWrite@app")]
    assert user_changes(existing, wanted, "absent", None, "on_create") == [("dropUser", "the user exists")]
    assert user_changes(None, wanted, "absent", None, "on_create") == []


def test_user_and_database_names_mongod_refuses():
    assert check_user_names("app", "admin") is None
    assert "must not be empty" in check_user_names("", "admin")
    assert "must not be empty" in check_user_names("app", "")
    assert "'.'" in check_user_names("app", "a.b")
    assert "longer than 63" in check_user_names("app", "d" * 64)


def test_custom_data_is_compared_only_when_given():
    existing = {"user": "u", "db": "app", "roles": [], "customData": {"team": "orders"}}
    assert user_changes(existing, [], "present", None, "on_create") == []
    assert user_changes(existing, [], "present", None, "on_create", {"team": "orders"}) == []
    assert user_changes(existing, [], "present", None, "on_create", {"team": "billing"}) == [
        ("updateUser.customData", "custom data differs")]
    assert user_changes({"user": "u", "db": "app", "roles": []}, [], "present", None, "on_create", {}) == []


def test_the_diff_shows_roles_and_custom_data_and_never_the_password():
    existing = {"user": "u", "db": "app", "roles": [{"role": "read", "db": "app"}], "customData": {"team": "a"}}
    wanted = normalize_roles(["readWrite"], "app")
    changes = user_changes(existing, wanted, "present", False, "always", {"team": "b"})
    diff = user_diff(existing, "u", "app", wanted, "present", changes, {"team": "b"})
    assert diff["before"] == {"user": "u", "db": "app", "roles": ["read@app"], "customData": {"team": "a"},
                              "password": "(not shown)"}
    assert diff["after"] == {"user": "u", "db": "app", "roles": ["readWrite@app"], "customData": {"team": "b"},
                             "password": "(changed, not shown)"}
    created = user_diff(None, "u", "app", wanted, "present", [("createUser", "the user does not exist")])
    assert created["before"] == {} and created["after"]["password"] == "(changed, not shown)"
    dropped = user_diff(existing, "u", "app", wanted, "absent", [("dropUser", "the user exists")])
    assert dropped["before"]["roles"] == ["read@app"] and dropped["after"] == {}
    same = user_diff(existing, "u", "app", normalize_roles(["read"], "app"), "present", [])
    assert same["before"] == same["after"]
