# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Users as data (pure): role lists normalised the way usersInfo reports them, and the
changes that take a user from what the server has to what is wanted."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class RoleError(ValueError):
    """A role entry that is neither a name nor {role, db}."""


def normalize_roles(roles, database):
    """Role names and {role, db} mappings -> a sorted list of {"role", "db"} (a bare name
    means a role of the user's own database)."""
    result = set()
    for entry in roles or []:
        if isinstance(entry, str) and entry:
            result.add((entry, database))
        elif isinstance(entry, dict) and isinstance(entry.get("role"), str) and entry.get("role"):
            result.add((entry["role"], str(entry.get("db") or database)))
        else:
            raise RoleError("a role is a name or a mapping with role (and db), got %r" % (entry,))
    return [{"role": role, "db": db} for role, db in sorted(result)]


def user_changes(existing, wanted_roles, state, password_matches, update_password, custom_data=None):
    """What to do: a list of (command name, reason). `existing` is the usersInfo entry or None;
    `password_matches` is whether the given password already authenticates (None: unknown);
    `custom_data` is the wanted customData document (None: leave it as it is)."""
    if state == "absent":
        return [("dropUser", "the user exists")] if existing else []
    if existing is None:
        return [("createUser", "the user does not exist")]
    changes = []
    have = normalize_roles(existing.get("roles"), existing.get("db"))
    if have != wanted_roles:
        changes.append(("updateUser.roles", "roles differ: %s -> %s" % (_show(have), _show(wanted_roles))))
    if custom_data is not None and existing.get("customData", {}) != custom_data:
        changes.append(("updateUser.customData", "custom data differs"))
    if update_password == "always" and password_matches is not True:
        changes.append(("updateUser.pwd", "update_password is always and the password differs"))
    return changes


PASSWORD_HIDDEN = "(not shown)"
PASSWORD_CHANGED = "(changed, not shown)"


def user_diff(existing, name, database, wanted_roles, state, changes, custom_data=None):
    """Ansible's diff of a user: before and after as role@db lists and customData - never a
    password, only whether this run sets it."""
    def view(user_name, db, roles, data):
        shown = {"user": user_name, "db": db, "roles": ["%s@%s" % (r["role"], r["db"]) for r in roles]}
        if data is not None:
            shown["customData"] = data
        return shown

    before = {}
    if existing is not None:
        before = view(existing.get("user", name), existing.get("db", database),
                      normalize_roles(existing.get("roles"), existing.get("db", database)), existing.get("customData"))
        before["password"] = PASSWORD_HIDDEN
    if state == "absent":
        after = {}
    elif not changes:
        after = dict(before)
    else:
        kept_data = existing.get("customData") if existing is not None else None
        after = view(name, database, wanted_roles, custom_data if custom_data is not None else kept_data)
        names = [change for change, _reason in changes]
        after["password"] = PASSWORD_CHANGED if ("createUser" in names or "updateUser.pwd" in names) else PASSWORD_HIDDEN
    return {"before": before, "after": after, "before_header": "user %s@%s" % (name, database),
            "after_header": "user %s@%s" % (name, database)}


def _show(roles):
    return ", ".join("%s@%s" % (r["role"], r["db"]) for r in roles) or "none"


def check_user_names(name, database):
    """Refuse what mongod would refuse about a user's name and database (an empty name; a
    database name that is empty, longer than 63 characters or holds one of / \\ . " $ * < > : | ?
    a space or a NUL); returns the reason, or None."""
    if not name:
        return "the user name must not be empty"
    if not database:
        return "the database must not be empty"
    if len(database) > 63:
        return "database name %r is longer than 63 characters" % database
    bad = [c for c in '/\\. "$*<>:|?\x00' if c in database]
    if bad:
        return "database name %r holds %r, which mongod does not allow" % (database, bad[0])
    return None
