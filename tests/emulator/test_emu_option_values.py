"""Startup options with bad values fail as mongod 7.0 fails them (issue 16, "Bad input").

mongod refuses a start at three steps, each with its own output and exit code:

1. OptionsParser::run (util/options_parser/options_parser.cpp; options_parser_init.cpp prints the
   reason, then "try 'mongod --help' for more information", exit 2 = ExitCode::badOptions):
   unknown options, a missing value, an option given twice ("Multiple occurrences"), a value
   that is not of the option's type (stringToValue: NumberParser's reason from
   base/parse_number.cpp; on the command line the key is the option's name, in the YAML file its
   dotted name; yaml-cpp gives every scalar as text, so ``yes`` is no boolean), and YAML shapes
   (YAMLNodeToValue, addYAMLNodesToEnvironment);
2. the validation step (mongod_options_init.cpp: Environment::validate with the IDL
   ``validator``/``conflicts`` constraints, validateMongodOptions, canonicalizeMongodOptions,
   all under uassertStatusOK): mongod_main logs "Error during global initialization" (id 20574)
   with the status and exits 1 (ExitCode::fail);
3. storeMongodOptions / storeServerOptions / storeBaseOptions: "BadValue: <reason>" and the
   try-help line, exit 2.

The cases run mongoemu's command line in-process (its ``main``), and one of each kind as a
process to see the real exit code.
"""
from __future__ import annotations

import json

import pytest

from emuharness import run_cli
from mongoemu.cli import main
from mongoemu.config import parse_config

pytestmark = pytest.mark.emulator

TRY_HELP = "try 'mongod --help' for more information"


def _run(capsys, args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def _yaml(tmp_path, text: str) -> list[str]:
    conf = tmp_path / "mongod.conf"
    conf.write_text(text)
    return ["-f", str(conf)]


PARSER_ERRORS = [
    (["--port", "x"], 'Error parsing option "port" as int: Did not consume whole string.'),
    (["--port", "99999999999"], 'Error parsing option "port" as int: Overflow'),
    (["--port="], 'Error parsing option "port" as int: No digits'),
    (["--oplogSize", "1.5"], 'Error parsing option "oplogSize" as int: Did not consume whole '
                             "string."),
    (["--slowms", "fast"], 'Error parsing option "slowms" as int: Did not consume whole '
                           "string."),
    (["--maxConns", "10k"], 'Error parsing option "maxConns" as int: Did not consume whole '
                            "string."),
    (["--syncdelay", "abc"], 'Error parsing option "syncdelay" as double in: Did not consume '
                             "any digits"),
    (["--wiredTigerCacheSizeGB", "1GB"], 'Error parsing option "wiredTigerCacheSizeGB" as '
                                         "double in: Did not consume whole string."),
    (["--journalCommitInterval", "9" * 12], 'Error parsing option "journalCommitInterval" as '
                                            "int: Overflow"),
    (["--enableMajorityReadConcern", "yes"], "Expected boolean but found string: yes for "
                                             "option: enableMajorityReadConcern"),
    (["--port", "1", "--port", "2"], 'Error parsing command line:  Multiple occurrences of '
                                     'option "--port"'),
    (["--fork", "--fork"], 'Error parsing command line:  Multiple occurrences of option '
                           '"--fork"'),
    (["--setParameter", "enableTestCommands"], 'Illegal option assignment: '
                                               '"enableTestCommands"'),
    (["--dbpath"], "Error parsing command line: the required argument for option '--dbpath' "
                   "is missing"),
]


@pytest.mark.parametrize("args, wanted", PARSER_ERRORS)
def test_command_line_values_of_the_wrong_type_fail_in_the_parser(capsys, args, wanted):
    code, out, err = _run(capsys, args)
    assert (code, err.splitlines()) == (2, [wanted, TRY_HELP]), out


YAML_ERRORS = [
    ("net:\n  port: abc\n", 'Error parsing option "net.port" as int: Did not consume whole '
                            "string."),
    ("net:\n  port: 27017.5\n", 'Error parsing option "net.port" as int: Did not consume '
                                "whole string."),
    ("net:\n  bindIpAll: yes\n", "Expected boolean switch but found string: yes for option: "
                                 "net.bindIpAll"),
    ("replication:\n  enableMajorityReadConcern: 1\n", "Expected boolean but found string: 1 "
                                                       "for option: "
                                                       "replication.enableMajorityReadConcern"),
    ("storage:\n  syncPeriodSecs: soon\n", 'Error parsing option "storage.syncPeriodSecs" as '
                                           "double in: Did not consume any digits"),
    ("setParameter:\n  - enableTestCommands=1\n", "Option: setParameter is of type StringMap, "
                                                  "but value in YAML config is not a map type"),
    ("setParameter:\n  logComponentVerbosity:\n    - 1\n",
     "Option: setParameter has a map with non scalar values, which is not allowed"),
    ("security:\n  clusterIpSourceAllowlist: 10.0.0.0/8\n",
     "Option: security.clusterIpSourceAllowlist is of type StringVector, but value in YAML "
     "config is not a list type"),
    ("- net\n- storage\n", "No map found at top level of YAML config"),
]


@pytest.mark.parametrize("text, wanted", YAML_ERRORS)
def test_config_file_values_of_the_wrong_type_fail_in_the_parser(capsys, tmp_path, text,
                                                                 wanted):
    code, out, err = _run(capsys, _yaml(tmp_path, text))
    assert (code, err.splitlines()) == (2, [wanted, TRY_HELP]), out


VALIDATION_ERRORS = [
    (["--port", "70000"], "net.port must be less than or equal to 65535"),
    (["--port", "-1"], "net.port must be greater than or equal to 0"),
    (["--syncdelay", "-1"], "storage.syncPeriodSecs must be greater than or equal to 0"),
    (["--syncdelay", "1e9"], "storage.syncPeriodSecs must be less than or equal to 9e+06"),
    (["--journalCommitInterval", "0"], "storage.journal.commitIntervalMs must be greater than "
                                       "or equal to 1"),
    (["--journalCommitInterval", "501"], "storage.journal.commitIntervalMs must be less than or "
                                         "equal to 500"),
    (["--wiredTigerCacheSizeGB", "0.1"], "storage.wiredTiger.engineConfig.cacheSizeGB must be "
                                         "greater than or equal to 0.25"),
    (["--wiredTigerCacheSizeGB", "20000"], "storage.wiredTiger.engineConfig.cacheSizeGB must "
                                           "be less than or equal to 10000"),
    (["--oplogMinRetentionHours", "-0.5"], "storage.oplogMinRetentionHours must be greater "
                                           "than or equal to 0"),
    (["--configsvr", "--shardsvr", "--replSet", "rs"],
     "shardsvr is not allowed when configsvr is specified"),
    (["--auth", "--noauth"], "noauth is not allowed when auth is specified"),
    (["--noauth", "--keyFile", "/nonexistent/key"],
     "noauth is not allowed when security.keyFile is specified"),
    (["--clusterAuthMode", "password"], "security.clusterAuthMode expects one of 'keyFile', "
                                        "'sendKeyFile', 'sendX509', or 'X509'"),
    (["--profile", "5"], "Bad value for profile: 5.  Supported modes are: "
                         "(0=off|1=slowOp|2=all)"),
    (["--setParameter", "noSuchParameter=1"], "Unknown --setParameter 'noSuchParameter'"),
    (["--setParameter", "failpoint.hangAfterStartup={mode: 'alwaysOn'}"],
     "Unknown --setParameter 'failpoint.hangAfterStartup'"),
]


@pytest.mark.parametrize("args, wanted", VALIDATION_ERRORS)
def test_out_of_range_and_conflicting_values_fail_global_initialization(capsys, args, wanted):
    code, out, err = _run(capsys, args)
    assert code == 1, (out, err)
    record = json.loads(out.strip().splitlines()[-1])
    assert (record["s"], record["c"], record["id"], record["msg"]) == \
        ("F", "CONTROL", 20574, "Error during global initialization")
    assert record["attr"]["error"] == {"code": 2, "codeName": "BadValue", "errmsg": wanted}


@pytest.mark.parametrize("text, wanted", [
    ("net:\n  port: 70000\n", "net.port must be less than or equal to 65535"),
    ("systemLog:\n  destination: console\n",
     "systemLog.destination expects one of 'syslog' or 'file'"),
    ("storage:\n  wiredTiger:\n    engineConfig:\n      cacheSizeGB: 0.2\n",
     "storage.wiredTiger.engineConfig.cacheSizeGB must be greater than or equal to 0.25"),
    ("setParameter:\n  notAParameter: 1\n", "Unknown --setParameter 'notAParameter'"),
    # mongod_options_general.h validators
    ("security:\n  authorization: on\n",
     "security.authorization expects either 'enabled' or 'disabled'"),
    ("operationProfiling:\n  mode: fast\n",
     "operationProfiling.mode expects 'off', 'slowOp', or 'all'"),
])
def test_config_file_values_out_of_range_fail_global_initialization(capsys, tmp_path, text,
                                                                     wanted):
    code, out, _err = _run(capsys, _yaml(tmp_path, text))
    assert code == 1
    assert json.loads(out.strip().splitlines()[-1])["attr"]["error"]["errmsg"] == wanted


STORE_ERRORS = [
    (["--oplogSize", "0"], "bad --oplogSize, arg must be greater than 0,found: 0"),
    (["--oplogSize", "-5"], "bad --oplogSize, arg must be greater than 0,found: -5"),
    (["--maxConns", "4"], "maxConns has to be at least 5"),
    (["--setParameter", "featureCompatibilityVersion=7.0"],
     'Cannot use --setParameter to set "featureCompatibilityVersion" at startup'),
    (["--setParameter", "wiredTigerEngineRuntimeConfig=eviction=(threads_min=4)"],
     'Cannot use --setParameter to set "wiredTigerEngineRuntimeConfig" at startup'),
    # applySetParameterOptions: setFromString -> idl_server_parameter_detail::coerceFromString
    # (server_parameter_with_storage.h): a bool is "1", "0", "true" or "false" exactly, a number
    # goes through NumberParser (base/parse_number.cpp)
    (["--setParameter", "enableElectionHandoff=yes"],
     'Bad value for parameter "enableElectionHandoff": Value is not a valid boolean'),
    (["--setParameter", "enableLocalhostAuthBypass=True"],
     'Bad value for parameter "enableLocalhostAuthBypass": Value is not a valid boolean'),
    (["--setParameter", "replWriterThreadCount=4x"],
     'Bad value for parameter "replWriterThreadCount": Did not consume whole string.'),
    (["--setParameter", "replWriterThreadCount=99999999999"],
     'Bad value for parameter "replWriterThreadCount": Overflow'),
    (["--setParameter", "syncdelay=soon"],
     'Bad value for parameter "syncdelay": Did not consume any digits'),
    # the names in std::map order: the first bad one is reported
    (["--setParameter", "notablescan=no", "--setParameter", "allowMultipleArbiters=no"],
     'Bad value for parameter "allowMultipleArbiters": Value is not a valid boolean'),
]


@pytest.mark.parametrize("args, wanted", STORE_ERRORS)
def test_values_refused_when_stored_fail_with_bad_value(capsys, args, wanted):
    code, out, err = _run(capsys, args)
    assert (code, err.splitlines()) == (2, [f"BadValue: {wanted}", TRY_HELP]), out


@pytest.mark.parametrize("text, wanted", [
    ("replication:\n  oplogSizeMB: 0\n",
     "BadValue: bad --oplogSize, arg must be greater than 0,found: 0"),
    # the validator takes any case, storeMongodOptions only the exact names
    ("operationProfiling:\n  mode: SLOWOP\n", "BadValue: Bad value for operationProfiling.mode: "
                                             "SLOWOP.  Supported modes are: (off|slowOp|all)"),
    # yaml-cpp hands the text over: False is not one of coerceFromString<bool>'s spellings
    ("setParameter:\n  enableElectionHandoff: False\n",
     'BadValue: Bad value for parameter "enableElectionHandoff": Value is not a valid boolean'),
])
def test_config_file_values_refused_when_stored(capsys, tmp_path, text, wanted):
    code, _out, err = _run(capsys, _yaml(tmp_path, text))
    assert (code, err.splitlines()) == (2, [wanted, TRY_HELP])


def test_forms_mongod_accepts(tmp_path):
    # NumberParser base 0: hexadecimal and octal integers, as strtol reads them
    assert parse_config(["--port", "0x6989"]).port == 27017
    assert parse_config(["--port", "010"]).port == 8
    # storeServerOptions: bindIp "*" is every address; bindIpAll canonicalizes to it
    assert parse_config(["--bind_ip", "*"]).bind_ip_all
    assert parse_config(["--bind_ip_all"]).bind_ip_all
    # yaml-cpp reads scalars as text: a quoted port is a port
    cfg = parse_config(_yaml(tmp_path, 'net:\n  port: "27018"\n  bindIpAll: true\n'
                                       "setParameter:\n  enableTestCommands: 1\n"))
    assert (cfg.port, cfg.bind_ip_all, cfg.test_commands_enabled) == (27018, True, True)
    assert cfg.parsed["net"]["port"] == 27018 and cfg.parsed["setParameter"] == \
        {"enableTestCommands": "1"}
    # a typed parameter in every spelling coerceFromString takes
    cfg = parse_config(["--setParameter", "enableElectionHandoff=0", "--setParameter",
                        "replWriterThreadCount=0x10", "--setParameter", "syncdelay=1.5"])
    assert cfg.set_parameters == {"enableElectionHandoff": "0", "replWriterThreadCount": "0x10",
                                  "syncdelay": "1.5"}
    # an implicit value; failpoints exist with enableTestCommands; feature flags are parameters
    assert parse_config(["--enableMajorityReadConcern"]).parsed["replication"] == \
        {"enableMajorityReadConcern": True}
    parse_config(["--setParameter", "enableTestCommands=1",
                  "--setParameter", "failpoint.hangAfterStartup={mode: 'off'}",
                  "--setParameter", "featureFlagBlender=true"])
    # the validator takes "Enabled"; storeServerOptions turns authorization on for "enabled" only
    assert not parse_config(_yaml(tmp_path, "security:\n  authorization: Enabled\n")).auth
    assert parse_config(_yaml(tmp_path, "security:\n  authorization: enabled\n")).auth
    # --help and --version come before any validation (handlePreValidationMongodOptions)
    assert parse_config(["--version", "--port", "70000"]).version


@pytest.mark.parametrize("args, code, stream", [
    (["--port", "70000"], 1, "stdout"),
    (["--port", "seventy"], 2, "stderr"),
])
def test_exit_codes_of_a_real_process(args, code, stream):
    proc = run_cli(*args, timeout=20)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert ("Error during global initialization" in proc.stdout) == (code == 1)
    assert (TRY_HELP in getattr(proc, stream)) == (code == 2)
