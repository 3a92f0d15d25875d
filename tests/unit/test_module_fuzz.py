"""Fuzzing every module's input (hypothesis): random option values, drawn from each module's
documented options (types, choices, list elements), plus random config documents where a
module takes one, must end in exit_json or fail_json with a message - never a traceback.

The connection options are pinned to a seed where nothing listens (127.0.0.1:9) with short
timeouts, so a module that gets past its argument checks fails fast on the connection; the
rest is random, check mode included."""
import importlib
import io
import json
import os
from contextlib import redirect_stdout

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Modules whose code is an action plugin (plugins/action/<name>.py, the module file only documents
# it) run on the controller, not through main(); their checks are fuzzed with their own unit tests.
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_")
                 and not os.path.exists(os.path.join(ROOT, "plugins", "action", name)))
PINNED = {"hosts": ["127.0.0.1:9"], "connect_timeout": 0.2, "server_selection_timeout": 0.2,
          "timeout": 0.5, "wait_timeout": 0.5, "probe_timeout": 0.2, "step_timeout": 0.5,
          "sample_seconds": 0}

SCALARS = {
    "str": st.text(max_size=12),
    "int": st.integers(min_value=-5, max_value=10 ** 6),
    "float": st.floats(min_value=-5, max_value=1e6, allow_nan=False),
    "bool": st.booleans(),
    "raw": st.one_of(st.text(max_size=8), st.integers(), st.booleans()),
}
MEMBER = st.fixed_dictionaries(
    {"_id": st.integers(min_value=-1, max_value=60), "host": st.sampled_from(
        ["127.0.0.1:9", "127.0.0.2:9", "db:1", "", "x:y"])},
    optional={"priority": st.one_of(st.floats(-1, 1001, allow_nan=False), st.text(max_size=3)),
              "votes": st.integers(-1, 2), "arbiterOnly": st.booleans(),
              "hidden": st.booleans(), "tags": st.dictionaries(st.text(max_size=3),
                                                               st.text(max_size=3), max_size=2)})
CONFIG = st.fixed_dictionaries(
    {"_id": st.sampled_from(["rs0", "", "x"]), "members": st.lists(MEMBER, max_size=5)},
    optional={"version": st.integers(-1, 5), "settings": st.dictionaries(
        st.sampled_from(["electionTimeoutMillis", "getLastErrorModes", "chainingAllowed"]),
        st.one_of(st.integers(-1, 10), st.booleans(),
                  st.dictionaries(st.text(max_size=3), st.integers(0, 3))))})


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    if "quorum.mongodb.connection" in (doc.get("extends_documentation_fragment") or []):
        fragment = importlib.import_module(
            "ansible_collections.quorum.mongodb.plugins.doc_fragments.connection")
        options.update(yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def value_for(name, spec):
    if spec.get("choices"):
        return st.sampled_from(spec["choices"])
    kind = spec.get("type", "str")
    if name in ("config", "desired") or kind == "dict":
        return CONFIG if name in ("config", "desired") else st.dictionaries(
            st.text(max_size=4), SCALARS["raw"], max_size=3)
    if kind == "list":
        return st.lists(SCALARS.get(spec.get("elements", "str"), SCALARS["raw"]), max_size=3)
    return SCALARS.get(kind, SCALARS["raw"])


def arguments(module):
    """(module args, check mode): pinned connection options, every other option optional."""
    options = documented_options(module)
    pinned = {k: st.just(v) for k, v in PINNED.items() if k in options}
    fuzzed = {name: value_for(name, spec) for name, spec in options.items() if name not in PINNED}
    return st.tuples(st.fixed_dictionaries(pinned, optional=fuzzed), st.booleans())


def run(module, args, check_mode):
    out = io.StringIO()
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), redirect_stdout(out):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(out.getvalue())


@pytest.mark.parametrize("name", MODULES)
def test_random_options_never_cause_a_traceback(name):
    module = importlib.import_module(f"ansible_collections.quorum.mongodb.plugins.modules.{name}")

    @settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "6")), deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(arguments(module))
    def check(drawn):
        args, check_mode = drawn
        result = run(module, args, check_mode)
        if result.get("failed"):
            assert result.get("msg"), result
            assert "Traceback" not in str(result.get("msg")), result

    check()
