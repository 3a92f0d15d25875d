# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Members a reconfig is about to add must be ready to join (pure).

mongod itself does not check: replSetReconfig installs a config whose new members do not
answer (they are DOWN; a new data-bearing voter is newlyAdded and does not vote, so the set
keeps its majority) and the new config waits for them. So before any change, every member to
be added must answer hello, and be uninitialised (no setName; a mongod started with --replSet
but not initiated answers isreplicaset: true) or already carry the set's name (a member that
returns after a forced reconfig). A member of another set, or a mongod without --replSet,
would never join.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.quorum.mongodb.plugins.module_utils.replset_model import ReplSetConfig


def joining_hosts(current, desired):
    """The hosts of `desired` that `current` does not have, in the order of `desired`."""
    live = set(m.normalized_host for m in ReplSetConfig(current).members)
    return [m.normalized_host for m in ReplSetConfig(desired).members
            if m.normalized_host is not None and m.normalized_host not in live]


def joining_verdict(host, set_name, hello=None, error=None):
    """{"host", "ready", "found", "fix"} for one member to be added: what its hello showed (or
    that it did not answer) and, when it cannot join, what to do."""
    if hello is None:
        return {"host": host, "ready": False,
                "found": "does not answer hello (%s)" % (error or "no answer"),
                "fix": "start mongod there with replication.replSetName: %s (the quorum.mongodb.mongod role does), "
                       "or take the host out of the inventory" % set_name}
    name = hello.get("setName")
    if name is None and not hello.get("isreplicaset"):
        return {"host": host, "ready": False, "found": "answers, but was started without --replSet",
                "fix": "set replication.replSetName: %s in its mongod.conf and restart it" % set_name}
    if name is None:
        return {"host": host, "ready": True, "found": "answers hello, uninitialised (no replica set config yet)",
                "fix": None}
    if name != set_name:
        return {"host": host, "ready": False, "found": "belongs to replica set %r" % name,
                "fix": "it is another set's member: use another host, or remove it from set %r and empty its "
                       "dbPath before adding it to %r" % (name, set_name)}
    return {"host": host, "ready": True, "found": "answers hello as a member of %r (returning)" % name, "fix": None}


def joining_refusal(verdicts):
    """The refusal for the members that cannot join, or None when all can."""
    bad = [v for v in verdicts if not v["ready"]]
    if not bad:
        return None
    return ("refusing to reconfigure, nothing was changed: %d member(s) to be added cannot join:\n%s"
            % (len(bad), "\n".join("%s %s: %s" % (v["host"], v["found"], v["fix"]) for v in bad)))
