"""What the chaos runner and the benchmarks share for driving the collection from outside:
ansible-playbook with this checkout's collection, a play that records its module result as
JSON, and a replica set provisioned by playbooks/site.yml whose members are mongoemu processes
(their pids read from the pid files the mongod role writes, each checked to run that member's
directory before it is signalled)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mongoemu.cluster import free_loopback_address, hello, process_alive, state_from_hello

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def ansible_env() -> dict[str, str]:
    """The environment make sets for ansible-playbook: this checkout's collection and config."""
    env = dict(os.environ)
    env.update({"ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".venv" / "collections"),
                "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
                "PATH": str(BIN) + os.pathsep + env.get("PATH", "")})
    return env


def run_playbook(playbook: str | Path, inventory: str | Path, *extra: str,
                 timeout: float = 1200, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook from the repository root; ``playbook`` relative to it or absolute;
    ``env`` adds to ansible_env()."""
    return subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory),
                           str(ROOT / playbook), *extra], cwd=ROOT, env={**ansible_env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


def run_recorded(play: str | Path, variables: dict[str, Any], workdir: Path,
                 timeout: float = 600, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a play of tests/integration/files that writes its registered result to ``out``
    (passed with the variables); return that result, or a failure with the play's output."""
    stamp = time.monotonic_ns()
    out = workdir / f"result-{stamp}.json"
    path = workdir / f"vars-{stamp}.json"
    path.write_text(json.dumps({**variables, "out": str(out)}))
    proc = run_playbook(play, "localhost,", "-e", f"@{path}", timeout=timeout, env=env)
    if out.exists():
        return json.loads(out.read_text())
    return {"failed": True, "msg": "the play did not record a result:\n" + proc.stdout[-2000:]}


@dataclass
class InventoryMember:
    name: str
    address: str
    base_dir: Path
    paused: bool = False

    @property
    def pidfile(self) -> Path:
        return self.base_dir / "mongod.pid"

    def pid(self) -> int | None:
        """The pid in the pid file, if that process runs this member (its command line names
        the member's directory)."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            return None
        return pid if f"{self.base_dir}/".encode() in cmdline and process_alive(pid) else None


class ProvisionedSet:
    """Members declared in an inventory under ``root`` and provisioned by playbooks/site.yml
    (mongoemu as mongod_binary, no auth, no smoke check). ``members``: (name, datacenter,
    priority) in inventory order."""

    def __init__(self, root: Path, set_name: str, members: list[tuple[str, str, float]],
                 settings: dict[str, Any], group_vars: dict[str, Any] | None = None) -> None:
        self.root, self.set_name = root, set_name
        self.members: list[InventoryMember] = []
        hosts = {}
        for name, datacenter, priority in members:
            address = free_loopback_address(m.address for m in self.members)
            self.members.append(InventoryMember(name, address, root / name))
            host, port = address.rsplit(":", 1)
            hosts[name] = {"mongodb_host": host, "mongodb_port": int(port),
                           "mongodb_datacenter": datacenter, "mongodb_priority": priority,
                           "mongod_base_dir": str(root / name)}
        self.inventory = root / "hosts.yml"
        root.mkdir(parents=True, exist_ok=True)
        self.inventory.write_text(yaml.safe_dump({"all": {
            "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}",
                     "ansible_connection": "local"},
            "children": {f"rs_{set_name}": {"vars": {
                "mongodb_replset_name": set_name, "mongodb_replset_settings": settings,
                "mongodb_smoke_check": False, "mongod_binary": str(BIN / "mongoemu"),
                "mongod_install": False, "mongod_service_manager": "fork",
                **(group_vars or {})}, "hosts": hosts}}}}))

    @property
    def addresses(self) -> dict[str, str]:
        return {m.name: m.address for m in self.members}

    @property
    def uri(self) -> str:
        return ("mongodb://" + ",".join(m.address for m in self.members)
                + f"/?replicaSet={self.set_name}")

    def provision(self) -> None:
        self.playbook("playbooks/site.yml", check=True)

    def playbook(self, playbook: str, *extra: str,
                 check: bool = False) -> subprocess.CompletedProcess:
        """Run a playbook against this inventory; with ``check``, raise when it fails."""
        proc = run_playbook(playbook, self.inventory, *extra)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{playbook} failed:\n{proc.stdout[-3000:]}")
        return proc

    def member(self, name: str) -> InventoryMember:
        return next(m for m in self.members if m.name == name)

    def state(self, member: InventoryMember) -> str:
        try:
            return state_from_hello(hello(member.address, timeout=0.5))
        except OSError:
            return "DOWN"

    def primary(self) -> InventoryMember | None:
        return next((m for m in self.members if self.state(m) == "PRIMARY"), None)

    def kill9(self, member: InventoryMember) -> bool:
        """SIGKILL the member's process; False when it was not running."""
        pid = member.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        while process_alive(pid):
            time.sleep(0.02)
        member.paused = False
        return True

    def pause(self, member: InventoryMember) -> int | None:
        """SIGSTOP; returns the pid to resume (None when it was not running)."""
        pid = member.pid()
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)
            member.paused = True
        return pid

    @staticmethod
    def resume(member: InventoryMember, pid: int | None) -> None:
        if pid is not None and process_alive(pid):
            os.kill(pid, signal.SIGCONT)
        member.paused = False

    def start(self, member: InventoryMember) -> None:
        """Start the member from the mongod.conf the mongod role wrote (it forks and writes its
        pid file); its dbPath is created when an interrupted resync left none."""
        conf = yaml.safe_load((member.base_dir / "mongod.conf").read_text())
        Path(conf["storage"]["dbPath"]).mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "mongoemu"), "-f", str(member.base_dir / "mongod.conf")],
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """SIGCONT whatever is paused, SIGTERM every member, SIGKILL after 20 s."""
        pids = [p for p in (m.pid() for m in self.members) if p is not None]
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for pid in pids:
            while process_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
