"""The field lab: separate Debian 12 machines on this host, reached over SSH like real ones.

Each machine is a systemd-nspawn container booted with systemd as PID 1 from one Debian 12 root
(debootstrap, built once and cached by the hash of its recipe), mounted through overlayfs so that
every machine writes to its own layer. Machines get their own hostname, machine-id and SSH host
keys, and a network namespace of their own, linked by a veth pair to a bridge in the lab's network
namespace. The controller (ansible-playbook, pytest, molecule) runs inside that lab namespace
(`fieldlab.py exec`) and reaches each machine only by its address over SSH, as the user `quorum`
with sudo behind a password; members are never reached through the controller's loopback.

The lab also serves a signed apt repository (lab/packages.py) on the bridge: packages named like
MongoDB's (mongodb-org, mongodb-org-server, ...) in the 7.0 and 8.0 series that install mongoemu as
/usr/bin/mongod. Nothing in the lab reaches outside this host: the machines have no route out.

    python3 lab/fieldlab.py start --state .lab --machines 4     # boots m1..m4, writes .lab/inventory.yml
    python3 lab/fieldlab.py exec --state .lab -- ansible-playbook -i .lab/inventory.yml ...
    python3 lab/fieldlab.py stop --state .lab                   # machines, mounts, namespaces, server

Everything started is stopped by pid or by the names this lab gave it (namespaces ql-<lab>*), and
`stop` checks that nothing is left. Runs as root (namespaces, mounts, nspawn).
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import packages  # noqa: E402  (lab/packages.py: the signed apt repository)

CACHE = Path(os.environ.get("QUORUM_LAB_CACHE", "/var/cache/quorum-lab"))
SUITE = "bookworm"
MIRROR = os.environ.get("QUORUM_LAB_MIRROR", "http://deb.debian.org/debian")
# What a member host has before Ansible touches it: a minimal Debian 12 server with systemd, sshd,
# sudo, Python 3 and python3-apt (what Ansible needs on a Debian host; cloud images have both; the apt module
# would install python3-apt itself from a Debian mirror, which the lab does not reach). No pymongo, no MongoDB.
ROOT_PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "sudo",
                 "ca-certificates", "gpg", "procps", "libpam-systemd", "python3-apt"]
LAB_USER = "quorum"
HOST_TOOLS = {"debootstrap": "debootstrap", "systemd-nspawn": "systemd-container", "ip": "iproute2",
              "apt-ftparchive": "apt-utils", "gpg": "gpg", "ssh": "openssh-client", "dpkg-deb": "dpkg"}
REPO_PORT = 8080
BOOT_TIMEOUT = 180  # a few seconds on a quiet machine; much longer when the 2 cores are saturated


def run(*argv: str, check: bool = True, capture: bool = False, **kwargs) -> subprocess.CompletedProcess:
    if capture:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(list(argv), check=check, text=True, **kwargs)


def install_host_tools() -> None:
    """Debian packages the lab needs on this host (apt-get, as the README promises)."""
    def missing() -> list[str]:
        return sorted({pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None})

    if not missing():
        return
    if os.geteuid() != 0:
        raise SystemExit("the field lab needs root and these Debian packages: %s" % " ".join(missing()))
    # two labs starting together (make test runs two field scenarios at once) install one at a time:
    # apt-get refuses to run while another holds its lock
    with cache_lock("host-tools"):
        if not missing():
            return
        print("fieldlab: installing %s with apt-get" % " ".join(missing()), flush=True)
        wait = ("-o", "DPkg::Lock::Timeout=300")  # and waits for an apt-get started by someone else
        run("apt-get", *wait, "update", "-qq")
        run("apt-get", *wait, "install", "-y", "-qq", *missing(),
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


@contextlib.contextmanager
def cache_lock(name: str):
    """One builder at a time for a cached artefact (tests and `make lab` may start together)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / (name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def recipe_hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:12]


def base_root() -> Path:
    """The cached Debian 12 root, built with debootstrap when its recipe changed (about a minute)."""
    recipe = [SUITE, MIRROR, ROOT_PACKAGES, LAB_USER, (HERE / "fieldlab.py").read_text().split("# -- root recipe")[1]
              .split("# -- end of root recipe")[0]]
    target = CACHE / ("root-" + recipe_hash(recipe))
    if (target / ".complete").exists():
        return target
    with cache_lock("root"):
        if (target / ".complete").exists():
            return target
        print("fieldlab: building the Debian 12 root %s (debootstrap, about a minute)" % target.name, flush=True)
        building = Path(tempfile.mkdtemp(prefix="root-build-", dir=CACHE))
        run("debootstrap", "--variant=minbase", "--include=" + ",".join(ROOT_PACKAGES), SUITE, str(building),
            MIRROR, stdout=subprocess.DEVNULL)
        customise_root(building)
        (building / ".complete").write_text("built %s\n" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        for old in CACHE.glob("root-*"):  # a running lab's machines may still sit on one of the last day's
            if old.is_dir() and old != building and time.time() - old.stat().st_mtime > 86400:
                shutil.rmtree(old, ignore_errors=True)
        building.rename(target)
    return target


# -- root recipe (its text is part of the cache key)
def customise_root(root: Path) -> None:
    """A member host as a cloud image gives it: a sudo user reached by SSH key, sudo asking for a
    password (the inventory's become password), no host keys or machine-id of its own yet (each
    machine makes its own), and no apt source that the lab cannot reach."""
    chroot = ["chroot", str(root)]
    run(*chroot, "useradd", "--create-home", "--shell", "/bin/bash", "--groups", "sudo", LAB_USER)
    run(*chroot, "chpasswd", input="%s:%s\n" % (LAB_USER, packages.LAB_BECOME_PASSWORD))
    sshd = root / "etc/ssh/sshd_config.d/lab.conf"
    sshd.write_text("PasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/machine-id").write_text("")
    (root / "etc/apt/sources.list").write_text("# the field lab reaches no mirror; see lab/fieldlab.py\n")
    # sshd must create its host keys before it starts (ssh-keygen -A at machine creation does it)
    (root / "etc/systemd/system/multi-user.target.wants").mkdir(parents=True, exist_ok=True)
    (root / "etc/securetty").unlink(missing_ok=True)
# -- end of root recipe


@dataclass
class Machine:
    name: str
    address: str
    netns: str
    pid: int = 0          # the systemd-nspawn process
    leader: int = 0       # the container's PID 1 (systemd)

    def alive(self) -> bool:
        return self.pid > 0 and _pid_alive(self.pid)


@dataclass
class Lab:
    """A lab's state, kept in <state>/lab.json so that another process can stop it."""
    name: str
    state: str
    subnet: str = "10.78.0"
    machines: dict[str, Machine] = field(default_factory=dict)
    server_pid: int = 0
    repo: str = ""

    @property
    def netns(self) -> str:
        return "ql-%s" % self.name

    @property
    def gateway(self) -> str:
        return "%s.1" % self.subnet

    @property
    def repo_url(self) -> str:
        return "http://%s:%d" % (self.gateway, REPO_PORT)

    @property
    def dir(self) -> Path:
        return Path(self.state)

    def save(self) -> None:
        data = asdict(self)
        data["machines"] = {name: asdict(m) for name, m in self.machines.items()}
        (self.dir / "lab.json").write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, state: str) -> "Lab | None":
        path = Path(state) / "lab.json"
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["machines"] = {name: Machine(**m) for name, m in data["machines"].items()}
        return cls(**data)


def _pid_alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _inside(netns: str) -> bool:
    """Whether this process already runs in that network namespace (started by `exec`)."""
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/run/netns/%s" % netns).st_ino
    except FileNotFoundError:
        return False


def netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


def clear_stale(lab: Lab) -> None:
    """What a lab of this name left when its driver died before `stop` (its state file is gone or its
    machines are not running): the namespaces it named ql-<name>* and the overlay mounts under its
    directory. Only called when no machine of this lab runs."""
    with open("/proc/self/mounts") as mounts:
        stale = [line.split()[1] for line in mounts if line.split()[1].startswith(str(lab.dir / "machines") + "/")]
    for mount in sorted(stale, reverse=True):
        run("umount", mount, check=False)
    for ns in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
        if ns == lab.netns or ns.startswith(lab.netns + "-"):
            run("ip", "netns", "delete", ns, check=False)


def ensure_lab_network(lab: Lab) -> None:
    """The lab namespace with its bridge (the controller's address is the bridge's)."""
    if netns_exists(lab.netns):
        return
    run("ip", "netns", "add", lab.netns)
    ns = ["ip", "-n", lab.netns]
    run(*ns, "link", "set", "lo", "up")
    run(*ns, "link", "add", "br0", "type", "bridge")
    run(*ns, "addr", "add", lab.gateway + "/24", "dev", "br0")
    run(*ns, "link", "set", "br0", "up")


def machine_root(lab: Lab, name: str) -> Path:
    return lab.dir / "machines" / name / "root"


def create_machine(lab: Lab, base: Path, name: str, index: int) -> Machine:
    """An overlay of the base root with this machine's identity, and its network namespace."""
    machine = Machine(name=name, address="%s.%d" % (lab.subnet, 10 + index), netns="%s-%s" % (lab.netns, name))
    top = lab.dir / "machines" / name
    root, upper, work = top / "root", top / "upper", top / "work"
    for path in (root, upper, work):
        path.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(root):
        run("mount", "-t", "overlay", "overlay", "-o",
            "lowerdir=%s,upperdir=%s,workdir=%s" % (base, upper, work), str(root))
    (root / "etc/hostname").write_text(name + "\n")
    if not (root / "etc/machine-id").read_text().strip():
        (root / "etc/machine-id").write_text(hashlib.md5(os.urandom(16)).hexdigest() + "\n")
    if not list((root / "etc/ssh").glob("ssh_host_*_key")):
        run("ssh-keygen", "-A", "-f", str(root), stdout=subprocess.DEVNULL)
    hosts = ["127.0.0.1 localhost", "127.0.1.1 %s" % name, "%s controller" % lab.gateway]
    hosts += ["%s.%d %s" % (lab.subnet, 10 + i, other) for i, other in enumerate(sorted_names(lab, name), start=1)]
    (root / "etc/hosts").write_text("\n".join(hosts) + "\n")
    ssh_dir = root / "home" / LAB_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text((lab.dir / "id_ed25519.pub").read_text())
    uid_gid = _owner(root / "home" / LAB_USER)
    for path in (ssh_dir, ssh_dir / "authorized_keys"):
        os.chown(path, *uid_gid)
    os.chmod(ssh_dir / "authorized_keys", 0o600)
    if not netns_exists(machine.netns):
        run("ip", "netns", "add", machine.netns)
        run("ip", "-n", lab.netns, "link", "add", "v" + name, "type", "veth", "peer", "name", "eth0",
            "netns", machine.netns)
        run("ip", "-n", lab.netns, "link", "set", "v" + name, "master", "br0", "up")
        ns = ["ip", "-n", machine.netns]
        run(*ns, "link", "set", "lo", "up")
        run(*ns, "addr", "add", machine.address + "/24", "dev", "eth0")
        run(*ns, "link", "set", "eth0", "up")
        run(*ns, "route", "add", "default", "via", lab.gateway)
    return machine


def sorted_names(lab: Lab, extra: str) -> list[str]:
    return sorted(set(lab.machines) | {extra}, key=lambda n: (len(n), n))


def _owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


def boot(lab: Lab, machine: Machine) -> None:
    """Boot the machine (systemd as PID 1) and wait until systemd says it is up and sshd listens."""
    log = open(lab.dir / "machines" / machine.name / "console.log", "a")
    process = subprocess.Popen(
        ["systemd-nspawn", "--quiet", "--directory", str(machine_root(lab, machine.name)), "--boot",
         "--register=no", "--keep-unit", "--console=passive", "--machine", "%s-%s" % (lab.name, machine.name),
         "--network-namespace-path=/run/netns/%s" % machine.netns],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    machine.pid = process.pid
    lab.save()  # from here on, stop() finds it
    try:
        _await_boot(lab, machine, process, log.name)
    except BaseException:
        poweroff(lab, machine.name, timeout=10)
        raise


def _await_boot(lab: Lab, machine: Machine, process: subprocess.Popen, log: str) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("machine %s stopped while booting (exit %s); see %s" % (
                machine.name, process.returncode, log))
        # nspawn's first child is a short-lived helper; the container's PID 1 is the child that runs systemd
        machine.leader = _child_pid(process.pid) if _comm(_child_pid(process.pid)) == "systemd" else 0
        if machine.leader:
            state = run("nsenter", "-t", str(machine.leader), "-a", "systemctl", "is-system-running",
                        check=False, capture=True).stdout.strip()
            if state in ("running", "degraded") and _port_open(lab, machine.address, 22):
                if state == "degraded":
                    failed = run("nsenter", "-t", str(machine.leader), "-a", "systemctl", "--failed",
                                 "--no-legend", check=False, capture=True).stdout.strip()
                    print("fieldlab: %s booted degraded: %s" % (machine.name, failed), flush=True)
                return
        time.sleep(0.2)
    raise RuntimeError("machine %s did not boot within %d s (systemd: %r, sshd %s); see %s" % (
        machine.name, BOOT_TIMEOUT, state, "listening" if _port_open(lab, machine.address, 22) else "not listening",
        log))


def _comm(pid: int) -> str:
    try:
        return Path("/proc/%d/comm" % pid).read_text().strip() if pid else ""
    except FileNotFoundError:
        return ""


def _child_pid(pid: int) -> int:
    try:
        children = Path("/proc/%d/task/%d/children" % (pid, pid)).read_text().split()
    except FileNotFoundError:
        return 0
    return int(children[0]) if children else 0


def _port_open(lab: Lab, address: str, port: int) -> bool:
    probe = run("nsenter", "--net=/run/netns/%s" % lab.netns, "bash", "-c",
                "exec 3<>/dev/tcp/%s/%d" % (address, port), check=False, capture=True)
    return probe.returncode == 0


def start(state: str, count: int, name: str = "lab", subnet: str = "10.78.0") -> Lab:
    """Start `count` machines m1..mN (those not running yet), the repository server, and write the
    controller's files: SSH key, known_hosts, inventory.yml, lab.json."""
    install_host_tools()
    Path(state).mkdir(parents=True, exist_ok=True)
    lab = Lab.load(state) or Lab(name=name, state=str(Path(state).resolve()), subnet=subnet)
    if not any(machine.alive() for machine in lab.machines.values()) and not _inside(lab.netns):
        clear_stale(lab)
        lab.machines, lab.server_pid = {}, 0
    key = lab.dir / "id_ed25519"
    if not key.exists():
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "quorum-field-lab", "-f", str(key))
    base = base_root()
    lab.repo = str(packages.repository())
    ensure_lab_network(lab)
    if not (lab.server_pid and _pid_alive(lab.server_pid)):
        lab.server_pid = serve_repository(lab)
    lab.save()
    for index in range(1, count + 1):
        add_machine(lab, base, "m%d" % index, index)
    write_controller_files(lab)
    return lab


def add_machine(lab: Lab, base: Path, name: str, index: int) -> Machine:
    machine = lab.machines.get(name)
    if machine and machine.alive():
        return machine
    machine = create_machine(lab, base, name, index)
    lab.machines[name] = machine
    lab.save()
    boot(lab, machine)  # one after another: four at once once left one machine degraded here
    lab.save()
    return machine


def serve_repository(lab: Lab) -> int:
    log = open(lab.dir / "repository.log", "a")
    server = subprocess.Popen(
        ["nsenter", "--net=/run/netns/%s" % lab.netns, sys.executable, "-m", "http.server", "--bind", lab.gateway,
         "--directory", lab.repo, str(REPO_PORT)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while not _port_open(lab, lab.gateway, REPO_PORT):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the lab's repository server did not start; see %s" % log.name)
        time.sleep(0.1)
    return server.pid


def write_controller_files(lab: Lab) -> None:
    """known_hosts from each machine's own host key (strict checking stays on), and an inventory
    of the machines with the SSH and become settings a real inventory would carry."""
    lines = []
    for machine in lab.machines.values():
        pub = (machine_root(lab, machine.name) / "etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        lines.append("%s %s %s" % (machine.address, pub[0], pub[1]))
    (lab.dir / "known_hosts").write_text("\n".join(lines) + "\n")
    inventory = {"all": {"vars": controller_vars(lab), "hosts": {
        name: {"ansible_host": m.address} for name, m in lab.machines.items()}}}
    (lab.dir / "inventory.json").write_text(json.dumps(inventory, indent=2))


def controller_vars(lab: Lab) -> dict:
    """What an inventory needs to reach the lab's machines and its package repository."""
    return {
        "ansible_user": LAB_USER,
        "ansible_ssh_private_key_file": str(lab.dir / "id_ed25519"),
        "ansible_ssh_common_args": "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes" % (lab.dir / "known_hosts"),
        "ansible_become": True,
        "ansible_become_password": packages.LAB_BECOME_PASSWORD,
        "ansible_python_interpreter": "/usr/bin/python3",
        "mongod_apt_repository_url": lab.repo_url + "/apt/debian",
        "mongod_apt_key_url": lab.repo_url + "/server-{{ mongod_version }}.asc",
    }


def poweroff(lab: Lab, name: str, timeout: float = 30) -> None:
    """Shut the machine down cleanly (systemd stops its units), then kill nspawn if it hangs."""
    machine = lab.machines[name]
    if machine.alive() and machine.leader:
        run("nsenter", "-t", str(machine.leader), "-a", "systemctl", "poweroff", check=False, capture=True)
    _wait_gone(machine.pid, timeout)
    machine.pid = machine.leader = 0
    lab.save()


def kill_machine(lab: Lab, name: str) -> None:
    """Pull the plug: the machine's processes die at once (SIGKILL to nspawn's container)."""
    machine = lab.machines[name]
    if machine.alive():
        os.kill(machine.pid, signal.SIGKILL)
        _wait_gone(machine.pid, 10)
    machine.pid = machine.leader = 0
    lab.save()


def start_machine(lab: Lab, name: str) -> None:
    """Boot a machine that was powered off or killed (its disk layer kept)."""
    index = int(name.lstrip("m")) if name.lstrip("m").isdigit() else len(lab.machines) + 1
    add_machine(lab, base_root(), name, index)
    write_controller_files(lab)


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid and _pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline += 10
        time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(state: str) -> list[str]:
    """Stop everything the lab started; return what is still left (empty when clean)."""
    lab = Lab.load(state)
    if lab is None:
        return []
    for name in list(lab.machines):
        poweroff(lab, name, timeout=20)
    for name, machine in lab.machines.items():
        root = machine_root(lab, name)
        if os.path.ismount(root):
            run("umount", str(root), check=False)
        if netns_exists(machine.netns):
            run("ip", "netns", "delete", machine.netns, check=False)
    if lab.server_pid and _pid_alive(lab.server_pid):
        os.kill(lab.server_pid, signal.SIGTERM)
        _wait_gone(lab.server_pid, 5)
    if netns_exists(lab.netns):
        run("ip", "netns", "delete", lab.netns, check=False)
    shutil.rmtree(lab.dir / "machines", ignore_errors=True)
    leftovers = leftovers_of(lab)
    if not leftovers:
        (lab.dir / "lab.json").unlink(missing_ok=True)
    return leftovers


def leftovers_of(lab: Lab) -> list[str]:
    """Processes, mounts and namespaces of this lab that still exist."""
    left = ["namespace " + ns for ns in ([lab.netns] + [m.netns for m in lab.machines.values()]) if netns_exists(ns)]
    left += ["process %d (%s)" % (m.pid, m.name) for m in lab.machines.values() if m.alive()]
    if lab.server_pid and _pid_alive(lab.server_pid):
        left.append("process %d (repository server)" % lab.server_pid)
    with open("/proc/self/mounts") as mounts:
        left += ["mount " + line.split()[1] for line in mounts if line.split()[1].startswith(str(lab.dir) + "/")]
    return left


def exec_in_lab(state: str, command: list[str], name: str = "lab", subnet: str = "10.78.0") -> int:
    """Run a command as the controller: inside the lab's network namespace (created if needed, and
    deleted afterwards if this call created it and no machine is left in it)."""
    Path(state).mkdir(parents=True, exist_ok=True)
    install_host_tools()
    base_root()              # built out here: inside the lab namespace nothing outside is reachable
    packages.repository()
    lab = Lab.load(state) or Lab(name=name, state=str(Path(state).resolve()), subnet=subnet)
    if not any(machine.alive() for machine in lab.machines.values()):
        clear_stale(lab)
    created = not netns_exists(lab.netns)
    ensure_lab_network(lab)
    try:
        return subprocess.run(["nsenter", "--net=/run/netns/%s" % lab.netns, *command], check=False).returncode
    finally:
        after = Lab.load(state)
        if created and not (after and any(m.alive() for m in after.machines.values())) and netns_exists(lab.netns):
            run("ip", "netns", "delete", lab.netns, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--state", default=".lab", help="the lab's directory (keys, inventory, machine layers)")
    parser.add_argument("--name", default="lab", help="names the lab's namespaces ql-<name>*; at most 6 characters")
    parser.add_argument("--subnet", default="10.78.0", help="the bridge's /24 inside the lab namespace")
    sub = parser.add_subparsers(dest="command", required=True)
    start_cmd = sub.add_parser("start", help="start machines m1..mN (and the package repository)")
    start_cmd.add_argument("--machines", type=int, default=4)
    sub.add_parser("stop", help="stop everything and check that nothing is left")
    for verb in ("poweroff", "kill", "boot"):
        sub.add_parser(verb, help="%s one machine" % verb).add_argument("machine")
    sub.add_parser("status", help="the lab's machines as JSON")
    sub.add_parser("build", help="build (or reuse) the cached root and the package repository")
    exec_cmd = sub.add_parser("exec", help="run a command inside the lab's network namespace (the controller)")
    exec_cmd.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if len(args.name) > 6:
        parser.error("--name: at most 6 characters (interface names are short)")
    if args.command == "start":
        lab = start(args.state, args.machines, args.name, args.subnet)
        print("fieldlab: %d machines up (%s); inventory %s/inventory.json" % (
            len(lab.machines), ", ".join("%s %s" % (n, m.address) for n, m in lab.machines.items()), lab.state))
    elif args.command == "stop":
        left = stop(args.state)
        if left:
            print("fieldlab: still left: %s" % "; ".join(left), file=sys.stderr)
            return 1
        print("fieldlab: stopped; no process, mount or namespace left")
    elif args.command in ("poweroff", "kill", "boot"):
        lab = Lab.load(args.state)
        if lab is None or args.machine not in lab.machines and args.command != "boot":
            parser.error("no machine %s in the lab at %s" % (args.machine, args.state))
        {"poweroff": poweroff, "kill": kill_machine, "boot": start_machine}[args.command](lab, args.machine)
    elif args.command == "status":
        lab = Lab.load(args.state)
        print(json.dumps({n: {"address": m.address, "running": m.alive()} for n, m in (lab.machines if lab else {}).items()}))
    elif args.command == "build":
        install_host_tools()
        print("root %s; repository %s" % (base_root(), packages.repository()))
    elif args.command == "exec":
        command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return exec_in_lab(args.state, command, args.name, args.subnet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
