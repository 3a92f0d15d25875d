"""Every rule of the validator: a config that breaks only that rule, with mongod's code and the path.

The expected codes are written out here from mongod's sources (shared/reference/
mongod_replset_rules.md), not read back from the validator's own table.
"""
import copy

import pytest

from ansible_collections.quorum.mongodb.plugins.module_utils.validation import RULES, WARNINGS, validate_config

BASE = {
    "_id": "rs0",
    "version": 2,
    "members": [
        {"_id": 0, "host": "db0.example.net:27017", "priority": 2, "tags": {"dc": "a", "rack": "r1"}},
        {"_id": 1, "host": "db1.example.net:27017", "tags": {"dc": "b", "rack": "r1"}},
        {"_id": 2, "host": "db2.example.net:27017", "tags": {"dc": "c", "rack": "r2"}},
    ],
    "settings": {"getLastErrorModes": {"multiDC": {"dc": 2}}},
}

ARBITER = {"_id": 3, "host": "arb.example.net:27017", "arbiterOnly": True}


def base(**top):
    doc = copy.deepcopy(BASE)
    doc.update(top)
    return doc


def with_member(index, **fields):
    doc = base()
    doc["members"][index].update(fields)
    return doc


def without_member_field(index, name):
    doc = base()
    del doc["members"][index][name]
    return doc


def with_arbiter(**fields):
    doc = base()
    doc["members"].append(dict(ARBITER, **fields))
    return doc


def with_members(count, **fields):
    doc = base()
    doc["members"] = [dict({"_id": i, "host": "db%d.example.net:27017" % i}, **fields) for i in range(count)]
    doc["settings"] = {}
    return doc


def fifty_one_members():
    doc = with_members(51)
    for member in doc["members"][7:]:
        member.update(votes=0, priority=0)
    return doc


def with_settings(**settings):
    doc = base()
    doc["settings"].update(settings)
    return doc


def with_horizons(make):
    doc = base()
    for i, member in enumerate(doc["members"]):
        horizons = make(i)
        if horizons is not None:
            member["horizons"] = horizons
    return doc


def configsvr(**member_fields):
    doc = base(configsvr=True)
    doc["members"][2].update(member_fields)
    return doc


def two_arbiters():
    doc = with_arbiter()
    doc["members"].append(dict(ARBITER, _id=4, host="arb2.example.net:27017"))
    return doc


def current_with(**changes):
    doc = base(version=1)
    doc.update(changes)
    return doc


def current_with_member(index, **fields):
    doc = current_with()
    doc["members"][index].update(fields)
    return doc


def current_with_five_voters():
    doc = current_with()
    doc["members"] += [{"_id": 3, "host": "db3.example.net:27017"}, {"_id": 4, "host": "db4.example.net:27017"}]
    return doc


def psa_current():
    return {"_id": "rs0", "version": 1, "members": [
        {"_id": 0, "host": "p.example.net:27017"},
        {"_id": 1, "host": "s.example.net:27017", "votes": 0, "priority": 0},
        dict(ARBITER, _id=2),
    ]}


def psa_desired():
    doc = psa_current()
    doc["version"] = 2
    doc["members"][1] = {"_id": 1, "host": "s.example.net:27017"}
    return doc


RSID = {"$oid": "65a1b2c3d4e5f60718293a4b"}
OTHER_RSID = {"$oid": "75a1b2c3d4e5f60718293a4b"}

# (rule, expected code, expected path, config, keyword arguments of validate_config)
CASES = [
    ("schema.type", "TypeMismatch", "/members/1/host", with_member(1, host=5), {}),
    ("schema.type", "TypeMismatch", "/members/0/tags/dc", with_member(0, tags={"dc": 1}), {}),
    ("schema.type", "TypeMismatch", "/settings/chainingAllowed", with_settings(chainingAllowed="yes"), {}),
    ("schema.integer", 4708900, "/version", base(version=2.5), {}),
    ("schema.integer", 4708900, "/settings/electionTimeoutMillis", with_settings(electionTimeoutMillis=100.5), {}),
    ("schema.required", 40414, "/members/1/host", without_member_field(1, "host"), {}),
    ("schema.required", 40414, "/version", {"_id": "rs0", "members": BASE["members"]}, {}),
    ("schema.unknown_field", 40415, "/members/0/priorty", with_member(0, priorty=1), {}),
    ("schema.unknown_field", 40415, "/protocolversion", base(protocolversion=1), {}),
    ("schema.range", 51024, "/members/1/votes", with_member(1, votes=2), {}),
    ("schema.range", 51024, "/members/1/priority", with_member(1, priority=1001), {}),
    ("schema.range", 51024, "/protocolVersion", base(protocolVersion=0), {}),
    ("schema.range", 51024, "/version", base(version=2 ** 31), {}),
    ("schema.range", 51024, "/settings/heartbeatIntervalMillis", with_settings(heartbeatIntervalMillis=0), {}),
    ("schema.range", 51024, "/settings/catchUpTimeoutMillis", with_settings(catchUpTimeoutMillis=-2), {}),
    ("schema.range", 51024, "/members/1/_id", with_member(1, _id=-1), {}),
    ("schema.count", "BadValue", "/members", fifty_one_members(), {}),
    ("schema.count", "BadValue", "/members", base(members=[], settings={}), {}),
    ("schema.empty", "BadValue", "/_id", base(_id=""), {}),
    ("schema.format", "TypeMismatch", "/settings/replicaSetId/$oid", with_settings(replicaSetId={"$oid": "xyz"}), {}),
    ("config.repaired", "RepairedReplicaSetNode", "/repaired", base(repaired=True), {}),
    ("member.id_range_4_4", "BadValue", "/members/2/_id", with_member(2, _id=300), {"target_version": "4.4"}),
    ("member.host", "FailedToParse", "/members/2/host", with_member(2, host="db2.example.net:99999"), {}),
    ("member.host", "FailedToParse", "/members/2/host", with_member(2, host="  "), {}),
    ("member.host", "FailedToParse", "/members/2/host", with_member(2, host="db2.example.net:port"), {}),
    ("member.duplicate_id", "BadValue", "/members/2/_id", with_member(2, _id=1), {}),
    ("member.duplicate_id", "BadValue", "/members/2/_id", with_member(2, _id=1.5), {}),
    ("member.duplicate_host", "BadValue", "/members/2/host", with_member(2, host="db1.example.net"), {}),
    ("member.newly_added", "InvalidReplicaSetConfig", "/members/1/newlyAdded", with_member(1, newlyAdded=True), {}),
    ("member.delay_field", 40415, "/members/2/slaveDelay", with_member(2, slaveDelay=0), {}),
    ("member.delay_field", 40415, "/members/2/secondaryDelaySecs", with_member(2, secondaryDelaySecs=0),
     {"target_version": "4.4"}),
    ("member.arbiter_votes", "BadValue", "/members/3/votes", with_arbiter(votes=0), {}),
    ("member.arbiter_tags", "BadValue", "/members/3/tags", with_arbiter(tags={"dc": "c"}), {}),
    ("member.arbiter_priority", "InvalidReplicaSetConfig", "/members/3/priority", with_arbiter(priority=2), {}),
    ("member.priority_non_voter", "BadValue", "/members/1/priority", with_member(1, votes=0), {}),
    ("member.priority_delayed", "BadValue", "/members/2/priority", with_member(2, secondaryDelaySecs=3600), {}),
    ("member.priority_hidden", "BadValue", "/members/2/priority", with_member(2, hidden=True), {}),
    ("member.priority_build_indexes", "BadValue", "/members/2/priority", with_member(2, buildIndexes=False), {}),
    ("member.horizons", "BadValue", "/members/0/horizons/__default",
     with_horizons(lambda i: {"__default": "h%d.example.com:1" % i}), {}),
    ("member.horizons", "BadValue", "/members/0/horizons/ext",
     with_horizons(lambda i: {"ext": "db%d.example.net:28000" % i}), {}),
    ("member.horizon_ip", "UnsupportedFormat", "/members/1/horizons/ext",
     with_horizons(lambda i: {"ext": "10.0.0.%d:27017" % i}), {}),
    ("members.horizon_names", "BadValue", "/members/1/horizons",
     with_horizons(lambda i: {"ext": "e0.example.com:1"} if i == 0 else None), {}),
    ("members.horizon_names", "BadValue", "/members/1/horizons",
     with_horizons(lambda i: {"ext": "db1.example.net" if i == 0 else "e%d.example.com:1" % i}), {}),
    ("members.localhost_mix", "BadValue", "/members/2/host", with_member(2, host="localhost:27017"), {}),
    ("members.localhost_mix", "BadValue", "/members/2/host", with_member(2, host="127.0.0.12:27017"), {}),
    ("members.voters", "BadValue", "/members", with_members(8), {}),
    ("members.electable", "BadValue", "/members", with_members(3, priority=0), {}),
    ("members.multiple_arbiters", "BadValue", "/members", two_arbiters(), {"target_version": "6.0"}),
    ("configsvr.arbiters", "BadValue", "/members/3/arbiterOnly", dict(with_arbiter(), configsvr=True), {}),
    ("configsvr.build_indexes", "BadValue", "/members/2/buildIndexes", configsvr(buildIndexes=False, priority=0), {}),
    ("configsvr.delay", "BadValue", "/members/2", configsvr(secondaryDelaySecs=5, priority=0, hidden=True, votes=0), {}),
    ("configsvr.journal_default", "BadValue", "/writeConcernMajorityJournalDefault",
     base(configsvr=True, writeConcernMajorityJournalDefault=False), {}),
    ("settings.replica_set_id", "BadValue", "/settings/replicaSetId", with_settings(replicaSetId={"$oid": "0" * 24}), {}),
    ("settings.default_write_concern", "BadValue", "/settings/getLastErrorDefaults/w",
     with_settings(getLastErrorDefaults={"w": 0}), {}),
    ("settings.custom_default_write_concern", 5624101, "/settings/getLastErrorDefaults",
     with_settings(getLastErrorDefaults={"w": 2}), {}),
    ("settings.custom_default_write_concern", 5624102, "/settings/getLastErrorDefaults",
     with_settings(getLastErrorDefaults={"w": 1, "wtimeout": 500}), {"current": current_with()}),
    ("settings.default_write_concern_mode", "BadValue", "/settings/getLastErrorDefaults/w",
     with_settings(getLastErrorDefaults={"w": "nowhere"}), {"target_version": "4.4"}),
    ("settings.default_write_concern_unsatisfiable", "UnsatisfiableWriteConcern", "/settings/getLastErrorDefaults/w",
     with_settings(getLastErrorDefaults={"w": 4}), {"target_version": "4.4"}),
    ("settings.default_write_concern_unsatisfiable", "UnsatisfiableWriteConcern", "/settings/getLastErrorDefaults/w",
     with_settings(getLastErrorDefaults={"w": "allDC"}, getLastErrorModes={"allDC": {"dc": 4}}), {"target_version": "4.4"}),
    ("schema.unknown_field", 40415, "/settings/getLastErrorDefaults/wtimeoutMS",
     with_settings(getLastErrorDefaults={"w": 1, "wtimeoutMS": 0}), {}),
    ("settings.write_concern_mode_count", "BadValue", "/settings/getLastErrorModes/x/dc",
     with_settings(getLastErrorModes={"x": {"dc": 0.5}}), {}),
    ("settings.write_concern_mode_tag", "NoSuchKey", "/settings/getLastErrorModes/x/zone",
     with_settings(getLastErrorModes={"x": {"zone": 1}}), {}),
    ("initiate.version", "InvalidReplicaSetConfig", "/version", base(version=2), {"initiate": True}),
    ("initiate.replica_set_id", "InvalidReplicaSetConfig", "/settings/replicaSetId",
     dict(with_settings(replicaSetId=RSID), version=1), {"initiate": True}),
    ("reconfig.version", "NewReplicaSetConfigurationIncompatible", "/version", base(version=1), {"current": current_with()}),
    # replSetReconfig ignores the document's term: a higher term does not make a lower version newer
    ("reconfig.version", "NewReplicaSetConfigurationIncompatible", "/version", base(version=2, term=9),
     {"current": current_with(version=3, term=5)}),
    ("reconfig.set_name", "InvalidReplicaSetConfig", "/_id", base(_id="rs1"), {"current": current_with()}),
    ("reconfig.replica_set_id", "NewReplicaSetConfigurationIncompatible", "/settings/replicaSetId",
     with_settings(replicaSetId=OTHER_RSID), {"current": current_with(settings={"replicaSetId": RSID})}),
    ("reconfig.configsvr", "NewReplicaSetConfigurationIncompatible", "/configsvr", base(),
     {"current": current_with(configsvr=True)}),
    ("reconfig.host_id", "NewReplicaSetConfigurationIncompatible", "/members/2/_id", with_member(2, _id=5),
     {"current": current_with()}),
    ("reconfig.arbiter_flip", "NewReplicaSetConfigurationIncompatible", "/members/2/arbiterOnly",
     with_member(2, arbiterOnly=True, tags={}), {"current": current_with()}),
    ("reconfig.build_indexes_flip", "NewReplicaSetConfigurationIncompatible", "/members/2/buildIndexes",
     with_member(2, priority=0), {"current": current_with_member(2, priority=0, buildIndexes=False)}),
    ("reconfig.voting_change", "NewReplicaSetConfigurationIncompatible", "/members", base(),
     {"current": current_with_five_voters()}),
    ("reconfig.voting_change", "NewReplicaSetConfigurationIncompatible", "/members", with_member(1, votes=0, priority=0),
     {"current": current_with_member(2, votes=0, priority=0)}),
    ("reconfig.psa", "NewReplicaSetConfigurationIncompatible", "/members", psa_desired(), {"current": psa_current()}),
]

ERROR_CODE_NUMBERS = {"TypeMismatch": 14, "BadValue": 2, "FailedToParse": 9, "NoSuchKey": 4, "UnsupportedFormat": 12,
                      "InvalidReplicaSetConfig": 93, "NewReplicaSetConfigurationIncompatible": 103,
                      "RepairedReplicaSetNode": 270, "UnsatisfiableWriteConcern": 100}


def _ids(case):
    return "%s@%s" % (case[0], case[2])


def test_base_config_is_valid():
    result = validate_config(copy.deepcopy(BASE))
    assert result.valid, [str(e) for e in result.errors]
    assert result.warnings == []
    assert validate_config(base(version=3), current=base()).valid


@pytest.mark.parametrize("rule,code,path,config,kwargs", CASES, ids=[_ids(c) for c in CASES])
def test_rule_is_enforced_alone(rule, code, path, config, kwargs):
    result = validate_config(config, **kwargs)
    assert not result.valid
    rules = set(f.rule for f in result.errors)
    assert rules == {rule}, [str(e) for e in result.errors]
    matching = [f for f in result.errors if f.path == path]
    assert matching, "no error at %s: %s" % (path, [str(e) for e in result.errors])
    assert matching[0].code == code
    as_dict = matching[0].to_dict()
    if isinstance(code, str):
        assert as_dict["code_number"] == ERROR_CODE_NUMBERS[code]
    assert as_dict["message"]


def test_every_rule_has_a_case():
    covered = set(case[0] for case in CASES)
    assert set(RULES) - covered == set()


def test_findings_name_the_member():
    result = validate_config(with_member(2, hidden=True))
    assert result.errors[0].member == "db2.example.net:27017"
    assert str(result.errors[0]).startswith("db2.example.net:27017 (/members/2/priority): [member.priority_hidden, BadValue]")


def test_force_skips_version_and_voter_rules_but_not_the_others():
    current = current_with_five_voters()
    assert validate_config(base(version=1), current=current, force=True).valid
    result = validate_config(base(version=1, _id="other"), current=current, force=True)
    assert [f.rule for f in result.errors] == ["reconfig.set_name"]


def test_adding_two_new_voters_is_one_change_thanks_to_newly_added():
    desired = base(version=2)
    desired["members"] += [{"_id": 3, "host": "db3.example.net:27017"}, {"_id": 4, "host": "db4.example.net:27017"}]
    assert validate_config(desired, current=current_with()).valid


def test_two_new_arbiters_are_two_voting_changes():
    desired = two_arbiters()
    result = validate_config(desired, current=current_with(), target_version="5.0")
    assert [f.rule for f in result.errors] == ["reconfig.voting_change"]


def test_removing_newly_added_from_two_members_is_refused():
    current = current_with()
    current["members"] += [{"_id": 3, "host": "db3.example.net:27017", "newlyAdded": True},
                           {"_id": 4, "host": "db4.example.net:27017", "newlyAdded": True}]
    desired = base()
    desired["members"] += [{"_id": 3, "host": "db3.example.net:27017"}, {"_id": 4, "host": "db4.example.net:27017"}]
    # mongod keeps newlyAdded on members that had it: a user reconfig cannot finish their syncs
    assert validate_config(desired, current=current).valid


def test_values_mongod_truncates_are_accepted():
    assert validate_config(with_member(1, votes=1.9)).valid
    assert validate_config(with_member(2, _id=5.9)).valid
    assert not validate_config(with_member(2, _id=1.9)).valid  # 1.9 is _id 1, already taken
    assert validate_config(base(protocolVersion=1.5)).valid
    assert validate_config(base(version=2.0)).valid


def test_an_arbiter_with_a_priority_fails_the_member_priority_rules_too():
    result = validate_config(with_arbiter(priority=2, hidden=True))
    assert sorted(f.rule for f in result.errors) == ["member.arbiter_priority", "member.priority_hidden"]


def test_term_does_not_change_the_version_rule():
    assert validate_config(base(version=5, term=2), current=current_with(version=1, term=3)).valid


def test_satisfiable_defaults_pass_on_4_4():
    assert validate_config(with_settings(getLastErrorDefaults={"w": 3}), target_version="4.4").valid
    assert validate_config(with_settings(getLastErrorDefaults={"w": "multiDC"}), target_version="4.4").valid


def test_nan_votes_count_as_zero_as_mongod_reads_them():
    result = validate_config(with_member(1, votes=float("nan")))
    assert [f.rule for f in result.errors] == ["member.priority_non_voter"]


def test_negative_fractions_truncate_to_zero_delay():
    assert validate_config(with_member(2, secondaryDelaySecs=-0.5)).valid


def test_member_domains_must_be_a_mapping():
    with pytest.raises(ValueError, match="member_domains must be a mapping"):
        validate_config(base(), member_domains=["a"])


def test_arbiter_default_priority_is_silently_zero():
    assert validate_config(with_arbiter()).valid
    assert validate_config(with_arbiter(priority=1)).valid


def test_member_id_above_255_is_fine_from_5_0():
    assert validate_config(with_member(2, _id=300)).valid
    assert not validate_config(with_member(2, _id=300), target_version="4.4").valid


def test_multiple_arbiters_before_5_3_is_a_warning():
    result = validate_config(two_arbiters(), target_version="5.0")
    assert result.valid
    assert "members.multiple_arbiters" in [w.rule for w in result.warnings]


def test_slave_delay_is_the_4_4_name():
    config = with_member(2, slaveDelay=60, priority=0, hidden=True, votes=0)
    assert validate_config(config, target_version="4.4").valid


def test_non_document_inputs_give_a_structured_error():
    for value in (None, [], "rs0", 5, {"members": "x"}):
        result = validate_config(value)
        assert not result.valid
        assert all(f.code is not None and f.path is not None for f in result.errors)


def test_unsupported_target_version_is_refused():
    with pytest.raises(ValueError, match="target_version"):
        validate_config(base(), target_version="3.6")


def test_bson_values_from_a_live_server_are_understood():
    bson = pytest.importorskip("bson")
    live = with_settings(replicaSetId=bson.ObjectId("65a1b2c3d4e5f60718293a4b"))
    live["members"][0]["_id"] = bson.Int64(0)
    assert validate_config(live).valid
    desired = with_settings(replicaSetId={"$oid": "65a1b2c3d4e5f60718293a4b"})
    desired["version"] = 3
    assert validate_config(desired, current=live).valid


# -- warnings ---------------------------------------------------------------------------

def even_split():
    doc = base()
    doc["members"] = [
        {"_id": 0, "host": "a1.example.net:27017", "tags": {"dc": "a"}},
        {"_id": 1, "host": "a2.example.net:27017", "tags": {"dc": "a"}},
        {"_id": 2, "host": "b1.example.net:27017", "tags": {"dc": "b"}},
        {"_id": 3, "host": "b2.example.net:27017", "tags": {"dc": "b"}},
    ]
    return doc


def primary_spof():
    doc = base()
    doc["members"] = [
        {"_id": 0, "host": "a1.example.net:27017", "priority": 2, "tags": {"dc": "a"}},
        {"_id": 1, "host": "a2.example.net:27017", "priority": 2, "tags": {"dc": "a"}},
        {"_id": 2, "host": "b1.example.net:27017", "tags": {"dc": "b"}},
    ]
    return doc


def arbiter_keeps_majority():
    doc = base()
    doc["members"] = [
        {"_id": 0, "host": "a1.example.net:27017", "tags": {"dc": "a"}},
        {"_id": 1, "host": "b1.example.net:27017", "tags": {"dc": "b"}},
        {"_id": 2, "host": "c1.example.net:27017", "arbiterOnly": True},
    ]
    return doc


def primary_spof_single():
    doc = primary_spof()
    doc["members"][2]["priority"] = 0
    return doc


def majority_away_from_the_preferred_primary():
    doc = base()
    doc["members"] = [
        {"_id": 0, "host": "a1.example.net:27017", "priority": 5, "tags": {"dc": "a"}},
        {"_id": 1, "host": "b1.example.net:27017", "tags": {"dc": "b"}},
        {"_id": 2, "host": "b2.example.net:27017", "tags": {"dc": "b"}},
    ]
    return doc


def untagged():
    doc = base()
    del doc["members"][2]["tags"]
    doc["settings"] = {}
    return doc


WARNING_CASES = [
    ("settings.unknown_field", "/settings/heartbeatIntervalMilis", with_settings(heartbeatIntervalMilis=100), {}),
    ("write_concern.unsatisfiable", "/settings/getLastErrorModes/all/dc",
     with_settings(getLastErrorModes={"all": {"dc": 4}}), {}),
    ("members.multiple_arbiters", "/members", two_arbiters(), {"target_version": "4.4"}),
    ("member.delayed_votes", "/members/2/votes", with_member(2, secondaryDelaySecs=60, priority=0, hidden=True), {}),
    ("member.delayed_not_hidden", "/members/2/hidden", with_member(2, secondaryDelaySecs=60, priority=0, votes=0), {}),
    ("reconfig.implicit_default_write_concern", "/members", psa_desired(),
     {"current": {"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": "p.example.net:27017"},
                                                          {"_id": 1, "host": "s.example.net:27017"},
                                                          {"_id": 3, "host": "t.example.net:27017"}]},
      "force": True}),
    ("analysis.even_voters", "/members", even_split(), {}),
    ("analysis.even_split", "/members", even_split(), {}),
    ("analysis.primary_domain_spof", "/members", primary_spof(), {}),
    ("analysis.arbiter_survivor", "/members", arbiter_keeps_majority(), {"member_domains": {"c1.example.net": "c"}}),
    ("analysis.single_domain_electable", "/members", primary_spof_single(), {}),
    ("analysis.domain_loss_no_primary", "/members", majority_away_from_the_preferred_primary(), {}),
    ("analysis.untagged", "/members", untagged(), {}),
]


@pytest.mark.parametrize("rule,path,config,kwargs", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_warning_is_reported(rule, path, config, kwargs):
    result = validate_config(config, **kwargs)
    found = [w for w in result.warnings if w.rule == rule]
    assert found, [str(w) for w in result.warnings]
    assert found[0].path == path
    assert found[0].message


def test_every_warning_has_a_case():
    assert set(WARNINGS) - set(case[0] for case in WARNING_CASES) == set()


# -- found by the differential test against mongoemu (tests/emulator/test_emu_vs_validator.py) --

def test_new_voters_do_not_count_until_their_initial_sync():
    current = {"_id": "rs0", "version": 2, "members": [{"_id": 0, "host": "a:27017"}]}
    desired = {"_id": "rs0", "version": 3, "members": [{"_id": 0, "host": "a:27017", "votes": 0, "priority": 0},
                                                       {"_id": 1, "host": "b:27017"}]}
    result = validate_config(desired, current=current)
    assert "members.voters" in [f.rule for f in result.errors]
    assert validate_config(desired).valid  # as a document on its own (or to initiate) it is fine


def test_flag_flips_are_refused_even_when_the_host_moves():
    current = {"_id": "rs0", "version": 2, "members": [{"_id": 0, "host": "a:27017"},
                                                       {"_id": 1, "host": "b:27017", "votes": 0, "priority": 0}]}
    desired = {"_id": "rs0", "version": 3, "members": [
        {"_id": 0, "host": "a:27017"}, {"_id": 1, "host": "c:27017", "votes": 0, "priority": 0, "buildIndexes": False}]}
    assert [f.rule for f in validate_config(desired, current=current).errors] == ["reconfig.build_indexes_flip"]


def test_decimal_numbers_are_numbers_and_nan_priority_is_out_of_range():
    bson = pytest.importorskip("bson")
    doc = base(version=bson.Decimal128("3"))
    doc["members"][1]["votes"] = bson.Decimal128("1")
    assert validate_config(doc).valid
    result = validate_config(with_member(1, priority=float("nan")))
    assert [(f.rule, f.code, f.path) for f in result.errors] == [("schema.range", 51024, "/members/1/priority")]
