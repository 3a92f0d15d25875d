"""quorum.mongodb.member_host: the one read the mongod role makes of a member's files, process and
port, and from which it decides which file tasks to run. What it reports must equal what the file,
copy and template tasks would leave (mode, owner, SHA-1 content), or the role would skip a write."""
import grp
import hashlib
import json
import os
import pwd
import socket
import subprocess
import sys

from ansible_collections.quorum.mongodb.plugins.modules import member_host


def test_a_file_reports_its_type_mode_owner_group_and_sha1(tmp_path):
    path = tmp_path / "keyfile"
    path.write_bytes(b"k" * 40)
    path.chmod(0o400)
    seen = member_host.read_path(str(path))
    assert seen == {"exists": True, "type": "file", "mode": "0400",
                    "owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name,
                    "checksum": hashlib.sha1(b"k" * 40).hexdigest()}


def test_a_directory_is_followed_through_a_link_a_file_link_is_a_link_and_nothing_is_nothing(tmp_path):
    (tmp_path / "data").mkdir(mode=0o750)
    (tmp_path / "data").chmod(0o750)
    (tmp_path / "dbpath").symlink_to(tmp_path / "data")
    (tmp_path / "conf").write_text("net: {}\n")
    (tmp_path / "conf.link").symlink_to(tmp_path / "conf")
    assert member_host.read_path(str(tmp_path / "dbpath"))["type"] == "directory"
    assert member_host.read_path(str(tmp_path / "dbpath"))["mode"] == "0750"
    assert member_host.read_path(str(tmp_path / "conf.link"))["type"] == "link"
    assert member_host.read_path(str(tmp_path / "conf.link"))["checksum"] is None
    assert member_host.read_path(str(tmp_path / "missing")) == {
        "exists": False, "type": None, "mode": None, "owner": None, "group": None, "checksum": None}


def test_the_running_pid_is_a_live_process_not_a_zombie_nor_garbage(tmp_path):
    pid_file = tmp_path / "mongod.pid"
    assert member_host.running_pid(str(pid_file)) == ""  # no pid file
    pid_file.write_text("%d\n" % os.getpid())
    assert member_host.running_pid(str(pid_file)) == str(os.getpid())
    pid_file.write_text("not a pid\n")
    assert member_host.running_pid(str(pid_file)) == ""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
        pid_file.write_text("%d\n" % child.pid)
        assert member_host.running_pid(str(pid_file)) == ""
    finally:
        child.wait()
    assert member_host.running_pid(str(pid_file)) == ""  # reaped: gone


def test_listening_is_a_tcp_connection_accepted_on_host_port_ipv6_too():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert member_host.accepts("127.0.0.1:%d" % port, 1.0) is True
    assert member_host.accepts("127.0.0.1:%d" % port, 1.0) is False  # closed
    assert member_host.split_address("[::1]:27017") == ("::1", 27017)
    assert member_host.split_address("::1:27017") == ("::1", 27017)  # the role passes bindIp's first entry as is
    try:
        member_host.split_address("db1.example.net")
    except ValueError as exc:
        assert "host:port" in str(exc)
    else:
        raise AssertionError("an address without a port was accepted")


def test_a_secret_files_checksum_is_compared_never_returned(tmp_path):
    """The keyFile: the role passes the SHA-1 it wants (a no_log option) and gets back only whether it matches;
    the module's output (printed with -v) holds no checksum of it, and the expected value is masked too."""
    key = tmp_path / "keyfile"
    key.write_bytes(b"s" * 60)
    key.chmod(0o400)
    conf = tmp_path / "mongod.conf"
    conf.write_bytes(b"net: {}\n")
    digest = hashlib.sha1(b"s" * 60).hexdigest()
    seen = member_host.read_path(str(key), digest)
    assert seen["checksum"] is None and seen["checksum_matches"] is True
    assert member_host.read_path(str(key), "0" * 40)["checksum_matches"] is False
    assert member_host.read_path(str(tmp_path / "missing"), digest)["checksum_matches"] is False
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {
        "paths": [str(key), str(conf)], "expected_checksums": {str(key): digest}}}))
    run = subprocess.run([sys.executable, member_host.__file__, str(args)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    output = json.loads(run.stdout)
    assert output["paths"][str(key)]["checksum_matches"] is True, run.stdout + run.stderr
    assert output["paths"][str(conf)]["checksum"] == hashlib.sha1(b"net: {}\n").hexdigest()  # not a secret
    assert digest not in run.stdout + run.stderr
