"""Emulated members laid out as the mongod role lays out a member (mongod.conf, db/, mongod.pid),
so that playbooks which stop and start members through the role can drive them, and an
inventory that describes them."""
import os
import sys

import pytest
import yaml

from emuharness import STARTED_PIDS, Emu, pick_address, stop_pid

MONGOEMU = os.path.join(os.path.dirname(sys.executable), "mongoemu")


def member_conf(emu, replset, oplog_mb=None):
    replication = {"replSetName": replset}
    if oplog_mb:
        replication["oplogSizeMB"] = oplog_mb
    return {"net": {"port": emu.port, "bindIp": emu.host}, "storage": {"dbPath": str(emu.dbpath)},
            "systemLog": {"destination": "file", "path": str(emu.logpath), "logAppend": True},
            "processManagement": {"fork": True, "pidFilePath": str(emu.pidfile)},
            "replication": replication}


def current_pid(emu):
    """The pid in the member's pid file (a playbook may have restarted it); recorded for the safety net."""
    try:
        text = emu.pidfile.read_text().strip()
    except FileNotFoundError:
        return None
    if not text.isdigit():
        return None
    STARTED_PIDS.add(int(text))
    return int(text)


@pytest.fixture
def conf_member(tmp_path):
    """conf_member(name, replset, oplog_mb=None) -> a running member started with -f mongod.conf;
    every member, including the processes playbooks restarted, is stopped by pid afterwards."""
    started = []

    def start(name, replset, oplog_mb=None):
        host, port = pick_address()
        root = tmp_path / name
        emu = Emu(root=root, host=host, port=port, config_file=root / "mongod.conf")
        emu.config_file.write_text(yaml.safe_dump(member_conf(emu, replset, oplog_mb)))
        started.append(emu)
        emu.start()
        return emu
    yield start
    for emu in started:
        emu.close_clients()
        for pid in {emu.pid, current_pid(emu)} - {None}:
            stop_pid(pid)


def write_inventory(path, replset, members, **group_vars):
    """An inventory of one set: members {inventory name: Emu}, each run through the mongod role's paths."""
    hosts = {}
    for name, emu in members.items():
        hosts[name] = {"ansible_connection": "local", "mongodb_host": emu.host, "mongodb_port": emu.port,
                       "mongod_binary": MONGOEMU, "mongod_install": False, "mongod_service_manager": "fork",
                       "mongod_base_dir": str(emu.root), "mongod_dbpath": str(emu.dbpath),
                       "mongod_conf_path": str(emu.root / "mongod.conf"), "mongod_pid_path": str(emu.pidfile),
                       "mongod_log_path": str(emu.logpath), "mongod_start_timeout": 30, "mongod_stop_timeout": 30}
    group = {"vars": dict({"mongodb_replset_name": replset}, **group_vars), "hosts": hosts}
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "children": {"set_" + replset: group}}}))
    return path
