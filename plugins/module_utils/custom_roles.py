# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""User-defined roles as data (pure): privileges, inherited roles and authentication
restrictions normalised the way mongod stores them, so that what the server holds and what is
wanted compare equal whatever the order they were written in; the changes (createRole,
updateRole, dropRole) that take one to the other, and Ansible's diff of them.

What mongod does that the normalisation follows (mongodb/mongo, src/mongo/db/auth):
- privileges with the same resource are merged into one (Privilege::addPrivilegeToPrivilegeVector,
  privilege.cpp), and a privilege's actions are a set (ActionSet, action_set.cpp) - duplicates
  collapse, their order is mongod's own, and a set holding anyAction is stored as ["anyAction"]
  alone (ActionSet::addAction / getActionsAsStringDatas);
- a role named without a database is a role of the role's own database (the "roles" array of
  createRole / updateRole);
- RoleGraph::isBuiltinRole (role_graph_builtin_roles.cpp): read, readWrite, dbAdmin, dbOwner,
  userAdmin and enableSharding are built in on every database, the others on admin only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

BUILTIN_ON_EVERY_DATABASE = frozenset(("read", "readWrite", "dbAdmin", "dbOwner", "userAdmin", "enableSharding"))
BUILTIN_ON_ADMIN = frozenset((
    "readAnyDatabase", "readWriteAnyDatabase", "userAdminAnyDatabase", "dbAdminAnyDatabase", "clusterMonitor",
    "hostManager", "clusterManager", "clusterAdmin", "backup", "restore", "root", "__system", "__queryableBackup",
    "directShardOperations", "searchCoordinator"))


class RoleInputError(ValueError):
    """A privilege, role reference or restriction whose shape is wrong (the content - which
    actions exist, which resources are valid - is left to mongod, whose rules vary by release)."""


def builtin_role_refused(name, database):
    """The reason mongod would give for refusing to create, change or drop `name` on
    `database` as a user-defined role (it is built in there), or None."""
    if name in BUILTIN_ON_EVERY_DATABASE or (database == "admin" and name in BUILTIN_ON_ADMIN):
        return ("%s@%s is a built-in role: it cannot be created, changed or dropped (mongod: \"Cannot create roles "
                "with the same name as a built-in role\"); choose another name" % (name, database))
    return None


def _canonical(value):
    return json.dumps(value, sort_keys=True, default=str)


def normalize_privileges(privileges):
    """A privileges list -> mongod's stored form: one entry per resource, actions a sorted set
    (["anyAction"] alone when it is there), entries sorted by resource."""
    merged = {}
    for entry in privileges or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise RoleInputError("a privilege is a mapping with a resource mapping and a list of actions, got %r"
                                 % (entry,))
        actions = entry.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, str) and a for a in actions):
            raise RoleInputError("the actions of a privilege are a non-empty list of action names, got %r"
                                 % (actions,))
        unknown = sorted(set(entry) - set(("resource", "actions")))
        if unknown:
            raise RoleInputError("a privilege holds resource and actions only, got %s" % ", ".join(unknown))
        key = _canonical(entry["resource"])
        resource, have = merged.get(key, (entry["resource"], set()))
        merged[key] = (resource, have | set(actions))
    result = []
    for key in sorted(merged):
        resource, actions = merged[key]
        result.append({"resource": dict(sorted(resource.items())),
                       "actions": ["anyAction"] if "anyAction" in actions else sorted(actions)})
    return result


def normalize_role_refs(roles, database):
    """Role names and {role, db} mappings -> sorted {role, db} (a bare name is a role of `database`)."""
    result = set()
    for entry in roles or []:
        if isinstance(entry, str) and entry:
            result.add((entry, database))
        elif isinstance(entry, dict) and isinstance(entry.get("role"), str) and entry.get("role") and \
                set(entry) <= set(("role", "db")):
            result.add((entry["role"], str(entry.get("db") or database)))
        else:
            raise RoleInputError("an inherited role is a name or a mapping with role (and db), got %r" % (entry,))
    return [{"role": role, "db": db} for role, db in sorted(result)]


def normalize_restrictions(restrictions):
    """authenticationRestrictions -> sorted documents with sorted clientSource / serverAddress
    lists (a single address may be given as a string, as mongod accepts); None stays None."""
    if restrictions is None:
        return None
    result = []
    for entry in restrictions:
        if not isinstance(entry, dict) or not entry or set(entry) - set(("clientSource", "serverAddress")):
            raise RoleInputError("an authentication restriction is a mapping with clientSource and/or serverAddress, "
                                 "got %r" % (entry,))
        doc = {}
        for key in sorted(entry):
            value = entry[key]
            doc[key] = sorted([value] if isinstance(value, str) else [str(v) for v in value or []])
        result.append(doc)
    return sorted(result, key=_canonical)


def stored_role(info):
    """A rolesInfo entry (showPrivileges, showAuthenticationRestrictions) -> the role as it is
    compared: role, db, privileges, roles, authenticationRestrictions (direct ones only).

    rolesInfo lifts a role's own restrictions into a container - [[{clientSource: ...}]], or []
    without any (filterAndMapRole in src/mongo/db/auth/authorization_backend_local.cpp; 4.4's
    AuthzManagerExternalStateLocal::getRoleDescription appends them the same way); a flat list
    of restriction documents is read too."""
    db = info.get("db")
    restrictions = []
    for entry in info.get("authenticationRestrictions") or []:
        restrictions.extend(entry if isinstance(entry, list) else [entry])
    return {"role": info.get("role"), "db": db,
            "privileges": normalize_privileges(info.get("privileges")),
            "roles": normalize_role_refs(info.get("roles"), db),
            "authenticationRestrictions": normalize_restrictions(restrictions)}


def role_changes(existing, wanted, state):
    """The commands that take `existing` (stored_role() or None) to `wanted` (a dict of role,
    db, privileges, roles and authenticationRestrictions - None: leave them as they are):
    a list of (command, fields to send, reason)."""
    if state == "absent":
        return [("dropRole", [], "the role exists")] if existing else []
    if existing is None:
        return [("createRole", [], "the role does not exist")]
    fields, reasons = [], []
    for field in ("privileges", "roles", "authenticationRestrictions"):
        if wanted[field] is not None and wanted[field] != existing[field]:
            fields.append(field)
            reasons.append("%s differ" % field)
    return [("updateRole", fields, ", ".join(reasons))] if fields else []


def role_diff(existing, wanted, state, changes):
    """Ansible's diff: the role before and after, inherited roles as role@db."""
    def view(role):
        shown = {"role": role["role"], "db": role["db"], "privileges": role["privileges"],
                 "roles": ["%s@%s" % (r["role"], r["db"]) for r in role["roles"]]}
        if role.get("authenticationRestrictions"):
            shown["authenticationRestrictions"] = role["authenticationRestrictions"]
        return shown

    before = view(existing) if existing else {}
    if state == "absent":
        after = {}
    elif not changes:
        after = dict(before)
    else:
        merged = dict(existing or {})
        merged.update((k, v) for k, v in wanted.items() if v is not None or k not in merged)
        merged["authenticationRestrictions"] = merged.get("authenticationRestrictions") or []
        after = view(merged)
    header = "role %s@%s" % (wanted["role"], wanted["db"])
    return {"before": before, "after": after, "before_header": header, "after_header": header}
