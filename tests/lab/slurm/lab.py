"""Start, inspect and stop the lab's real Slurm 22.05 cluster.

``python -m tests.lab.slurm start|stop|status``. Everything lives in ``$DCOPS_LAB_DIR/slurm``
(default ``/tmp/dcops-lab/slurm``): the generated ``slurm.conf``/``gres.conf``/``slurmdbd.conf``,
munge key and socket, MariaDB data, StateSaveLocation, spool, logs (``log/``), pid files (``run/``)
and ``lab.json`` (ports and a JWT for slurmrestd, mode 600).

Daemons, in start order: munged (own key and socket), MariaDB (TCP on 127.0.0.1 only, for
slurmdbd), slurmdbd (so ``sacct`` works), slurmctld, one slurmd per node (``slurmd -N gpuNNN``),
slurmrestd (JWT, as ``nobody``). ``start`` first stops whatever an earlier run left (by pid file and
by the lab's environment marker) and starts from empty directories; ``stop`` cancels every job
(job processes outlive slurmd), stops each daemon by pid and removes the directory.

Client commands need ``SLURM_CONF`` pointing at the lab's slurm.conf: :attr:`SlurmLab.env`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import conf
from .procs import LabError, alive, kill_pids, owned_pids, read_pid, spawn, tail, wait_for

SBIN = Path("/usr/sbin")
DAEMONS = ("slurmrestd", "slurmctld", "slurmdbd", "mariadb", "munged")  # stop order (slurmds first)
CLIENT_TIMEOUT = 20.0


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR") or "/tmp/dcops-lab") / "slurm"


def node_names() -> list[str]:
    """The GPU nodes gpu[001-016]."""
    return [f"gpu{i:03d}" for i in range(1, conf.NODES + 1)]


def all_node_names() -> list[str]:
    """Every lab node: the GPU nodes and the irregularly named ones (partition ``irregular``)."""
    return node_names() + list(conf.IRREGULAR)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class SlurmLab:
    """A running lab cluster and the controls tests use on it."""

    directory: Path
    host: str
    ports: conf.Ports = field(default_factory=conf.Ports)
    token: str = ""

    # ---------------------------------------------------------------- paths and environment
    @property
    def conf_path(self) -> Path:
        return self.directory / "slurm.conf"

    @property
    def env(self) -> dict[str, str]:
        """Environment for Slurm client commands (and for dcops' ``[slurm] env``)."""
        return {"SLURM_CONF": str(self.conf_path)}

    @property
    def munge_socket(self) -> Path:
        return self.directory / "munge" / "munge.socket"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.slurmrestd}"

    def _pidfile(self, daemon: str) -> Path:
        return self.directory / "run" / f"lab-{daemon}.pid"

    def pid(self, daemon: str) -> int | None:
        return read_pid(self._pidfile(daemon))

    def _daemon_env(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", **self.env}

    def _spawn(self, daemon: str, argv: list[str], extra_env: dict[str, str] | None = None) -> int:
        proc = spawn(
            argv,
            env={**self._daemon_env(), **(extra_env or {})},
            log=self.directory / "log" / f"{daemon}.out",
            owner=str(self.directory),
        )
        self._pidfile(daemon).write_text(f"{proc.pid}\n")
        return proc.pid

    # ---------------------------------------------------------------- client commands
    def run(self, *argv: str, timeout: float = CLIENT_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against the lab; ``check`` raises LabError on failure."""
        try:
            res = subprocess.run(
                list(argv),
                env={**os.environ, **self.env},
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise LabError(f"{' '.join(argv)} did not finish within {timeout:g} s") from None
        if check and res.returncode != 0:
            raise LabError(f"{' '.join(argv)} failed ({res.returncode}): {res.stderr.strip()[-300:]}")
        return res

    def sbatch(self, *args: str, wrap: str = "sleep 600") -> str:
        """Submit a batch job; returns its id. Jobs run as root with a wrap command."""
        out = self.run("sbatch", "--parsable", "-o", "/dev/null", "-e", "/dev/null", *args, "--wrap", wrap).stdout
        return out.strip().split(";")[0]

    def job_state(self, job_id: str) -> str:
        return self.run("squeue", "-h", "-j", job_id, "-o", "%T", check=False).stdout.strip()

    def node(self, name: str) -> dict[str, str]:
        """A node's ``State`` (sinfo's StateComplete, upper case: IDLE+DRAIN) and ``Reason``, read
        with sinfo rather than ``scontrol -o show node`` (whose key=value line is ambiguous when a
        reason itself holds " State=")."""
        out = self.run("sinfo", "-h", "-N", "-n", name, "-O", "StateComplete:|,Reason:").stdout.splitlines()
        if not out:
            raise LabError(f"sinfo does not know node {name}")
        state, _, reason = out[0].partition("|")
        return {"State": state.strip().upper(), "Reason": "" if reason.strip() == "none" else reason.strip()}

    def wait_job(self, job_id: str, state: str, timeout: float = 30.0) -> None:
        wait_for(lambda: self.job_state(job_id) == state, timeout=timeout, what=f"job {job_id} to be {state}", poll=0.2)

    def wait_nodes_idle(self, timeout: float = 60.0) -> None:
        def idle() -> bool:
            out = self.run("sinfo", "-h", "-N", "-o", "%N %T", check=False).stdout.split("\n")
            states = dict(line.split() for line in out if line.strip())
            return len(states) == len(all_node_names()) and all(s == "idle" for s in states.values())

        wait_for(idle, timeout=timeout, what=f"all {len(all_node_names())} lab nodes to be idle", poll=0.3)

    def cancel_all(self) -> None:
        """Cancel every job and wait until none is left running (job processes outlive slurmd)."""
        self.run("scancel", "-u", "root", check=False, timeout=10)
        try:
            self.wait_no_jobs(timeout=20)
        except LabError:
            pass

    def wait_no_jobs(self, timeout: float = 30.0) -> None:
        wait_for(
            lambda: (
                not self.run("squeue", "-h", "-t", "PD,R,CG,S,CF", "-o", "%i", check=False, timeout=10).stdout.split()
            ),
            timeout=timeout,
            what="all lab jobs to end",
            poll=0.2,
        )

    def reset(self) -> None:
        """Between tests: slurmctld and every slurmd up, no jobs, every node idle with no reason."""
        if self.pid("slurmctld") is None:
            self.start_slurmctld()
        for name in all_node_names():
            if self.pid(f"slurmd-{name}") is None:
                self.start_slurmd(name)
        self.run("scancel", "-u", "root", check=False, timeout=10)
        self.wait_no_jobs()
        self.run("scontrol", "update", f"NodeName={conf.ALL_NODES}", "State=RESUME", check=False)
        self.run("scontrol", "update", f"NodeName={conf.IRREGULAR_NODES}", "State=RESUME", check=False)
        self.wait_nodes_idle()

    # ---------------------------------------------------------------- daemons (tests stop and start them)
    def start_slurmctld(self) -> None:
        self._spawn("slurmctld", [str(SBIN / "slurmctld"), "-D", "-f", str(self.conf_path)])
        wait_for(
            lambda: self.run("scontrol", "ping", check=False, timeout=10).stdout.count("UP") > 0,
            timeout=30,
            what=f"slurmctld to answer (log: {self.directory / 'log' / 'slurmctld.log'})",
            poll=0.2,
        )

    def stop_slurmctld(self) -> None:
        self._stop("slurmctld")

    def start_slurmd(self, name: str) -> None:
        self._spawn(f"slurmd-{name}", [str(SBIN / "slurmd"), "-D", "-N", name, "-f", str(self.conf_path)])

    def stop_slurmd(self, name: str) -> None:
        self._stop(f"slurmd-{name}")

    def _stop(self, daemon: str) -> None:
        pid = self.pid(daemon)
        if pid is not None:
            kill_pids([pid])
        self._pidfile(daemon).unlink(missing_ok=True)


# -------------------------------------------------------------------- start / stop / status


def _save(lab: SlurmLab) -> None:
    path = lab.directory / "lab.json"
    path.touch(mode=0o600)
    path.write_text(json.dumps({"host": lab.host, "token": lab.token, "ports": dataclasses.asdict(lab.ports)}))


def status() -> SlurmLab | None:
    d = lab_dir()
    try:
        info = json.loads((d / "lab.json").read_text())
    except (OSError, ValueError):
        return None
    lab = SlurmLab(
        directory=d, host=info["host"], token=info.get("token", ""), ports=conf.Ports(**info.get("ports", {}))
    )
    return lab if lab.pid("slurmctld") is not None else None


def stop() -> bool:
    """Cancel jobs, stop every daemon by pid, sweep marked leftovers, remove the directory."""
    d = lab_dir()
    if not d.exists():
        leftovers = owned_pids(str(d))  # a crashed run whose directory is gone
        kill_pids(leftovers)
        return bool(leftovers)
    lab = SlurmLab(directory=d, host=socket.gethostname().split(".")[0])
    running = lab.pid("slurmctld") is not None
    if running and (d / "slurm.conf").exists():
        lab.cancel_all()
    for name in all_node_names():
        pid = lab.pid(f"slurmd-{name}")
        if pid is not None:
            os.kill(pid, 15)
    kill_pids([p for n in all_node_names() if (p := lab.pid(f"slurmd-{n}")) is not None])
    for daemon in DAEMONS:
        pid = lab.pid(daemon)
        if pid is not None:
            kill_pids([pid], grace=15.0 if daemon == "mariadb" else 5.0)
    kill_pids(owned_pids(str(d)))  # slurmstepd, job processes of a crashed run
    shutil.rmtree(d, ignore_errors=True)
    return running


def _prepare(d: Path) -> None:
    for sub in ("state", "spool", "run", "log", "dev", "munge", "mysql"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)  # slurmrestd runs as nobody and reads slurm.conf
    for i in range(conf.GPUS):
        (d / "dev" / f"nvidia{i}").symlink_to("/dev/null")
    for name in all_node_names():
        (d / "spool" / name).mkdir()


def _start_munge(lab: SlurmLab) -> None:
    d = lab.directory / "munge"
    os.chmod(d, 0o755)
    key = d / "munge.key"
    subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    lab._spawn(
        "munged",
        [
            str(SBIN / "munged"),
            "-F",
            "-f",
            f"--key-file={key}",
            f"--socket={lab.munge_socket}",
            f"--pid-file={d / 'munged.pid'}",
            f"--log-file={d / 'munged.log'}",
            f"--seed-file={d / 'munged.seed'}",
        ],
    )
    wait_for(lambda: lab.munge_socket.exists(), timeout=15, what=f"munged's socket ({tail(d / 'munged.log')})")


def _start_mariadb(lab: SlurmLab) -> None:
    d = lab.directory / "mysql"
    init = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={d / 'data'}",
            "--user=root",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise LabError(f"mariadb-install-db failed: {(init.stderr or init.stdout).strip()[-300:]}")
    lab._spawn(
        "mariadb",
        [
            str(SBIN / "mariadbd"),
            "--no-defaults",
            f"--datadir={d / 'data'}",
            f"--socket={d / 'mysql.sock'}",
            f"--port={lab.ports.mariadb}",
            "--bind-address=127.0.0.1",
            f"--pid-file={d / 'mariadbd.pid'}",
            "--user=root",
            "--skip-grant-tables",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            f"--log-error={d / 'error.log'}",
        ],
    )
    wait_for(
        lambda: _port_open(lab.ports.mariadb),
        timeout=60,
        what=f"MariaDB on port {lab.ports.mariadb} ({tail(d / 'error.log')})",
    )


def _start_slurmdbd(lab: SlurmLab) -> None:
    lab._spawn("slurmdbd", [str(SBIN / "slurmdbd"), "-D"])
    wait_for(
        lambda: _port_open(lab.ports.slurmdbd),
        timeout=60,
        what=f"slurmdbd on port {lab.ports.slurmdbd} ({tail(lab.directory / 'log' / 'slurmdbd.log')})",
    )
    lab.run("sacctmgr", "-i", "add", "cluster", conf.CLUSTER, check=False, timeout=30)


def _start_slurmrestd(lab: SlurmLab) -> None:
    lab._spawn(
        "slurmrestd",
        [
            str(SBIN / "slurmrestd"),
            "-u",
            "nobody",
            "-g",
            "nogroup",
            "-a",
            "rest_auth/jwt",
            "-s",
            "openapi/v0.0.38",
            f"127.0.0.1:{lab.ports.slurmrestd}",
        ],
        extra_env={"SLURM_JWT": "daemon"},
    )
    wait_for(
        lambda: _port_open(lab.ports.slurmrestd),
        timeout=30,
        what=f"slurmrestd on port {lab.ports.slurmrestd} ({tail(lab.directory / 'log' / 'slurmrestd.out')})",
    )
    out = lab.run("scontrol", "token", "username=root", "lifespan=86400").stdout.strip()
    lab.token = out.split("=", 1)[1]


def _check_ports(ports: conf.Ports) -> None:
    wanted = [
        ports.slurmctld,
        ports.slurmdbd,
        ports.slurmrestd,
        ports.mariadb,
        *range(ports.slurmd_first, ports.slurmd_last + 1),
        *ports.slurmd_irregular,
    ]
    busy = [p for p in wanted if _port_open(p)]
    if busy:
        raise LabError(f"ports {busy} on 127.0.0.1 are in use by something else than this lab; free them first")


def start() -> SlurmLab:
    """A fresh cluster with every node idle; raises LabError (after cleaning up) if it cannot start."""
    for tool in ("slurmctld", "slurmd", "slurmdbd", "slurmrestd", "munged", "mariadbd"):
        if not (SBIN / tool).exists():
            raise LabError(
                f"{SBIN / tool} is missing: apt-get install slurm-wlm munge slurmdbd slurmrestd "
                "slurm-wlm-jwt-plugin mariadb-server"
            )
    stop()
    d = lab_dir()
    host = socket.gethostname().split(".")[0]
    lab = SlurmLab(directory=d, host=host, ports=conf.Ports.from_env())
    _check_ports(lab.ports)
    _prepare(d)
    for name, text in conf.render(d, host, lab.ports, lab.munge_socket).items():
        (d / name).write_text(text)
    os.chmod(d / "slurmdbd.conf", 0o600)
    (d / "jwt.key").write_bytes(os.urandom(32))
    os.chmod(d / "jwt.key", 0o600)
    try:
        _start_munge(lab)
        _start_mariadb(lab)
        _start_slurmdbd(lab)
        lab.start_slurmctld()
        for name in all_node_names():
            lab.start_slurmd(name)
        _start_slurmrestd(lab)
        _save(lab)
        lab.wait_nodes_idle()
    except BaseException as exc:
        detail = f"{exc} (slurmctld log: {tail(d / 'log' / 'slurmctld.log')})"
        stop()
        if isinstance(exc, LabError):
            raise LabError(detail) from None
        raise
    return lab


def is_alive(lab: SlurmLab) -> bool:
    return all(lab.pid(d) is not None for d in DAEMONS) and alive(lab.pid("slurmctld") or -1)
