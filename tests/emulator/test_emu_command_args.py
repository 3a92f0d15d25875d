"""Commands with arguments of the wrong type answer mongod 7.0's codes, codeNames and messages
(issue 16, "Bad input").

* The user and role commands are strict IDL commands (src/mongo/db/commands/
  user_management_commands.idl): the name is a string, each field has a type, a missing required
  field is 40414, an unknown field 40415, a wrong type TypeMismatch as
  IDLParserContext::throwBadType words it - "expected type 'string'" for one type, "expected
  types '[bool, long, int, decimal, double']" (sic, the quote before the bracket) for safeBool.
* grantRolesToUser / revokeRolesFromUser refuse an empty roles array (typedRun, BadValue).
* replSetStepDown reads secondaryCatchUpPeriodSecs with bsonExtractIntegerField
  (bson/util/bson_extract.cpp).
* replSetReconfig with a non-document answers ok: 0, "no configuration specified" and no code
  (CmdReplSetReconfig::run returns false).
"""
from __future__ import annotations

import pytest
from pymongo.errors import OperationFailure

from emuharness import assert_fails

pytestmark = pytest.mark.emulator

SAFE_BOOL = "[bool, long, int, decimal, double']"


@pytest.fixture(scope="module")
def node(module_emu_factory):
    node = module_emu_factory("--replSet", "argsrs", name="args")
    node.client().admin.command("replSetInitiate", {"_id": "argsrs", "members": [
        {"_id": 0, "host": node.address}]})
    node.client().app.command("createUser", "someone", pwd="someone-pw-1", roles=["read"])
    return node


@pytest.mark.parametrize("command, arg, fields, code, message", [
    ("createUser", "u", {"pwd": 5, "roles": []}, 14,
     "BSON field 'createUser.pwd' is the wrong type 'int', expected type 'string'"),
    ("createUser", "u", {"pwd": "pw-u-1"}, 40414,
     "BSON field 'createUser.roles' is missing but a required field"),
    ("createUser", "u", {"pwd": "pw-u-1", "roles": "read"}, 14,
     "BSON field 'createUser.roles' is the wrong type 'string', expected type 'array'"),
    ("createUser", 5, {"pwd": "pw-u-1", "roles": []}, 14,
     "BSON field 'createUser.createUser' is the wrong type 'int', expected type 'string'"),
    ("createUser", "u", {"pwd": "pw-u-1", "roles": [], "mechanisms": "SCRAM-SHA-256"}, 14,
     "BSON field 'createUser.mechanisms' is the wrong type 'string', expected type 'array'"),
    ("createUser", "u", {"pwd": "pw-u-1", "roles": [], "customData": "x"}, 14,
     "BSON field 'createUser.customData' is the wrong type 'string', expected type 'object'"),
    ("createUser", "u", {"pwd": "pw-u-1", "roles": [], "digestPassword": "yes"}, 14,
     f"BSON field 'createUser.digestPassword' is the wrong type 'string', expected types "
     f"'{SAFE_BOOL}"),
    ("createUser", "u", {"pwd": "pw-u-1", "roles": [], "password": "x"}, 40415,
     "BSON field 'createUser.password' is an unknown field."),
    ("updateUser", "someone", {"pwd": 5}, 14,
     "BSON field 'updateUser.pwd' is the wrong type 'int', expected type 'string'"),
    ("dropUser", 5, {}, 14,
     "BSON field 'dropUser.dropUser' is the wrong type 'int', expected type 'string'"),
    ("grantRolesToUser", "someone", {"roles": "read"}, 14,
     "BSON field 'grantRolesToUser.roles' is the wrong type 'string', expected type 'array'"),
    ("grantRolesToUser", "someone", {"roles": []}, 2,
     "grantRolesToUser command requires a non-empty \"roles\" array"),
    ("revokeRolesFromUser", "someone", {}, 40414,
     "BSON field 'revokeRolesFromUser.roles' is missing but a required field"),
    ("usersInfo", "someone", {"showCredentials": "yes"}, 14,
     f"BSON field 'usersInfo.showCredentials' is the wrong type 'string', expected types "
     f"'{SAFE_BOOL}"),
    ("rolesInfo", 1, {"showBuiltinRoles": "yes"}, 14,
     f"BSON field 'rolesInfo.showBuiltinRoles' is the wrong type 'string', expected types "
     f"'{SAFE_BOOL}"),
    ("createRole", "r", {"privileges": [], "roles": [], "inherits": []}, 40415,
     "BSON field 'createRole.inherits' is an unknown field."),
    ("dropRole", ["r"], {}, 14,
     "BSON field 'dropRole.dropRole' is the wrong type 'array', expected type 'string'"),
])
def test_user_and_role_commands_parse_as_their_idl(node, command, arg, fields, code, message):
    db = node.client().app
    err = assert_fails(lambda: db.command(command, arg, **fields), code,
                       {2: "BadValue", 14: "TypeMismatch", 40414: "Location40414",
                        40415: "Location40415"}[code])
    assert err.details["errmsg"] == message


def test_step_down_catch_up_period_is_an_integer(node):
    admin = node.client().admin
    err = assert_fails(lambda: admin.command("replSetStepDown", 60,
                                             secondaryCatchUpPeriodSecs="10"),
                       14, "TypeMismatch")
    assert err.details["errmsg"] == ('Expected field "secondaryCatchUpPeriodSecs" to have '
                                     "numeric type, but found string")
    err = assert_fails(lambda: admin.command("replSetStepDown", 60,
                                             secondaryCatchUpPeriodSecs=1.5),
                       2, "BadValue")
    assert err.details["errmsg"] == (
        'Expected field "secondaryCatchUpPeriodSecs" to have a value exactly representable as '
        "a 64-bit integer, but found secondaryCatchUpPeriodSecs: 1.5")


def test_reconfig_with_a_non_document(node):
    with pytest.raises(OperationFailure) as err:
        node.client().admin.command("replSetReconfig", "config")
    assert err.value.details["errmsg"] == "no configuration specified"
    assert "code" not in err.value.details and err.value.details["ok"] == 0
