"""The rolling upgrade planner (plugins/module_utils/upgrade.py): the path one release at a time,
secondaries then arbiters then the primary, the FCV raised after each release, resumption, and
every bad input refused with what to do (and no steps: nothing may be touched)."""
import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils.upgrade import (
    fcv_of,
    fcv_state,
    needs_confirm,
    version_tuple,
    plan_summary,
    plan_upgrade,
    render_upgrade_markdown,
    series_of,
)


def member(host, version, state="SECONDARY", arbiter=False):
    return {"host": host, "version": version, "state": "ARBITER" if arbiter else state, "arbiter": arbiter}


def psa_like(version="7.0.14", primary="a:27017"):
    """Two secondaries, an arbiter and the primary (listed first, as an inventory may)."""
    return [member("a:27017", version, "PRIMARY" if primary == "a:27017" else "SECONDARY"),
            member("b:27017", version, "PRIMARY" if primary == "b:27017" else "SECONDARY"),
            member("c:27017", version),
            member("d:27017", version, arbiter=True)]


def hosts_of(step):
    return [m["host"] for m in step["members"]]


def refused(plan, *words):
    assert plan["refusals"], plan
    assert plan["steps"] == [], "a refused plan has no steps: %s" % plan["steps"]
    text = " ".join(plan["refusals"])
    for word in words:
        assert word in text, (word, text)
    return text


def test_versions_parse():
    assert version_tuple("8.0.4") == (8, 0, 4)
    assert version_tuple("7.0") == (7, 0, None)
    assert version_tuple("7.0.14-rc0") == (7, 0, 14)
    assert version_tuple("latest") is None and version_tuple(None) is None and version_tuple("8") is None
    assert series_of("8.0.4") == "8.0" and series_of((6, 0, 1)) == "6.0"
    assert needs_confirm("7.0") and needs_confirm("8.0") and not needs_confirm("6.0")
    assert fcv_of({"featureCompatibilityVersion": {"version": "7.0"}, "ok": 1}) == {"version": "7.0"}
    assert fcv_of({"_id": "featureCompatibilityVersion", "version": "7.0", "targetVersion": "8.0"}) == \
        {"version": "7.0", "targetVersion": "8.0"}
    assert fcv_of("6.0") == {"version": "6.0"} and fcv_of(None) == {}


def test_one_release_secondaries_then_arbiter_then_primary_then_fcv():
    plan = plan_upgrade(psa_like(), {"version": "7.0"}, "8.0")
    assert plan["refusals"] == [] and plan["path"] == ["7.0", "8.0"]
    (step,) = plan["steps"]
    assert step["kind"] == "release" and step["series"] == "8.0" and step["version"] is None
    assert hosts_of(step) == ["b:27017", "c:27017", "d:27017", "a:27017"]
    assert [m["role"] for m in step["members"]] == ["secondary", "secondary", "arbiter", "primary"]
    assert [m["stepdown_first"] for m in step["members"]] == [False, False, False, True]
    assert step["fcv_after"] == "8.0"
    assert "FCV -> 8.0" in plan_summary(plan)


def test_exact_target_is_installed_exactly():
    step = plan_upgrade(psa_like(), "7.0", "8.0.4")["steps"][0]
    assert step["version"] == "8.0.4" and step["series"] == "8.0"


def test_rerun_after_the_upgrade_does_nothing():
    plan = plan_upgrade(psa_like("8.0.4"), {"version": "8.0"}, "8.0.4")
    assert plan["done"] and plan["steps"] == [] and plan["refusals"] == []
    assert "nothing to do" in plan_summary(plan) and "Nothing to do" in render_upgrade_markdown(plan)
    assert plan_upgrade(psa_like("8.0.4"), {"version": "8.0"}, "8.0")["done"]


def test_resume_skips_the_members_already_upgraded():
    members = psa_like()
    members[1]["version"] = "8.0.4"  # b was upgraded before the run stopped
    step = plan_upgrade(members, {"version": "7.0"}, "8.0.4")["steps"][0]
    assert hosts_of(step) == ["c:27017", "d:27017", "a:27017"] and step["fcv_after"] == "8.0"


def test_every_binary_upgraded_but_the_fcv_not_raised_yet():
    plan = plan_upgrade(psa_like("8.0.4"), {"version": "7.0"}, "8.0")
    assert [s["kind"] for s in plan["steps"]] == ["fcv"]
    assert plan["steps"][0]["fcv"] == "8.0" and plan["steps"][0]["confirm"] is True
    # an interrupted setFeatureCompatibilityVersion is finished the same way
    plan = plan_upgrade(psa_like("8.0.4"), {"version": "7.0", "targetVersion": "8.0"}, "8.0")
    assert [s["kind"] for s in plan["steps"]] == ["fcv"] and plan["steps"][0]["fcv"] == "8.0"


def test_an_arbiter_known_by_its_wire_version_only_counts_as_its_series():
    members = psa_like("8.0.4")
    members[3]["version"] = "8.0"
    assert plan_upgrade(members, "8.0", "8.0.4")["done"]


def test_patch_upgrade_has_no_fcv_step():
    (step,) = plan_upgrade(psa_like("7.0.14"), "7.0", "7.0.15")["steps"]
    assert step["series"] == "7.0" and step["version"] == "7.0.15" and step["fcv_after"] is None
    assert hosts_of(step)[-1] == "a:27017"


def test_two_releases_away_is_refused_naming_the_intermediate_release():
    text = refused(plan_upgrade(psa_like("6.0.19"), "6.0", "8.0"), "7.0", "6.0 -> 7.0 -> 8.0",
                   "upgrade_through_intermediate")
    assert 'mongod_version to "7.0"' in text


def test_two_releases_away_through_the_intermediate_release_when_asked():
    plan = plan_upgrade(psa_like("6.0.19"), "6.0", "8.0.4", through_intermediate=True)
    assert plan["path"] == ["6.0", "7.0", "8.0"]
    assert [(s["series"], s["version"], s["fcv_after"]) for s in plan["steps"]] == \
        [("7.0", None, "7.0"), ("8.0", "8.0.4", "8.0")]
    assert all(hosts_of(s)[-1] == "a:27017" for s in plan["steps"])
    markdown = render_upgrade_markdown(plan)
    assert markdown.count("setFeatureCompatibilityVersion 7.0") == 1 and "the newest 7.0" in markdown


def test_half_way_across_two_releases_resumes():
    members = psa_like("6.0.19")
    members[2]["version"] = "7.0.14"
    plan = plan_upgrade(members, "6.0", "8.0", through_intermediate=True)
    assert hosts_of(plan["steps"][0]) == ["b:27017", "d:27017", "a:27017"]
    assert hosts_of(plan["steps"][1]) == ["b:27017", "c:27017", "d:27017", "a:27017"]


def test_a_member_on_a_newer_release_is_refused():
    members = psa_like()
    members[2]["version"] = "8.0.5"
    refused(plan_upgrade(members, "7.0", "8.0.4"), "c:27017 (8.0.5)", "newer than the target 8.0.4", "8.0.5")


def test_fcv_left_behind_is_refused_saying_how_to_raise_it():
    text = refused(plan_upgrade(psa_like(), "6.0", "8.0"), "left behind", 'setFeatureCompatibilityVersion: "7.0"',
                   "confirm: true", "upgrade_raise_fcv=true")
    assert "8.0 binary would not start" in text


def test_fcv_left_behind_is_raised_first_when_asked():
    plan = plan_upgrade(psa_like(), "6.0", "8.0", raise_fcv_left_behind=True)
    assert [(s["kind"], s.get("fcv") or s.get("series")) for s in plan["steps"]] == [("fcv", "7.0"), ("release", "8.0")]
    assert plan["steps"][1]["fcv_after"] == "8.0"


def test_fcv_left_behind_on_the_target_release_is_the_end_of_that_upgrade():
    plan = plan_upgrade(psa_like(), "6.0", "7.0")
    assert [s["kind"] for s in plan["steps"]] == ["fcv"] and plan["steps"][0]["fcv"] == "7.0"


def test_downgrade_from_7_0_on_is_refused_with_the_documented_path():
    text = refused(plan_upgrade(psa_like("8.0.4"), "8.0", "7.0"), "does not support downgrading the binaries",
                   "Community Edition", "setFeatureCompatibilityVersion")
    assert "keep mongod_version at 8.0" in text
    refused(plan_upgrade(psa_like("7.0.14"), "7.0", "6.0"), "Downgrade 7.0 to 6.0")


def test_downgrade_before_7_0_needs_the_fcv_lowered_first():
    refused(plan_upgrade(psa_like("6.0.19"), "6.0", "5.0"), "lowered first", 'setFeatureCompatibilityVersion: "5.0"')
    plan = plan_upgrade(psa_like("6.0.19"), "5.0", "5.0")
    (step,) = plan["steps"]
    assert step["action"] == "downgrade" and step["series"] == "5.0" and hosts_of(step)[-1] == "a:27017"
    refused(plan_upgrade(psa_like("6.0.19"), "5.0", "4.4"), "previous release only")


def test_patch_downgrade_within_a_release_is_planned():
    (step,) = plan_upgrade(psa_like("7.0.15"), "7.0", "7.0.14")["steps"]
    assert step["action"] == "downgrade" and step["version"] == "7.0.14" and step["fcv_after"] is None


@pytest.mark.parametrize("target, words", [
    ("latest", ["not a MongoDB version"]),
    ("", ["not a MongoDB version"]),
    ("7.3", ["7.3 is not a release series", "4.4, 5.0, 6.0, 7.0, 8.0"]),
    ("9.0", ["9.0 is not a release series"]),
])
def test_bad_targets(target, words):
    refused(plan_upgrade(psa_like(), "7.0", target), *words)


def test_an_unhealthy_set_is_refused():
    members = psa_like()
    members[2]["state"] = "DOWN"
    refused(plan_upgrade(members, "7.0", "8.0"), "not healthy", "c:27017 is DOWN")
    members = psa_like()
    members[0]["state"] = "SECONDARY"
    refused(plan_upgrade(members, "7.0", "8.0"), "no primary")


def test_unreadable_versions_and_fcv_are_refused():
    members = psa_like()
    members[1]["version"] = None
    refused(plan_upgrade(members, "7.0", "8.0"), "b:27017", "cannot be read")
    refused(plan_upgrade(psa_like(), None, "8.0"), "feature compatibility version cannot be read", "getParameter")
    refused(plan_upgrade([], "7.0", "8.0"), "no members")


def test_members_more_than_one_release_apart_are_refused():
    members = psa_like("6.0.19")
    members[1]["version"] = "8.0.4"
    refused(plan_upgrade(members, "6.0", "8.0"), "more than one apart")


def test_an_fcv_newer_than_the_binaries_or_half_way_down_is_refused():
    refused(plan_upgrade(psa_like(), "8.0", "8.0"), "newer than the release")


# The shapes mongod reports (FeatureCompatibilityVersionParser::parse,
# src/mongo/db/commands/feature_compatibility_version_parser.cpp): downgrading 7.0 -> 6.0 from 5.0 on,
# downgrading 5.0 -> 4.4 as 4.4 wrote it (no previousVersion), upgrading 7.0 -> 8.0.
DOWNGRADING_TO_60 = {"version": "6.0", "targetVersion": "6.0", "previousVersion": "7.0"}


def test_fcv_state_in_mongods_shapes():
    assert fcv_state({"version": "7.0"}) == "stable"
    assert fcv_state({"version": "7.0", "targetVersion": "8.0"}) == "upgrading"
    assert fcv_state(DOWNGRADING_TO_60) == "downgrading"
    assert fcv_state({"version": "4.4", "targetVersion": "4.4"}) == "downgrading"


@pytest.mark.parametrize("target, options", [
    ("8.0", {}), ("8.0", {"raise_fcv_left_behind": True}), ("7.0", {}), ("7.0.15", {}), ("6.0", {})])
def test_a_downgrading_fcv_is_refused_never_reversed(target, options):
    """7.0 binaries on an FCV half-way down to 6.0: no plan raises it back (which would silently undo the
    operator's downgrade) nor goes on; the refusal says how to finish or go back."""
    plan = plan_upgrade(psa_like("7.0.14"), DOWNGRADING_TO_60, target, **options)
    text = refused(plan, "interrupted downgrade", "half-way down from 7.0 to 6.0",
                   'setFeatureCompatibilityVersion: "6.0", confirm: true', 'setFeatureCompatibilityVersion: "7.0"')
    assert not plan["steps"], text


def test_a_downgrading_fcv_in_44s_shape_is_refused():
    plan = plan_upgrade(psa_like("5.0.30"), {"version": "4.4", "targetVersion": "4.4"}, "6.0",
                        through_intermediate=True)
    refused(plan, "interrupted downgrade", "from 5.0 to 4.4")
    assert not plan["steps"]


def test_an_oplog_shorter_than_one_members_upgrade_is_refused():
    text = refused(plan_upgrade(psa_like(), "7.0", "8.0", oplog_keep_seconds=600, member_upgrade_seconds=1800),
                   "600 s", "1800 s", "oplog")
    assert "upgrade_member_seconds" in text
    assert plan_upgrade(psa_like(), "7.0", "8.0", oplog_keep_seconds=7200, member_upgrade_seconds=1800)["steps"]
    # nothing to do: no member goes away, the oplog does not matter
    assert plan_upgrade(psa_like("8.0.4"), "8.0", "8.0", oplog_keep_seconds=1, member_upgrade_seconds=1800)["done"]


def test_markdown_lists_every_member_step_in_order_and_refusals():
    markdown = render_upgrade_markdown(plan_upgrade(psa_like(), "7.0", "8.0.4"))
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[2] for row in rows] == ["b:27017", "c:27017", "d:27017", "a:27017", "(set)"]
    assert "step down to an upgraded member" in rows[3] and "confirm" in rows[4]
    assert "Refused before any member is touched" in render_upgrade_markdown(plan_upgrade(psa_like(), "7.0", "x"))


# The playbooks and roles that carry the plan out (read as YAML: no run needed to see the wiring).
def _tasks(relative):
    import pathlib
    import yaml
    root = pathlib.Path(__file__).resolve().parents[2]
    return yaml.safe_load((root / relative).read_text())


def _flat(tasks):
    for task in tasks:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _flat(task.get(key) or [])


def test_a_downgrade_step_lets_apt_and_dnf_install_a_lower_version():
    """The planner emits action: downgrade (a patch downgrade, a pre-7.0 release back); apt-get and dnf
    refuse a lower version without --allow-downgrades / allow_downgrade."""
    queued = [t for t in _flat(_tasks("playbooks/upgrade_release.yml")[0]["tasks"]) if "ansible.builtin.add_host" in t]
    assert "upgrade_step.action" in queued[0]["ansible.builtin.add_host"]["upgrade_action"]
    role = list(_flat(_tasks("roles/upgrade/tasks/main.yml")))
    install = next(t for t in role if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "install.yml")
    assert install["vars"]["mongod_allow_downgrade"] == "{{ upgrade_action == 'downgrade' }}"
    managers = [t for t in _flat(_tasks("roles/mongod/tasks/install.yml"))
                if "ansible.builtin.apt" in t or "ansible.builtin.dnf" in t]
    assert len(managers) == 2
    for task in managers:
        args = task.get("ansible.builtin.apt") or task.get("ansible.builtin.dnf")
        assert "mongod_allow_downgrade" in str(args.get("allow_downgrade")), task["name"]


def test_the_primary_steps_down_only_after_the_package_is_known_and_right_before_the_restart():
    names = [t["name"] for t in _flat(_tasks("roles/upgrade/tasks/main.yml"))]
    stepdown = next(i for i, n in enumerate(names) if n.startswith("Step it down"))
    for earlier in ("Add the release's apt repository", "Choose the version to install", "Require a package of the release"):
        assert names.index(earlier) < stepdown, earlier
    assert names[stepdown + 2] == "Restart the member on the new binary"  # after the healthy wait only


def test_fcv_waits_for_and_names_a_member_neither_primary_nor_secondary():
    from ansible_collections.quorum.mongodb.plugins.modules.fcv import not_ready
    members = psa_like("8.0.4")
    assert not_ready(members) == []  # the arbiter is not data-bearing
    members[1]["state"] = "RECOVERING"
    members.append(member("d:27017", "8.0.4", "STARTUP2"))
    assert [(m["host"], m["state"]) for m in not_ready(members)] == [("b:27017", "RECOVERING"), ("d:27017", "STARTUP2")]


MADISON = [
    "mongodb-org-server |    8.0.10 | https://repo.mongodb.org/apt/debian bookworm/mongodb-org/8.0/main amd64 Packages",
    "mongodb-org-server |     8.0.4 | https://repo.mongodb.org/apt/debian bookworm/mongodb-org/8.0/main amd64 Packages",
    "mongodb-org-server |     8.0.4 | http://10.78.2.1:8080 ./ Packages",
    "mongodb-org-server |    7.0.14 | https://repo.mongodb.org/apt/debian bookworm/mongodb-org/7.0/main amd64 Packages",
    "N: Unable to locate package mongodb-org-server",
]


def test_served_versions_and_the_newest_of_a_series_from_apt_cache_madison():
    """The roles and upgrade.yml read apt-cache madison through these filters (one parser)."""
    from ansible_collections.quorum.mongodb.plugins.filter.apt_versions import FilterModule

    filters = FilterModule().filters()
    served = filters["apt_served_versions"](MADISON)
    assert served == ["8.0.10", "8.0.4", "7.0.14"]  # each once, apt's order, the note left out
    newest = filters["newest_of_series"]
    assert newest(served, "8.0") == "8.0.10"  # numbers, not text: 10 > 4
    assert newest(served, "7.0") == "7.0.14"
    assert newest(served, "6.0") == ""
    assert newest(["8.0.3-1~deb12", "8.0.12", "80.0.1"], "8.0") == "8.0.12"
    assert newest(["8.0.0", "8.0.0~rc18"], "8.0") == "8.0.0"  # equal numbers: the list's (apt's) order
    assert filters["apt_served_versions"]([]) == [] and filters["apt_served_versions"](None) == []
