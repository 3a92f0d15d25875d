"""Verify the field scenario on the machines themselves, over SSH with sudo (testinfra through Ansible).

After the side effect, dc1 (m1, m2) is powered off; the survivors m3 (data), m4 (arbiter) and m5 (data,
joined by reconfig.yml) are checked: each member is a systemd unit running as mongodb, its files are
owned by mongodb with the modes mongod requires, mongod listens on the machine's address and 127.0.0.1
only, the installed package is the pinned version, held, and nothing answers without authentication.
Expectations are plain values from the scenario's inventory.

Each machine is read once (one script through Ansible: the inventory's connection settings are
templated and sudo gets the become password, as on real hosts); the tests assert on what it printed.
"""
import functools
import os

import testinfra

INVENTORY = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
SURVIVORS = ["m3", "m4", "m5"]
ADDRESSES = {"m3": "10.78.1.13", "m4": "10.78.1.14", "m5": "10.78.1.15"}
PINNED = "7.0.14"   # mongod_package_version in inventory/hosts.yml
UNIT = "mongod-27017"

# listDatabases over the machine's address without credentials and without TLS, in plain Python (the
# machine has no pymongo): an OP_MSG of {listDatabases: 1, $db: "admin"}. TLS is required, so the member
# closes the connection ('no TLS'); an answer other than Unauthorized would be a hole.
PROBE = """import socket, struct
doc = bytes.fromhex('27000000106c697374446174616261736573000100000002246462000600000061646d696e0000')
s = socket.create_connection(('%s', 27017), 5)
body = struct.pack('<I', 0) + bytes(1) + doc
s.sendall(struct.pack('<iiii', 16 + len(body), 1, 0, 2013) + body)
head = s.recv(4)
if len(head) < 4:
    print('no-TLS-refused')
else:
    n = struct.unpack('<i', head)[0]
    data = b''
    while len(data) < n - 4:
        data += s.recv(n - 4 - len(data))
    print('refused' if b'Unauthorized' in data else 'answered')
"""

READ = """set -u
base=/var/lib/mongodb-quorum/{address}-27017
echo "unit $(systemctl show {unit} --property=User --property=ActiveState --property=UnitFileState --value | tr '\\n' ' ')"
echo "process $(ps -o user= -p "$(systemctl show {unit} --property=MainPID --value)")"
for path in keyfile mongod.conf data; do echo "file $path $(stat -c '%U %G %a %F' "$base/$path")"; done
ss -Htln 'sport = :27017' | awk '{{print "listen", $4}}'
for name in mongodb-org mongodb-org-server; do echo "package $name $(dpkg-query -W -f='${{Version}} ${{Status}}' $name)"; done
echo "mongod $(/usr/bin/mongod --version | head -n 1)"
echo "identity $(hostname) $(cat /etc/machine-id) $(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2)"
echo "unauthenticated $(python3 -c "exec(bytes.fromhex('{probe}').decode())")"
"""


@functools.lru_cache(maxsize=None)
def read(name):
    """{kind: [rest of each line]} of what READ printed on machine `name`."""
    host = testinfra.get_host("ansible://%s?force_ansible=True" % name, ansible_inventory=INVENTORY)
    address = ADDRESSES[name]
    output = host.check_output(READ.format(address=address, unit=UNIT, probe=(PROBE % address).encode().hex()))
    lines = {}
    for line in output.splitlines():
        kind, _sep, rest = line.partition(" ")
        lines.setdefault(kind, []).append(rest)
    return lines


def test_every_member_is_an_enabled_unit_running_as_mongodb():
    for name in SURVIVORS:
        assert read(name)["unit"] == ["mongodb active enabled "], name
        assert read(name)["process"] == ["mongodb"], name


def test_files_are_owned_by_mongodb_with_the_modes_mongod_requires():
    for name in SURVIVORS:
        assert sorted(read(name)["file"]) == [
            "data mongodb mongodb 750 directory",
            "keyfile mongodb mongodb 400 regular file",
            "mongod.conf mongodb mongodb 640 regular file"], name


def test_mongod_listens_on_the_machines_address_and_loopback_only():
    for name in SURVIVORS:
        assert sorted(read(name)["listen"]) == sorted(["%s:27017" % ADDRESSES[name], "127.0.0.1:27017"]), name


def test_the_pinned_package_version_is_installed_and_held():
    for name in SURVIVORS:
        assert sorted(read(name)["package"]) == [
            "mongodb-org %s hold ok installed" % PINNED, "mongodb-org-server %s hold ok installed" % PINNED], name
        assert read(name)["mongod"] == ["db version v%s" % PINNED], name


def test_no_data_member_answers_a_plain_connection():
    """TLS is required: a plain connection to the machine's address is closed before any command is
    answered (the arbiter holds no users and is not asked; auth itself is checked by the playbooks,
    which log in as the administrator)."""
    for name in ("m3", "m5"):
        assert read(name)["unauthenticated"] == ["no-TLS-refused"], name


def test_machines_are_separate_hosts():
    """Each machine has its own hostname, machine-id and SSH host key (copies of one root would share them)."""
    identities = [read(name)["identity"][0].split() for name in SURVIVORS]
    assert [identity[0] for identity in identities] == SURVIVORS
    for position in (1, 2):
        assert len(set(identity[position] for identity in identities)) == len(SURVIVORS), identities
