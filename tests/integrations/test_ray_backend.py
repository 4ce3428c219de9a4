"""`fairlead train --backend ray`: a local Ray instance or a cluster, the local backend's bytes, no Ray left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from integration_support import require  # tests/integrations/integration_support.py
from test_cli_runs import tree_digest

from fairlead.cli import main

pytestmark = pytest.mark.integration

RUN = [
    "train",
    "--env",
    "chicken_v0",
    "--max-cycles",
    "3",
    "--method",
    "jamql,catch-up",
    "--seeds",
    "2",
    "--episodes",
    "40",
    "--no-progress",
    "--jobs",
    "2",
]
RAY_DAEMONS = ("raylet", "gcs_server")


def ray_daemons() -> set[int]:
    """The pids of the Ray daemons running on this machine."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(f"/{daemon} " in text or text.startswith(f"{daemon} ") for daemon in RAY_DAEMONS):
            found.add(int(cmdline.parent.name))
    return found


def wait_gone(pids: set[int], seconds: float = 15) -> set[int]:
    deadline = time.monotonic() + seconds
    while pids & ray_daemons() and time.monotonic() < deadline:
        time.sleep(0.2)
    return pids & ray_daemons()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "run"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def test_a_local_ray_instance_gives_the_local_bytes_and_is_gone_after(local_run, tmp_path):
    require("ray")
    before = ray_daemons()
    assert main([*RUN, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    assert tree_digest(tmp_path / "ray") == tree_digest(local_run)
    assert wait_gone(ray_daemons() - before) == set(), "a Ray process outlived the command"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_ray_cluster_by_address_gives_the_local_bytes(local_run, tmp_path):
    require("ray")
    ray_cli = Path(sys.executable).parent / "ray"
    port = free_port()
    subprocess.run(
        [
            str(ray_cli),
            "start",
            "--head",
            "--num-cpus",
            "2",
            "--port",
            str(port),
            "--include-dashboard",
            "false",
            "--disable-usage-stats",
        ],
        check=True,
        capture_output=True,
    )
    try:
        assert main([*RUN, "--backend", "ray", "--address", f"127.0.0.1:{port}", "--out", str(tmp_path / "ray")]) == 0
        assert tree_digest(tmp_path / "ray") == tree_digest(local_run)
        assert ray_daemons(), "the run must only disconnect from a cluster it did not start"
    finally:
        subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True)


# Ctrl-C acts as in a terminal even where the test runs with SIGINT ignored (a background job inherits SIG_IGN).
CLI = """import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from fairlead.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_stops_the_ray_run_leaves_no_ray_process_and_the_run_resumes(local_run, tmp_path):
    require("ray")
    out = tmp_path / "ray"
    before = ray_daemons()
    config = tmp_path / "long.toml"  # long enough (seconds per pair) for Ctrl-C to arrive mid-run
    config.write_text("[training]\nepisodes = 4000\ncheckpoint_every = 100\nlog_every = 1000\n")
    args = [*RUN[:-5], "--config", str(config), "--no-progress", "--jobs", "2"]
    # the reference trainer, so the interrupt lands mid-run: the compiled engine finishes every pair (and
    # checkpoints only at its end) in milliseconds, and an interrupt as Ray completes tasks can crash Ray's core
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, *args, "--engine", "reference", "--backend", "ray", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(out.rglob("checkpoint.npz"))) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().endswith(f"fairlead: interrupted; continue with `fairlead train --resume {out}`")
    assert wait_gone(ray_daemons() - before) == set(), "a Ray process outlived the interrupted command"
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0  # the local backend finishes it
    whole = tmp_path / "whole"
    assert main([*args, "--out", str(whole)]) == 0
    assert tree_digest(out) == tree_digest(whole)


SWEEP = [
    "sweep",
    "--env",
    "chicken_v0",
    "--grid",
    "n_agents=2,3",
    "max_cycles=3",
    "--method",
    "jamql,fixed",
    "--seeds",
    "2",
    "--episodes",
    "30",
    "--no-progress",
    "--jobs",
    "2",
]


def test_a_sweep_on_ray_gives_the_local_sweeps_bytes_and_leaves_no_ray_behind(tmp_path):
    """Every cell trained through Ray (one local instance per cell) is the local sweep's cell, byte for byte."""
    require("ray")
    assert main([*SWEEP, "--out", str(tmp_path / "local")]) == 0
    before = ray_daemons()
    assert main([*SWEEP, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    for cell in ("n_agents-2_max_cycles-3", "n_agents-3_max_cycles-3"):
        assert tree_digest(tmp_path / "ray" / cell) == tree_digest(tmp_path / "local" / cell), cell
    assert (tmp_path / "ray" / "sweep.csv").read_bytes() == (tmp_path / "local" / "sweep.csv").read_bytes()
    assert wait_gone(ray_daemons() - before) == set(), "a Ray process outlived the command"


def process_table() -> dict[int, tuple[int, str, int]]:
    """``{pid: (parent pid, state, start time)}`` of every process (from /proc/PID/stat; a zombie's state is Z)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)", which may hold spaces
        except (OSError, IndexError):
            continue
        table[int(stat.parent.name)] = (int(fields[1]), fields[0], int(fields[19]))
    return table


def descendants(root: int) -> dict[int, int]:
    """``{pid: start time}`` of the living processes below ``root`` (the start time tells a reused pid apart)."""
    table, found, frontier = process_table(), {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state, start) in table.items():
            if ppid == parent and pid not in found and state != "Z":
                found[pid] = start
                frontier.append(pid)
    return found


def still_alive(processes: dict[int, int]) -> dict[int, str]:
    """``{pid: command line}`` of those of ``processes`` that still run (neither gone, nor a zombie, nor reused)."""
    table, alive = process_table(), {}
    for pid, start in processes.items():
        if pid in table and table[pid][1] != "Z" and table[pid][2] == start:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            alive[pid] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return alive


def test_kill_9_of_the_main_process_leaves_no_ray_process_behind(tmp_path):
    """kill -9 of the command mid-run: every process of its local Ray instance (the daemons, ``ray::DashboardAgent``,
    ``ray::RuntimeEnvAgent``, the workers) is gone within 30 s, though the command had no chance to stop it."""
    require("ray")
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads the process tree from /proc (Linux)")
    out = tmp_path / "ray"
    config = tmp_path / "long.toml"  # long enough (seconds per pair) for the kill to land mid-run
    config.write_text("[training]\nepisodes = 4000\ncheckpoint_every = 100\nlog_every = 1000\n")
    args = [*RUN[:-5], "--config", str(config), "--no-progress", "--jobs", "2"]
    with open(tmp_path / "stderr", "w") as err:  # a file, not a pipe: an orphan holding a pipe would hang the test
        proc = subprocess.Popen(
            [sys.executable, "-c", CLI, *args, "--engine", "reference", "--backend", "ray", "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    ray_processes: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 60
        while True:  # until the tasks train (a checkpoint each) and Ray's agents run
            ray_processes = descendants(proc.pid)
            agents = " ".join(still_alive(ray_processes).values())
            if (
                len(list(out.rglob("checkpoint.npz"))) >= 2
                and "ray::DashboardAgent" in agents
                and "ray::RuntimeEnvAgent" in agents
            ):
                break
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr").read_text()
            time.sleep(0.2)
        ray_processes = descendants(proc.pid)  # every process of the run's Ray instance, the agents included
        os.kill(proc.pid, signal.SIGKILL)  # the main process only
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while still_alive(ray_processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = still_alive(ray_processes)
        assert left == {}, f"{len(left)} Ray processes outlived the killed command by 30 s: {sorted(left.values())}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in still_alive(ray_processes):  # the test's own leftovers, were the assertion to fail
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    assert main(["train", "--resume", str(out), "--no-progress", "--jobs", "2"]) == 0  # resumes as after Ctrl-C
    whole = tmp_path / "whole"
    assert main([*args, "--out", str(whole)]) == 0
    assert tree_digest(out) == tree_digest(whole)
