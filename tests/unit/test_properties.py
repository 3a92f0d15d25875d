"""Property tests: the validator never raises and always answers in the same shape; valid
topologies survive a round trip through the filter."""
import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.quorum.mongodb.plugins.module_utils.desired_config import (
    build_desired_config,
    member_domains,
    member_vars_from_config,
)
from ansible_collections.quorum.mongodb.plugins.module_utils.validation import validate_config

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2 ** 40, max_value=2 ** 40),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=20)

MEMBER_FIELDS = ["_id", "host", "votes", "priority", "hidden", "arbiterOnly", "buildIndexes", "secondaryDelaySecs",
                 "slaveDelay", "tags", "horizons", "newlyAdded"]
TOP_FIELDS = ["_id", "version", "term", "protocolVersion", "members", "settings", "configsvr", "repaired",
              "writeConcernMajorityJournalDefault"]
SETTING_FIELDS = ["chainingAllowed", "heartbeatIntervalMillis", "electionTimeoutMillis", "catchUpTimeoutMillis",
                  "getLastErrorModes", "getLastErrorDefaults", "replicaSetId"]

near_member = st.dictionaries(st.sampled_from(MEMBER_FIELDS), json_values, max_size=8)
near_config = st.fixed_dictionaries({
    "_id": st.one_of(st.just("rs0"), json_values),
    "version": st.one_of(st.integers(-2, 5), json_values),
    "members": st.one_of(st.lists(near_member, max_size=9), json_values),
}, optional={
    "settings": st.dictionaries(st.sampled_from(SETTING_FIELDS), json_values, max_size=4),
    "term": json_values,
    "configsvr": json_values,
    "repaired": json_values,
})


def assert_well_formed(result):
    data = result.to_dict()
    assert isinstance(data["valid"], bool)
    assert data["valid"] == (data["errors"] == [])
    for finding in data["errors"] + data["warnings"]:
        assert isinstance(finding["path"], str) and (finding["path"] == "" or finding["path"].startswith("/"))
        assert isinstance(finding["rule"], str) and finding["rule"]
        assert isinstance(finding["message"], str) and finding["message"]
    for finding in data["errors"]:
        assert finding["code"] is not None
    assert isinstance(data["analysis"], dict)


@SETTINGS
@given(json_values)
def test_any_json_value_gets_a_structured_answer(value):
    assert_well_formed(validate_config(value))


@SETTINGS
@given(near_config, st.sampled_from(["4.4", "5.0", "6.0", "7.0", "8.0"]), st.booleans())
def test_config_shaped_documents_never_raise(config, version, initiate):
    assert_well_formed(validate_config(config, target_version=version, initiate=initiate))


@SETTINGS
@given(near_config, near_config, st.booleans())
def test_reconfig_against_any_current_never_raises(config, current, force):
    assert_well_formed(validate_config(config, current=current, force=force))


# -- generated topologies ----------------------------------------------------------------

def topology():
    datacenter = st.sampled_from(["dc1", "dc2", "dc3"])
    data_member = st.fixed_dictionaries({
        "mongodb_datacenter": datacenter,
        "mongodb_rack": st.sampled_from(["r1", "r2"]),
    }, optional={
        "mongodb_priority": st.sampled_from([0, 0.5, 1, 2, 10]),
        "mongodb_tags": st.dictionaries(st.sampled_from(["disk", "zone"]), st.sampled_from(["a", "b"]), max_size=2),
    })
    hidden_member = st.fixed_dictionaries({"mongodb_datacenter": datacenter, "mongodb_hidden": st.just(True)},
                                          optional={"mongodb_secondary_delay_secs": st.integers(0, 86400)})
    arbiter = st.fixed_dictionaries({"mongodb_datacenter": datacenter, "mongodb_arbiter": st.just(True)})
    return st.tuples(
        st.lists(data_member, min_size=1, max_size=12),
        st.lists(hidden_member, max_size=3),
        st.lists(arbiter, max_size=1),
    )


def as_inventory(members):
    inventory = []
    for i, hostvars in enumerate(members):
        entry = dict(hostvars)
        entry["inventory_hostname"] = "m%d.example.net" % i
        inventory.append(entry)
    return inventory


@SETTINGS
@given(topology(), st.sampled_from(["4.4", "5.0", "6.0", "7.0", "8.0"]))
def test_generated_topologies_are_valid_and_round_trip(parts, version):
    data, hidden, arbiters = parts
    for hostvars in data[4:]:
        if hostvars.get("mongodb_priority", 0) > 0:
            del hostvars["mongodb_priority"]  # at most 7 members may be pinned as voters
    if all(m.get("mongodb_priority", 1) == 0 for m in data):
        data[0]["mongodb_priority"] = 1  # a set needs an electable member
    inventory = as_inventory(data + hidden + arbiters)
    config = build_desired_config(inventory, "rs0", write_concern_modes="auto", target_version=version)
    result = validate_config(config, target_version=version, initiate=True,
                             member_domains=member_domains(inventory))
    assert result.valid, [str(e) for e in result.errors]
    assert len([m for m in config["members"] if m["votes"]]) <= 7
    assert result.analysis["untagged_members"] == []

    rebuilt = build_desired_config(member_vars_from_config(config), "rs0", target_version=version,
                                   settings=copy.deepcopy(config.get("settings")))
    assert rebuilt == config

    newer = build_desired_config(inventory, "rs0", write_concern_modes="auto", target_version=version, current=config)
    assert newer["version"] == 2
    assert [m["_id"] for m in newer["members"]] == [m["_id"] for m in config["members"]]
    assert validate_config(newer, current=config, target_version=version).valid


# -- the fast schema check agrees with jsonschema -----------------------------------------

def generated_config(parts):
    data, hidden, arbiters = parts
    for hostvars in data:
        hostvars.pop("mongodb_priority", None)
    return build_desired_config(as_inventory(data + hidden + arbiters), "rs0", write_concern_modes="auto")


edge_numbers = st.sampled_from([0, 1, -1, 0.5, 1.0, 1.9, 2, 255, 256, 1000, 1000.5, 2 ** 31, -0.5, 31622400, 31622401])


def with_edge_values(config, data):
    """Put boundary numbers into random number fields of a valid config."""
    member = data.draw(st.sampled_from(config["members"]))
    field = data.draw(st.sampled_from(["_id", "votes", "priority", "secondaryDelaySecs"]))
    member[field] = data.draw(edge_numbers)
    if data.draw(st.booleans()):
        config[data.draw(st.sampled_from(["version", "term", "protocolVersion"]))] = data.draw(edge_numbers)
    return config


@SETTINGS
@given(st.one_of(near_config, json_values, topology().map(generated_config)), st.data())
def test_fast_schema_check_agrees_with_jsonschema(document, data):
    if isinstance(document, dict) and isinstance(document.get("members"), list) and document["members"] \
            and all(isinstance(m, dict) for m in document["members"]) and data.draw(st.booleans()):
        document = with_edge_values(document, data)
    import jsonschema

    from ansible_collections.quorum.mongodb.plugins.module_utils.replset_schema import SCHEMAS
    from ansible_collections.quorum.mongodb.plugins.module_utils.schema_check import compile_schema

    for schema in SCHEMAS.values():
        assert compile_schema(schema)(document) == jsonschema.Draft202012Validator(schema).is_valid(document)
