"""A Ray cluster of a test's own beside the session's: `ray start --head` on free ports and its own temp dir
(../shared/cpu-stack.md, last section), stopped by killing only the processes that name its temp dir or ports.
Never `ray stop`: it stops every Ray process on the machine, the session's cluster included."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

PORT_FLAGS = ("--port", "--dashboard-port", "--dashboard-agent-listen-port", "--metrics-export-port",
              "--ray-client-server-port", "--runtime-env-agent-port", "--dashboard-agent-grpc-port",
              "--node-manager-port", "--object-manager-port")


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class OwnCluster:
    """`with OwnCluster(num_cpus=2) as cluster:` a head node with the dashboard (the Jobs API);
    `cluster.address` for ray.init, `cluster.dashboard` for JobSubmissionClient."""

    def __init__(self, num_cpus: int):
        self.num_cpus = num_cpus
        # short and its own: Ray's socket paths under it must stay within 107 bytes (a pytest tmp_path is too long)
        self.temp_dir = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))
        self.ports = dict(zip(PORT_FLAGS, _free_ports(len(PORT_FLAGS))))
        self.address = f"127.0.0.1:{self.ports['--port']}"
        self.dashboard = f"http://127.0.0.1:{self.ports['--dashboard-port']}"
        self.env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                    "RAY_AUTH_MODE": "disabled"}
        self.env.pop("RAY_ADDRESS", None)

    def __enter__(self) -> "OwnCluster":
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        cmd = [str(Path(sys.executable).parent / "ray"), "start", "--head", f"--num-cpus={self.num_cpus}",
               f"--temp-dir={self.temp_dir}", "--disable-usage-stats", "--include-dashboard=true",
               "--dashboard-host=127.0.0.1", *(f"{flag}={port}" for flag, port in self.ports.items())]
        started = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=180)
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed: {started.stdout[-2000:]}{started.stderr[-2000:]}")
        self._wait_for_jobs_api()
        return self

    def _wait_for_jobs_api(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.dashboard}/api/version", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the Jobs API at {self.dashboard} did not answer within {timeout:.0f}s")

    def __exit__(self, *exc) -> None:
        self.stop()

    def processes(self) -> list[psutil.Process]:
        """This cluster's processes: those whose command line names its temp dir, one of its ports or its GCS
        address (the dashboard and runtime-env agents included), and their children (a job's driver); never
        another cluster's."""
        marks = [str(self.temp_dir), self.address, *(f"{flag}={port}" for flag, port in self.ports.items())]
        mine: dict[int, psutil.Process] = {}
        for proc in psutil.process_iter(["pid", "cmdline"]):
            line = " ".join(proc.info.get("cmdline") or [])
            if proc.pid != os.getpid() and any(m in line for m in marks):
                mine[proc.pid] = proc
                try:
                    mine.update({c.pid: c for c in proc.children(recursive=True)})
                except psutil.Error:
                    pass
        mine.pop(os.getpid(), None)
        return list(mine.values())

    def stop(self) -> None:
        procs = self.processes()
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=30)
        shutil.rmtree(self.temp_dir, ignore_errors=True)
