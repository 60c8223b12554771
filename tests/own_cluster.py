"""A Ray cluster of a test's own beside the session's: `ray start --head` on free ports and its own temp dir
(../shared/cpu-stack.md, last section), stopped by killing only the processes that name its temp dir or ports.
Never `ray stop`: it stops every Ray process on the machine, the session's cluster included."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

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
    `cluster.address` for ray.init, `cluster.dashboard` for JobSubmissionClient.

    With `worker_types` (autoscaler node types: resources, min_workers, max_workers), the head runs Ray's
    autoscaler over its fake multi-node provider, the one Ray tests its own autoscaler with: it starts and stops
    worker nodes on this machine as the cluster's demand asks (its config built as
    `ray.cluster_utils.AutoscalingCluster` builds it, whose own start and shutdown run `ray stop`)."""

    def __init__(self, num_cpus: int, worker_types: Optional[dict] = None, idle_timeout_minutes: float = 0.1):
        self.num_cpus = num_cpus
        self.worker_types, self.idle_timeout_minutes = worker_types, idle_timeout_minutes
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
        env = self.env
        if self.worker_types is not None:
            config = self.temp_dir / "autoscaling.json"
            config.write_text(json.dumps(self._autoscaling_config()))
            cmd.append(f"--autoscaling-config={config}")
            env = {**env, "RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1"}
        started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        if started.returncode != 0:
            self.stop()
            raise RuntimeError(f"ray start failed: {started.stdout[-2000:]}{started.stderr[-2000:]}")
        self._wait_for_jobs_api()
        return self

    def _autoscaling_config(self) -> dict:
        """Ray's fake multi-node cluster config (fake_multi_node/example.yaml, which the wheel does not ship),
        its workers joining this head's GCS port rather than 6379."""
        head = {"resources": {"CPU": self.num_cpus}, "node_config": {}, "max_workers": 0}
        return {"cluster_name": f"fake-{self.temp_dir.name}",
                "max_workers": sum(t["max_workers"] for t in self.worker_types.values()),
                "provider": {"type": "fake_multinode", "use_node_id_as_ip": True, "disable_node_updaters": True,
                             "disable_launch_config_check": True, "gcs_address": self.address},
                "available_node_types": {"ray.head.default": head,
                                         **{k: {"node_config": {}, **v} for k, v in self.worker_types.items()}},
                "head_node_type": "ray.head.default", "auth": {}, "upscaling_speed": 1.0,
                "idle_timeout_minutes": self.idle_timeout_minutes, "docker": {}, "initialization_commands": [],
                "setup_commands": [], "head_setup_commands": [], "worker_setup_commands": [],
                "head_start_ray_commands": [], "worker_start_ray_commands": [], "file_mounts": {},
                "cluster_synced_files": [], "file_mounts_sync_continuously": False, "rsync_exclude": [],
                "rsync_filter": []}

    def worker_nodes(self) -> int:
        """How many worker nodes are alive now (the state API, through this cluster's dashboard)."""
        from ray.util.state import list_nodes

        nodes = list_nodes(address=self.dashboard, filters=[("state", "=", "ALIVE")], raise_on_missing_output=False)
        return sum(1 for n in nodes if not n.is_head_node)

    def actor_nodes(self) -> dict[str, list[str]]:
        """{actor class: ["head" or "worker", one per actor, dead ones included]} (the state API's actor table)."""
        from ray.util.state import list_actors, list_nodes

        heads = {n.node_id for n in list_nodes(address=self.dashboard, raise_on_missing_output=False)
                 if n.is_head_node}
        table: dict[str, list[str]] = {}
        for a in list_actors(address=self.dashboard, limit=10000, raise_on_missing_output=False):
            table.setdefault(a.class_name, []).append("head" if a.node_id in heads else "worker")
        return table

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
