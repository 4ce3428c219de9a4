"""Users' own methods: method files anywhere, user selector classes, entry points; runs record and recheck them."""

import csv
import itertools
import json
from importlib.metadata import EntryPoint

import pytest
from support import listed

from fairlead.cli import main
from fairlead.experiments.spec import RunSpec
from fairlead.trainers import config
from fairlead.trainers.config import HyperParams, get_method
from fairlead.trainers.jamql import Trainer

SMALL = ["--env", "chicken_v0", "--max-cycles", "3", "--episodes", "30", "--seeds", "2", "--jobs", "1", "--no-progress"]
LEAST_LED = '''
from fairlead.mediation import Selector


class LeastLed(Selector):
    """The player that has led least so far leads; ties go to the lowest index."""

    def select(self, view):
        return min(view.agents, key=view.leaders.count)
'''
# alternating's keys with the user selector: on 2 players least-led is round robin, so the numbers must be the same
METHOD = 'description = "least led so far leads"\nselector = "{selector}"\nagent_history = ["unfair_leads"]\n'
_modules = itertools.count()


def train(out, method: str) -> int:
    return main(["train", *SMALL, "--method", method, "--out", str(out)])


def rows(path) -> dict:
    with open(path) as f:
        return {(r.pop("method"), r["seed"]): r for r in csv.DictReader(f)}


@pytest.fixture
def user(tmp_path):
    """A user's folder outside the package: least_led.py and least-led.toml (selector given by file)."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "least_led.py").write_text(LEAST_LED)
    (folder / "least-led.toml").write_text(METHOD.format(selector="least_led.py:LeastLed"))
    return folder


def test_a_user_method_file_trains_beside_jamql_resumes_and_evaluates(tmp_path, user, capsys, monkeypatch):
    monkeypatch.chdir(user.parent)
    out = tmp_path / "run"
    assert train(out, "jamql,./mine/least-led.toml,alternating") == 0
    assert "| least-led | 2 |" in capsys.readouterr().out
    assert "| least-led | 2 |" in (out / "summary.md").read_text()
    metrics = rows(out / "metrics.csv")
    assert {m for m, _ in metrics} == {"jamql", "least-led", "alternating"}
    for seed in ("0", "1"):  # least-led is round robin on 2 players: the user selector really chose the leaders
        assert metrics["least-led", seed] == metrics["alternating", seed]
    assert metrics["least-led", "0"]["leader_share_player_0"] == str(2 / 3)
    source = json.loads((out / "run.json").read_text())["methods"]["least-led"]["source"]
    assert source["file"] == str(user / "least-led.toml")
    assert source["selector"] == f"{user / 'least_led.py'}:LeastLed" and source["selector_file"] == str(
        user / "least_led.py"
    )
    assert len(source["sha256"]) == len(source["selector_sha256"]) == 64
    assert "source" not in json.loads((out / "run.json").read_text())["methods"]["jamql"]  # built-ins keep their record

    (tmp_path / "copy").mkdir()  # the same method from another file is another run
    for name in ("least_led.py", "least-led.toml"):
        (tmp_path / "copy" / name).write_text((user / name).read_text())
    assert main(["train", "--resume", str(out), "--method", "jamql,copy/least-led.toml,alternating"]) == 2
    assert (
        f"methods.least-led.source.file (--method): recorded '{user}/least-led.toml', "
        f"asked '{tmp_path}/copy/least-led.toml'"
    ) in capsys.readouterr().err

    monkeypatch.chdir(tmp_path)  # the run finds the method file again from anywhere
    (out / "metrics.csv").unlink()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert rows(out / "metrics.csv") == metrics
    assert main(["eval", str(out), "--no-progress"]) == 0
    assert "| least-led | 2 |" in capsys.readouterr().out
    assert {m for m, _ in rows(out / "eval.csv")} == {"jamql", "least-led", "alternating"}


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda user: (user / "least-led.toml").write_text(
                METHOD.format(selector="least_led.py:LeastLed") + "history = ['leaders']\n"
            ),
            "method 'least-led' changed: the content of {user}/least-led.toml",
        ),  # told before it is read
        (
            lambda user: (user / "least_led.py").write_text(LEAST_LED + "# edited\n"),
            "method 'least-led' changed: the selector's source file {user}/least_led.py",
        ),
        (
            lambda user: (user / "least-led.toml").unlink(),
            "method 'least-led' of {out} was read from {user}/least-led.toml, which is gone",
        ),
    ],
)
def test_a_changed_or_lost_user_method_is_refused_by_resume_and_eval(tmp_path, user, capsys, change, message):
    out = tmp_path / "run"
    assert train(out, str(user / "least-led.toml")) == 0
    (out / "least-led" / "seed_1" / "result.json").unlink()  # an unfinished seed for the resume
    change(user)
    before = sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*"))
    capsys.readouterr()
    for command in (["train", "--resume", str(out)], ["eval", str(out)]):
        assert main([*command, "--no-progress"]) == 2
        assert message.format(user=user, out=out) in capsys.readouterr().err
    assert sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*")) == before


@pytest.mark.parametrize(
    "files, method, message",
    [
        (
            {"m.toml": 'selector = "least_led.py:LeastLed"\ncolour = 1\n'},
            "m.toml",
            "unknown keys ['colour']; valid keys:",
        ),
        (
            {"m.toml": 'selector = "gone.py:LeastLed"\n'},
            "m.toml",
            "cannot import selector '{user}/gone.py:LeastLed': FileNotFoundError",
        ),
        (
            {"m.toml": 'selector = "no_such_module_xyz:C"\n'},
            "m.toml",
            "cannot import selector 'no_such_module_xyz:C': ModuleNotFoundError: No module named 'no_such_module_xyz'",
        ),
        ({"m.toml": 'selector = "least_led.py:LeastLd"\n'}, "m.toml", "{user}/least_led.py has no attribute 'LeastLd'"),
        (
            {"m.toml": 'selector = "leastled"\n'},
            "m.toml",
            "unknown selector 'leastled'; valid selectors: vector_mediator, mediator, fixed, round_robin",
        ),
        (
            {
                "m.toml": 'selector = "s.py:NoSelect"\n',
                "s.py": "class NoSelect:\n    def reset(self, agents, rng):\n        pass\n",
            },
            "m.toml",
            "selector class '{user}/s.py:NoSelect' does not define select; the selector protocol is reset(agents, "
            "rng) and select(view)",
        ),
        (
            {
                "m.toml": 'selector = "s.py:Base"\n',
                "s.py": "from fairlead.mediation import Selector\nclass Base(Selector):\n    pass\n",
            },
            "m.toml",
            "does not define select",
        ),
        (
            {"m.toml": 'selector = "s.py:X"\n', "s.py": "X = 3\n"},
            "m.toml",
            "selector '{user}/s.py:X' is not a class but 3",
        ),
        (
            {"m.toml": 'selector = "s.py:X"\n', "s.py": "def broken(:\n"},
            "m.toml",
            "cannot import selector '{user}/s.py:X': SyntaxError: invalid syntax (s.py, line 1)",
        ),
        (
            {"m.toml": 'selector = "least_led.py:LeastLed"\n[selector_kwargs]\nn = 1\n'},
            "m.toml",
            "cannot be built with [selector_kwargs] {{'n': 1}}: TypeError",
        ),
        (
            {"catch-up.toml": 'selector = "least_led.py:LeastLed"\n'},
            "catch-up.toml",
            "its name 'catch-up' (the file's stem) is a built-in method's; rename the file",
        ),
        (
            {"d/least-led.toml": 'selector = "../least_led.py:LeastLed"\n'},
            "./least-led.toml,{user}/d/least-led.toml",
            "{user}/least-led.toml and {user}/d/least-led.toml both define method 'least-led'",
        ),
    ],
)
def test_a_bad_user_method_is_refused_with_its_path_before_anything_is_written(
    tmp_path, user, capsys, monkeypatch, files, method, message
):
    for name, text in files.items():
        (user / name).parent.mkdir(exist_ok=True)
        (user / name).write_text(text)
    monkeypatch.chdir(user)
    assert train(tmp_path / "run", method.format(user=user)) == 2
    err = capsys.readouterr().err
    assert message.format(user=user) in err
    assert str(user / method.split(",")[0]) in err
    assert not (tmp_path / "run").exists()


def test_each_trainer_builds_its_own_user_selector_with_the_method_kwargs(tmp_path, monkeypatch):
    name = f"user_selectors_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(
        "from fairlead.mediation import Selector\n\nbuilt = []\n\n\nclass Fixed(Selector):\n"
        "    def __init__(self, leader='player_0'):\n        self.leader = leader\n        built.append(self)\n\n"
        "    def select(self, view):\n        return self.leader\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    (tmp_path / "p1.toml").write_text(f'selector = "{name}:Fixed"\n[selector_kwargs]\nleader = "player_1"\n')
    method = get_method(tmp_path / "p1.toml")
    assert method.source["selector"] == f"{name}:Fixed"
    built = __import__(name).built
    first, second = (Trainer("chicken_v0", {"max_cycles": 3}, method, HyperParams(), seed) for seed in (0, 1))
    assert len(built) == 3 and built[1] is not built[2]  # one checked at load time, then one per trainer
    assert all(s.leader == "player_1" for s in built)
    assert first.evaluate(1)[0].leaders == (1, 1, 1)


# ------------------------------------------------------------------ entry points
@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """An installed package's entry points, without installing it: a method, a selector, and broken ones."""
    package = f"fairlead_plugin_{next(_modules)}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text(
        "from pathlib import Path\n\nLEAST_LED = Path(__file__).with_name('least-led.toml')\n"
        "USES = Path(__file__).with_name('uses-broken.toml')\n" + LEAST_LED
    )
    (tmp_path / package / "least-led.toml").write_text(METHOD.format(selector="least_led"))
    (tmp_path / package / "uses-broken.toml").write_text('selector = "broken_selector"\n')
    monkeypatch.syspath_prepend(tmp_path)
    groups = {
        config.METHOD_GROUP: {
            "ep-least-led": f"{package}:LEAST_LED",
            "broken": "no_such_plugin_xyz:METHOD",
            "uses-broken": f"{package}:USES",
            "fixed": f"{package}:LEAST_LED",
        },
        config.SELECTOR_GROUP: {"least_led": f"{package}:LeastLed", "broken_selector": "no_such_plugin_xyz:Cls"},
    }

    def entry_points(group):
        return [EntryPoint(name=n, value=v, group=group) for n, v in groups.get(group, {}).items()]

    monkeypatch.setattr(config, "entry_points", entry_points)
    return tmp_path / package


def test_entry_point_methods_and_selectors_train_resume_and_evaluate(tmp_path, plugins, capsys):
    out = tmp_path / "run"
    assert train(out, "ep-least-led,alternating") == 0
    metrics = rows(out / "metrics.csv")
    assert metrics["ep-least-led", "1"] == metrics["alternating", "1"]
    source = json.loads((out / "run.json").read_text())["methods"]["ep-least-led"]["source"]
    assert source["entry_point"].endswith(":LEAST_LED") and source["selector"].endswith(":LeastLed")
    assert source["selector_file"] == str(plugins / "__init__.py") and "file" not in source
    (out / "summary.md").unlink()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert main(["eval", str(out), "--no-progress"]) == 0
    assert "| ep-least-led | 2 |" in capsys.readouterr().out
    (plugins / "least-led.toml").write_text(METHOD.format(selector="least_led") + "# edited\n")
    assert main(["eval", str(out), "--no-progress"]) == 2
    assert f"method 'ep-least-led' changed: the content of {source['entry_point']}" in capsys.readouterr().err


def test_a_broken_entry_point_breaks_only_what_uses_it(tmp_path, plugins, capsys):
    assert main(["list", "methods"]) == 0
    text = capsys.readouterr().out
    plugin_rows = listed(text[text.index("methods of installed packages") :])
    assert plugin_rows["ep-least-led"] == "least led so far leads"
    assert plugin_rows["broken"].startswith(
        "UNUSABLE: method 'broken' (entry point 'no_such_plugin_xyz:METHOD' of "
        "fairlead.methods) cannot be loaded: ModuleNotFoundError"
    )
    assert plugin_rows["uses-broken"].startswith(
        f"UNUSABLE: method file {plugins / 'uses-broken.toml'}: cannot import selector 'no_such_plugin_xyz:Cls'"
    )
    assert plugin_rows["fixed"].startswith("UNUSABLE: an entry point with a built-in method's name")
    assert main(["list"]) == 0
    assert train(tmp_path / "run", "fixed,catch-up") == 0  # the built-in fixed, untouched by the entry point
    capsys.readouterr()
    for method in ("broken", "uses-broken"):
        assert train(tmp_path / method, method) == 2
        assert "no_such_plugin_xyz" in capsys.readouterr().err
        assert not (tmp_path / method).exists()


def test_runs_of_built_in_methods_record_what_they_always_did():
    """No ``source`` for a built-in method, ``settle`` only where it is not "end": existing run directories keep
    their fingerprint."""
    spec = RunSpec("chicken_v0", {"max_cycles": 3}, ("jamql", "catch-up"), (0,))
    keys = ["name", "selector", "history", "transfer", "selector_kwargs", "description", "agent_history"]
    recorded = spec.as_dict()["methods"]
    assert list(recorded["catch-up"]) == keys and list(recorded["jamql"]) == [*keys, "settle"]
    assert "methods.jamql" not in spec.fields()


# --- a run directory is data: its plug-ins are checked before any is imported (issue 23, item 4)

IMPORTED = """
from pathlib import Path

(Path(__file__).parent / "imported").touch()  # a side effect of importing this file
"""


@pytest.mark.parametrize("command", [["eval"], ["train", "--resume"]])
def test_a_plugin_changed_since_training_is_refused_before_it_is_imported(tmp_path, user, capsys, command):
    out = tmp_path / "run"
    assert train(out, str(user / "least-led.toml")) == 0
    (user / "least_led.py").write_text(IMPORTED + LEAST_LED)  # another file now: importing it would run it
    assert main([*command, str(out), "--no-progress"]) == 2
    assert f"method 'least-led' changed: the selector's source file {user / 'least_led.py'}" in capsys.readouterr().err
    assert not (user / "imported").exists()


@pytest.mark.parametrize("command", [["eval"], ["train", "--resume"], ["train", "--method", "catch-up", "--out"]])
def test_plugins_inside_a_run_directory_run_only_when_trusted(tmp_path, user, capsys, command):
    assert train(tmp_path / "run", str(user / "least-led.toml")) == 0
    for path in (tmp_path / "run").iterdir():  # a run directory that holds its own plug-ins, as one received may
        path.rename(user / path.name)
    out = user
    (out / "least-led" / "seed_1" / "result.json").unlink()  # something for the resume to train
    before = sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*"))
    args = [*command, str(out), "--no-progress", *SMALL[:-3]] if "--out" in command else [*command, str(out)]
    assert main([*args, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"method 'least-led' of {out} runs code from inside the run directory" in err and "--trust-plugins" in err
    assert sorted((p, p.stat().st_mtime_ns) for p in out.rglob("*")) == before
    assert main([*args, "--no-progress", "--trust-plugins"]) == 0
