"""Shards of a run (`train --shard i/n`) merge into the whole run, byte for byte; local workers fit the CPUs given."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from support import tree_digest

from fairlead.cli import main
from fairlead.experiments import runs
from fairlead.experiments.comparison import ReportError, read_run
from fairlead.experiments.spec import RunSpec, load_spec
from fairlead.trainers.config import HyperParams, TrainingConfig

RUN = [
    "--env",
    "chicken_v0",
    "--max-cycles",
    "3",
    "--method",
    "jamql,catch-up,fixed",
    "--seeds",
    "2",
    "--episodes",
    "30",
    "--no-progress",
    "--jobs",
    "1",
]
TINY = HyperParams(
    training=TrainingConfig(episodes=20, eval_episodes=2, log_every=10, curve_episodes=1, checkpoint_every=10)
)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert main(["train", *RUN, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    for i in range(4):
        assert main(["train", *RUN, "--shard", f"{i}/4", "--out", str(folder / f"s{i}")]) == 0
    return [folder / f"s{i}" for i in range(4)]


def test_merged_shards_are_the_whole_run_byte_for_byte(whole, shards, tmp_path, capsys):
    pairs = [(m, s) for m in ("jamql", "catch-up", "fixed") for s in (0, 1)]
    for i, shard in enumerate(shards):  # shard i trains every 4th pair from the i-th, and only those
        trained = sorted((p.parent.name, int(p.name.removeprefix("seed_"))) for p in shard.glob("*/seed_*"))
        assert trained == sorted(pairs[i::4])
        assert json.loads((shard / "run.json").read_text())["shard"] == [i, 4]
    capsys.readouterr()
    assert main(["merge", *map(str, reversed(shards)), "--out", str(tmp_path / "merged")]) == 0
    assert "| jamql | 2 |" in capsys.readouterr().out
    assert tree_digest(tmp_path / "merged") == tree_digest(whole)


@pytest.mark.parametrize(
    "pick, message",
    [
        (lambda s, w: s[:3], "the shards do not make one whole run: 0/4; 1/4; 2/4 given, 3/4 missing"),
        (lambda s, w: [*s, s[1]], "are both shard 1/4; give each once"),
        (lambda s, w: [*s, w], "is not a shard of a run"),
    ],
)
def test_merge_refuses_shards_that_do_not_make_one_run_and_writes_nothing(
    whole, shards, tmp_path, capsys, pick, message
):
    assert main(["merge", *map(str, pick(shards, whole)), "--out", str(tmp_path / "merged")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "merged").exists()


def test_merge_refuses_shards_of_another_run_and_an_unfinished_shard(shards, tmp_path, capsys):
    other = tmp_path / "other"
    assert main(["train", *RUN, "--episodes", "20", "--shard", "3/4", "--out", str(other)]) == 0  # last wins
    assert main(["merge", *map(str, shards[:3]), str(other), "--out", str(tmp_path / "m1")]) == 2
    assert (
        "are shards of different runs (training.episodes (--episodes or --config): recorded 30, asked 20)"
        in capsys.readouterr().err
    )
    unfinished = tmp_path / "unfinished"
    assert main(["train", *RUN, "--shard", "3/4", "--out", str(unfinished)]) == 0
    next(unfinished.glob("*/seed_*/result.json")).unlink()
    assert main(["merge", *map(str, shards[:3]), str(unfinished), "--out", str(tmp_path / "m2")]) == 2
    assert f"shard 3/4 in {unfinished} is not finished" in capsys.readouterr().err
    assert not (tmp_path / "m1").exists() and not (tmp_path / "m2").exists()


def test_a_shard_resumes_as_itself_and_does_not_grow_or_get_reported(shards, tmp_path, capsys):
    shard = shards[2]
    before = tree_digest(shard)
    assert main(["train", "--resume", str(shard), "--no-progress"]) == 0  # its recorded shard
    assert tree_digest(shard) == before
    assert main(["train", "--out", str(shard), "--method", "alternating", "--no-progress"]) == 2
    assert "a shard does not grow" in capsys.readouterr().err
    assert main(["train", "--out", str(shard), "--shard", "1/4", "--no-progress"]) == 2
    assert "holds shard 2/4 of a run; continue it with --shard 2/4" in capsys.readouterr().err
    assert main(["eval", str(shard)]) == 2 and "merge the shards" in capsys.readouterr().err
    with pytest.raises(ReportError, match="holds shard 2/4 of a run; merge the shards"):
        read_run(shard)
    assert tree_digest(shard) == before


@pytest.mark.parametrize("text", ["4/4", "a/b", "1", "-1/2"])
def test_a_bad_shard_is_refused(text, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", *RUN, f"--shard={text}", "--out", str(tmp_path / "o")])
    assert "expected i/n with 0 <= i < n" in capsys.readouterr().err


def test_a_shard_without_pairs_is_refused(tmp_path, capsys):
    assert main(["train", *RUN, "--shard", "6/7", "--out", str(tmp_path / "o")]) == 2
    assert "has none; use fewer shards" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_the_default_workers_are_the_cpus_this_process_may_use():
    code = (
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
        "from fairlead.experiments.workers import usable_cpus; print(usable_cpus(), os.cpu_count())"
    )
    used, machine = map(int, subprocess.check_output([sys.executable, "-c", code], text=True).split())
    assert used == 1 and machine >= 1


def test_spawned_workers_give_the_bytes_of_forked_ones(whole, tmp_path):
    """macOS and Windows start workers by spawn: the run must not depend on the fork's copy of the parent."""
    spec = load_spec(whole)
    runs.run(spec, tmp_path / "spawned", jobs=2, progress=False, start_method="spawn")
    assert tree_digest(tmp_path / "spawned") == tree_digest(whole)


def test_spawned_workers_import_user_selectors_and_learners_from_their_files(tmp_path):
    (tmp_path / "mine.py").write_text(
        "from fairlead.mediation import Selector\n"
        "from fairlead.trainers.qlearning import TabularQLearner\n\n\n"
        "class Last(Selector):\n"
        "    def select(self, view):\n"
        "        return view.agents[-1]\n\n\n"
        "class Greedy(TabularQLearner):\n"
        "    def begin_episode(self, episode):\n"
        "        self.epsilon = 0.0\n"
    )
    (tmp_path / "mine.toml").write_text('selector = "mine.py:Last"\nlearner = "mine.py:Greedy"\n')
    spec = RunSpec("chicken_v0", {"max_cycles": 3}, ("fixed", str(tmp_path / "mine.toml")), (0, 1), TINY)
    for method in ("fork", "spawn"):
        runs.run(spec, tmp_path / method, jobs=2, progress=False, start_method=method)
    assert tree_digest(tmp_path / "fork") == tree_digest(tmp_path / "spawn")
    assert "| mine | 2 |" in (tmp_path / "spawn" / "summary.md").read_text()


def test_a_ray_address_without_the_ray_backend_and_a_missing_ray_are_refused_before_anything_is_written(
    tmp_path, capsys
):
    assert main(["train", *RUN, "--address", "127.0.0.1:6379", "--out", str(tmp_path / "a")]) == 2
    assert "--address names a Ray cluster: use it with --backend ray" in capsys.readouterr().err
    if importlib.util.find_spec("ray") is None:
        assert main(["train", *RUN, "--backend", "ray", "--out", str(tmp_path / "b")]) == 2
        assert (
            'the Ray backend needs Ray, which is not installed: pip install "fairlead[ray]"' in capsys.readouterr().err
        )
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
