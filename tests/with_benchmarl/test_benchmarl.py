"""BenchMARL trains MAPPO on a mediated fairlead scenario through `fairlead.benchmarl_task`, logging fairness.

BenchMARL pins an older TorchRL than the `integrations` extra, so it has its own venv and CI step
(`.ci/benchmarl`); elsewhere these tests skip.
"""

import csv
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
pytest.importorskip("benchmarl", reason="BenchMARL is not installed (run .ci/benchmarl)")

from benchmarl.algorithms import MappoConfig  # noqa: E402
from benchmarl.experiment import Experiment, ExperimentConfig  # noqa: E402
from benchmarl.models.mlp import MlpConfig  # noqa: E402

import fairlead  # noqa: E402
from fairlead.benchmarl_task import FairleadTask  # noqa: E402


def tiny_config(folder: Path, iterations: int) -> ExperimentConfig:
    config = ExperimentConfig.get_from_yaml()
    config.loggers, config.render, config.create_json, config.save_folder = ["csv"], False, False, str(folder)
    config.max_n_iters, config.max_n_frames = iterations, None
    config.on_policy_collected_frames_per_batch, config.on_policy_n_envs_per_worker = 400, 2
    config.on_policy_minibatch_size, config.on_policy_n_minibatch_iters = 100, 2
    config.evaluation = False
    return config


def scalars(folder: Path, name: str) -> list[float]:
    (path,) = folder.rglob(f"scalars/{name}.csv")
    with open(path, newline="") as file:
        return [float(row[1]) for row in csv.reader(file)]


def test_mappo_trains_on_mediated_chicken_4p_and_logs_fairness_before_transfer(tmp_path):
    task = FairleadTask.scenario("chicken-4p", selector="catch_up", transfer=0.5)
    experiment = Experiment(
        task=task,
        algorithm_config=MappoConfig.get_from_yaml(),
        model_config=MlpConfig.get_from_yaml(),
        critic_model_config=MlpConfig.get_from_yaml(),
        seed=0,
        config=tiny_config(tmp_path, iterations=2),
    )
    experiment.run()
    fair, total = scalars(tmp_path, "collection_fairness"), scalars(tmp_path, "collection_total_return")
    assert len(fair) == len(total) == 2  # one point per iteration
    assert all(0 < f <= 1 for f in fair)
    assert all(0 < t <= 4 * 10 * 4 for t in total)  # 4 players, 10 stages, at most 4 a stage each
    env = task.get_env_fun(1, False, 0, "cpu")()
    assert env.group_map == {"player": [f"player_{i}" for i in range(4)]}
    state = env.reset()["state"]  # the global state, for MAPPO's centralised critic
    assert state.shape == task.state_spec(env)["state"].shape and state.shape[-1] > 4


def test_the_task_refuses_an_unknown_scenario_before_benchmarl_sees_it():
    with pytest.raises(ValueError, match="chicken-5p"):
        FairleadTask.scenario("chicken-5p")
    assert fairlead.make("chicken-4p").unwrapped.max_cycles == 10


def test_the_benchmarl_page_block_runs(tmp_path, monkeypatch):
    """docs/libraries/benchmarl.md's Python block, as written (the default suite skips it: no BenchMARL there)."""
    page = Path(__file__).resolve().parents[2] / "docs" / "libraries" / "benchmarl.md"
    (code,) = [block.split("\n```", 1)[0] for block in page.read_text().split("```python\n")[1:]]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(page), "exec"), {"__name__": "docs_benchmarl"})
    assert len(scalars(tmp_path, "collection_fairness")) == 2


def test_the_example_beats_random_play_in_its_own_budget(tmp_path):
    """examples/benchmarl_chicken.py: the fairness curve is logged and MAPPO ends above random play."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "benchmarl_chicken.py"
    spec = importlib.util.spec_from_file_location("benchmarl_chicken", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.train(folder=str(tmp_path))
    assert len(result["fairness"]) == len(result["total_return"]) == 40
    last = slice(-5, None)
    assert min(result["total_return"][last]) > result["random"]["total_return"]
    assert min(result["fairness"][last]) > result["random"]["fairness"]
