"""playbooks/validate.yml, the pull-request gate, on the example inventories and broken copies."""
import os
import re

import pytest
import yaml

from conftest import ROOT

EXAMPLES = {"two_dc_ny_fr": "myapp", "three_dc": "orders", "dr_passive": "billing"}

# The fault-domain conclusions each example must show: the rows of its report.
CONCLUSIONS = {
    "two_dc_ny_fr": ['"| FR | 2 | 3/5 | ny1.myapp.example:30000 | yes | no | yes |"',
                     '"| NY | 3 | 2/5 | NONE | no | no | no |"'],
    "three_dc": ['"| dc1 | 2 | 3/5 | db1.dc2.example:27017 | yes | yes | yes |"',
                 '"| dc2 | 2 | 3/5 | db1.dc1.example:27017 | yes | yes | yes |"',
                 '"| dc3 | 1 | 4/5 | db1.dc1.example:27017 | yes | yes | yes |"'],
    "dr_passive": ['"| dr | 1 | 2/3 | billing1.main.example:27017 | yes | no |"',
                   '"| main | 2 | 1/3 | NONE | no | no |"'],
}


@pytest.mark.playbook
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_inventories_pass(playbook, name):
    result = playbook("playbooks/validate.yml", os.path.join(ROOT, "inventories", "examples", name))
    assert result.returncode == 0, result.stdout
    assert "Fault domains of %s (by dc)" % EXAMPLES[name] in result.stdout
    for row in CONCLUSIONS[name]:
        assert row in result.stdout, row
    assert "failed=0" in result.stdout


def broken_copy(tmp_path, change):
    with open(os.path.join(ROOT, "inventories", "examples", "three_dc", "hosts.yml")) as handle:
        inventory = yaml.safe_load(handle)
    change(inventory["all"]["children"]["rs_orders"])
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.mark.playbook
def test_a_broken_inventory_fails_naming_the_member_and_the_rule(playbook, tmp_path):
    def hide_a_priority_member(group):
        group["hosts"]["db2.dc2.example"]["mongodb_hidden"] = True  # hidden but priority 2

    result = playbook("playbooks/validate.yml", broken_copy(tmp_path, hide_a_priority_member))
    assert result.returncode != 0
    assert "the replica set config is refused" in result.stdout
    assert re.search(r"db2\.dc2\.example:27017 \(/members/\d/priority\): \[member\.priority_hidden, BadValue\] "
                     r"a hidden member must have priority 0", result.stdout), result.stdout
    assert "failed=1" in result.stdout


@pytest.mark.playbook
def test_too_many_voters_pinned_is_refused_before_validation(playbook, tmp_path):
    def pin_votes(group):
        for i in range(4):
            group["hosts"]["extra%d.dc3.example" % i] = {"mongodb_datacenter": "dc3", "mongodb_votes": 1}

    result = playbook("playbooks/validate.yml", broken_copy(tmp_path, pin_votes))
    assert result.returncode != 0
    assert "rs_desired_config: 8 members are pinned as voters" in result.stdout


@pytest.mark.playbook
def test_warnings_can_fail_the_gate(playbook):
    inventory = os.path.join(ROOT, "inventories", "examples", "dr_passive")
    result = playbook("playbooks/validate.yml", inventory, "-e", "mongodb_fail_on_warnings=true")
    assert result.returncode != 0
    assert "warning: /members: [analysis.primary_domain_spof]" in result.stdout


@pytest.mark.playbook
def test_strict_gate_fails_when_a_datacenter_away_from_the_primary_holds_the_majority(playbook, tmp_path):
    """Issue 12 item 3: the preferred primary in dc1 and 3 of 5 votes in dc2 passed the strict gate."""
    def move_the_tie_breaker_to_dc2(group):
        group["hosts"]["db1.dc3.example"]["mongodb_datacenter"] = "dc2"

    result = playbook("playbooks/validate.yml", broken_copy(tmp_path, move_the_tie_breaker_to_dc2),
                      "-e", "mongodb_fail_on_warnings=true")
    assert result.returncode != 0
    assert ("warning: /members: [analysis.domain_loss_no_primary] losing dc dc2 leaves 2 of 3 required votes"
            in result.stdout), result.stdout
    assert "failed=1" in result.stdout


@pytest.mark.playbook
def test_two_inventory_hosts_with_one_address_fail_as_a_task_naming_both(playbook, tmp_path):
    """Issue 12 item 10: the failure was "listed twice (inventory hosts 0 and 1)" inside
    "Finalization of task args ... filter plugin failed"."""
    def give_two_hosts_one_address(group):
        group["hosts"]["db2.dc1.example"]["mongodb_host"] = "db1.dc1.example"

    result = playbook("playbooks/validate.yml", broken_copy(tmp_path, give_two_hosts_one_address))
    assert result.returncode != 0
    assert "Finalization" not in result.stdout and "filter plugin" not in result.stdout, result.stdout
    assert re.search(r'failed: \[localhost\] \(item=orders\) => .*"msg": "replica set orders: inventory hosts db1\.dc1\.example '
                     r'and db2\.dc1\.example both have the address db1\.dc1\.example:27017.*give each inventory host its '
                     r'own mongodb_host or mongodb_port', result.stdout), result.stdout


@pytest.mark.playbook
def test_rs_validate_module_cases(playbook, tmp_path):
    (tmp_path / "bad.yml").write_text("_id: rs0\nmembers: [ {_id: 0, host: a\n")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "typo.json").write_text('{"_id": "rs0", "version": 1, "members": [{"_id": 0, "host": "a:1", "priorty": 2}]}')
    (tmp_path / "latin1.yml").write_bytes(b"_id: r\xe9s\n")
    (tmp_path / "good.yml").write_text("_id: rs0\nversion: 1\nmembers:\n  - {_id: 0, host: 'a:1'}\n")
    result = playbook("tests/integration/files/rs_validate_cases.yml", "localhost,", "-e", "case_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout
    assert "ok=" in result.stdout and "failed=0" in result.stdout
