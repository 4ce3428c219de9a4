"""The report figures: files, content, layout (nothing overlaps), and matplotlib staying optional."""

import struct
import subprocess
import sys
from itertools import combinations

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the figures need the plot extra (in the test extra)")

from fairlead.experiments import figures
from fairlead.experiments.figures import (
    INSTALL_HINT,
    final_fairness_figure,
    leader_shares_figure,
    learning_curves_figure,
    method_colours,
    render_figures,
    report_markdown,
    write_figures,
)
from fairlead.trainers.evaluation import HEADLINE

METHODS = [
    "jamql",
    "jamql-no-selection",
    "jamql-no-history",
    "jamql-no-endgame",
    "jamql-selection-only",
    "jamql-scalar",
    "fixed",
    "alternating",
    "random",
    "vote",
    "catch-up",
]
PLAYERS = ["player_0", "player_1", "player_2", "player_3"]
TITLE = "chicken_v0 (n_agents=4, max_cycles=10, stage_feature=index) - 5 seeds, 300 episodes"


def numbers(rng, method_index):
    shares = rng.dirichlet(np.ones(len(PLAYERS)) * (1 + method_index))
    return {
        HEADLINE: rng.uniform(0.8, 1.0),
        "total_return": rng.uniform(60, 100),
        "fair_action_rate": rng.uniform(0, 1),
        **{f"leader_share_{p}": s for p, s in zip(PLAYERS, shares)},
    }


def make_run(methods=METHODS, seeds=5, episodes=(50, 100, 150, 200, 250, 300)):
    rng = np.random.default_rng(0)
    rows = [{"method": m, "seed": s, **numbers(rng, i)} for i, m in enumerate(methods) for s in range(seeds)]
    curves = [
        {"method": m, "seed": s, "episode": e, **numbers(rng, i)}
        for i, m in enumerate(methods)
        for s in range(seeds)
        for e in episodes
    ]
    return rows, curves


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_write_figures_writes_three_pngs_reproducibly(tmp_path):
    rows, curves = make_run()
    paths = write_figures(rows, curves, METHODS, tmp_path / "a", TITLE)
    assert [p.name for p in paths] == ["learning_curves.png", "final_fairness.png", "leader_shares.png"]
    for path in paths:
        data = path.read_bytes()
        width, height = png_size(data)
        assert width == 8 * 130 and 400 < height < 1400, (path.name, width, height)
        assert len(data) > 20_000
    again = render_figures(rows, curves, METHODS, "# " + TITLE)  # a Markdown heading's # is dropped
    assert list(again.values()) == [p.read_bytes() for p in paths]  # same numbers, same bytes


def test_missing_curves_or_shares_skip_their_figure_and_strings_of_a_csv_file_work(tmp_path):
    rows, _ = make_run(methods=["jamql", "fixed"], seeds=1)  # one seed: no interval, still drawn
    paths = write_figures(rows, [], ["jamql", "fixed"], tmp_path, TITLE)
    assert [p.name for p in paths] == ["final_fairness.png", "leader_shares.png"]
    as_csv = [{k: ("" if k.startswith("leader_share_") else str(v)) for k, v in r.items()} for r in rows]
    assert (
        leader_shares_figure(
            [{k: v for k, v in r.items() if not k.startswith("leader")} for r in rows], ["jamql"], TITLE
        )
        is None
    )
    assert final_fairness_figure(as_csv, ["jamql", "fixed"], TITLE, "t") is not None
    _, point = make_run(methods=["jamql", "fixed"], seeds=1, episodes=(100,))  # one seed, one curve point
    fig = learning_curves_figure(point, ["jamql", "fixed"], TITLE)
    assert [[line.get_marker() for line in ax.get_lines()] for ax in fig.axes] == [["o", "o"]] * 2
    assert "one seed (no interval)" in fig.get_suptitle()


def test_learning_curves_one_line_per_method_legend_in_order_consistent_colours():
    rows, curves = make_run()
    fig = learning_curves_figure(curves, METHODS, TITLE)
    colours = method_colours(METHODS)
    for ax in fig.axes:
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == METHODS
        assert [line.get_color() for line in lines] == [colours[m] for m in METHODS]
        assert len(ax.collections) == len(METHODS)  # one interval band each
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == METHODS
    bars = final_fairness_figure(rows, METHODS, TITLE)
    markers = [line for line in bars.axes[0].get_lines() if line.get_marker() == "o"]
    assert [m.get_color() for m in markers] == [colours[m] for m in METHODS]  # the same colour per method


def overlap(a, b) -> bool:
    return a.width > 0 and b.width > 0 and a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def assert_no_overlap(boxes: dict) -> None:
    for (name_a, a), (name_b, b) in combinations(boxes.items(), 2):
        assert not overlap(a, b), f"{name_a} overlaps {name_b}"


@pytest.mark.parametrize("n", [4, 11])
def test_nothing_overlaps(n):
    methods = METHODS[:n]
    rows, curves = make_run(methods)
    for fig in (
        learning_curves_figure(curves, methods, TITLE),
        final_fairness_figure(rows, methods, TITLE),
        leader_shares_figure(rows, methods, TITLE),
    ):
        renderer = fig.canvas.get_renderer()
        fig.canvas.draw()
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = {
                    f"tick {t.get_text()}": t.get_window_extent(renderer)
                    for t in axis.get_ticklabels()
                    if t.get_visible() and t.get_text()
                }
                assert_no_overlap(labels)
        # panels (with their tick labels and axis labels), legend and title: pairwise apart, inside the figure
        boxes = {f"panel {i}": ax.get_tightbbox(renderer) for i, ax in enumerate(fig.axes)}
        boxes |= {f"legend {i}": leg.get_window_extent(renderer) for i, leg in enumerate(fig.legends)}
        boxes["title"] = fig._suptitle.get_window_extent(renderer)
        assert_no_overlap(boxes)
        page = fig.bbox
        for name, box in boxes.items():
            inside = page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0 <= box.y1 <= page.y1 + 1
            assert inside, f"{name} leaves the figure"


def test_report_markdown_links_the_figures_relative_to_the_report(tmp_path):
    figs = [tmp_path / "learning_curves.png", tmp_path / "figures" / "leader_shares.png"]
    text = report_markdown("# a run", "| a |\n|---|", figs, notes=["A note."], base=tmp_path)
    assert text.startswith("# a run\n\n| a |\n|---|\n\nA note.\n\n")
    assert "](learning_curves.png)" in text and "](figures/leader_shares.png)" in text
    assert report_markdown("a run", "| a |", figs[:1]).endswith("](learning_curves.png)\n")


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rows, curves = make_run(methods=["jamql"], seeds=2)
    with pytest.raises(ImportError, match=r'pip install "fairlead\[plot\]"'):
        write_figures(rows, curves, ["jamql"], tmp_path, TITLE)
    assert 'pip install "fairlead[plot]"' in INSTALL_HINT


def test_importing_fairlead_does_not_import_matplotlib():
    code = (
        "import sys, fairlead, fairlead.experiments.figures, fairlead.experiments.runs, fairlead.cli; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_figures_module_imports_no_plotting_library_at_top_level():
    source = open(figures.__file__).read()
    top = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top if "matplotlib" in line]
