"""Figures of a run: learning curves, final fairness, leader shares (PNG), and the Markdown report around them.

Needs matplotlib, an optional extra (``pip install "fairlead[plot]"``); it is
imported only inside the functions that draw, so ``import fairlead`` never
needs it. Figures are drawn on matplotlib's Agg canvas (no display, no change
to the process's pyplot backend) and saved without the matplotlib version in
their metadata, so the same numbers give the same PNG bytes.

Every interval is the one of the table (``fairlead.experiments.report.interval``):
by default the 95% percentile bootstrap interval of the mean over the seeds.
Methods keep the order given and one colour each across the figures.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np

from fairlead.experiments.atomic import write_atomic
from fairlead.experiments.report import RESAMPLES, check_kind, number
from fairlead.experiments.report import interval as estimate
from fairlead.trainers.evaluation import HEADLINE

DPI = 130
CURVE_RESAMPLES = 2_000  # per band point: a band drawn from 10,000 looks the same and costs 5x (15 x 11 x 2 points)
WIDTH = 8.0  # inches: 1040 px at DPI, shown at docs width without shrinking the text much
INSTALL_HINT = 'the figures need matplotlib: pip install "fairlead[plot]"'
# One colour per method, in the order given: matplotlib's tab10, then four more distinct ones (Dark2).
METHOD_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#000000",
    "#e6ab02",
    "#1b9e77",
    "#e7298a",
)
# Players: ColorBrewer Set2 (distinct from the method colours' role; readable with black text).
PLAYER_COLOURS = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3")
METRIC = HEADLINE.removeprefix("fairness_").replace("_", " ")  # the headline fairness metric, as axis labels name it
# The claims' verdicts (fairlead.experiments.claims): ColorBrewer PiYG's ends and a grey, each also labelled.
VERDICT_COLOURS = {"holds": "#4d9221", "ties at the ceiling": "#bdbdbd", "does not hold": "#c51b7d"}
VERDICT_LABELS = {"holds": "holds", "ties at the ceiling": "tie", "does not hold": "no"}
HEATMAP_SCALES = ("rate", "margin", "verdict")
ALT_TEXT = {
    "learning_curves.png": "Learning curves: fairness and total return against training episodes",
    "final_fairness.png": "Final fairness and fair-action rate per method",
    "leader_shares.png": "Share of the stages each player led, per method",
}


def _figure(height: float, width: float = WIDTH):
    """A figure on its own Agg canvas; ImportError with the install hint without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError(INSTALL_HINT) from err
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    return fig


def method_colours(methods) -> dict[str, str]:
    """One colour per method, by position in ``methods`` (the same in every figure of a run)."""
    return {m: METHOD_COLOURS[i % len(METHOD_COLOURS)] for i, m in enumerate(methods)}


def _player_colours(players) -> list:
    if len(players) <= len(PLAYER_COLOURS):
        return list(PLAYER_COLOURS[: len(players)])
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.1, 0.95, len(players))]


def _wrap(title: str) -> str:
    """The figure's title: a Markdown heading's ``#`` dropped, wrapped to the figure's width."""
    return textwrap.fill(title.strip().lstrip("#").strip(), 96, break_long_words=False)


def _interval_note(kind: str, samples: list[str], methods, resamples: int = RESAMPLES) -> str:
    """What the points and intervals are, e.g. ``mean over 5 seeds and 95% percentile bootstrap interval``.

    ``samples``: the method of each seed's row (or curve).
    """
    counts = sorted({samples.count(m) for m in methods} - {0})
    if counts == [1]:
        return "one seed (no interval)"
    seeds = (
        "the seeds" if not counts else f"{counts[0]} seeds" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} seeds"
    )
    if kind == "bootstrap":
        return f"mean over {seeds} and 95% percentile bootstrap interval ({resamples:,} resamples)"
    return f"mean over {seeds} and 95% Student-t interval"


def _values(rows, method, key) -> list[float]:
    """The finite values of ``key`` in ``method``'s rows."""
    values = [number(r.get(key)) for r in rows if r["method"] == method]
    return [v for v in values if math.isfinite(v)]


def _method_axis(ax, methods) -> None:
    """Methods down the y axis, the first at the top."""
    ax.set_yticks(range(len(methods)), labels=list(methods))
    ax.set_ylim(len(methods) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)


def _label(metric: str) -> str:
    """An axis label for the headline ``metric``: "fairness (pairwise equality)", or the metric's own name."""
    return (
        f"fairness ({metric.removeprefix('fairness_').replace('_', ' ')})"
        if metric.startswith("fairness_")
        else (metric.replace("_", " "))
    )


# ------------------------------------------------------------------------------------------- figures
def learning_curves_figure(
    curves: list[dict], methods, title: str, interval: str = "bootstrap", metric: str = HEADLINE
):
    """Headline fairness and total return against training episodes, one line per method with its interval band.

    The line is the mean over the seeds at each logged episode; the band is
    the 95% interval (``interval`` kind) of that mean, absent for one seed.
    Returns the matplotlib Figure, or None when there are no curve points.
    """
    check_kind(interval)
    if not curves:
        return None
    fig = _figure(4.3 + 0.25 * math.ceil(len(methods) / 4))
    axes = fig.subplots(1, 2)
    colours = method_colours(methods)
    band = 0.18 if len(methods) <= 5 else 0.09  # many overlapping bands: fainter, so the lines stay visible
    other = (HEADLINE, _label(HEADLINE)) if metric == "total_return" else ("total_return", "total return")
    panels = ((metric, _label(metric)), other)
    for ax, (key, label) in zip(axes, panels):
        for method in methods:
            by_episode = defaultdict(list)
            for p in curves:
                if p["method"] == method:
                    value = number(p.get(key))
                    if math.isfinite(value):
                        by_episode[number(p["episode"])].append(value)
            if not by_episode:
                continue
            episodes = sorted(by_episode)
            points = np.array([estimate(by_episode[e], interval, resamples=CURVE_RESAMPLES) for e in episodes])
            ax.plot(
                episodes,
                points[:, 0],
                color=colours[method],
                label=method,
                linewidth=1.6,
                marker="o" if len(episodes) == 1 else "",
                markersize=4,
            )  # a single point: a dot
            ax.fill_between(episodes, points[:, 1], points[:, 2], color=colours[method], alpha=band, linewidth=0)
        ax.set_xlabel("training episode")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(alpha=0.3)
    drawn = {line.get_label(): line for ax in axes for line in ax.get_lines()}
    handles = [drawn[m] for m in methods if m in drawn]  # in the order given
    if handles:
        fig.legend(
            handles,
            [h.get_label() for h in handles],
            loc="outside lower center",
            ncol=min(len(handles), 4),
            frameon=False,
        )
    seeds = [m for m, _ in dict.fromkeys((p["method"], p.get("seed")) for p in curves)]  # one per (method, seed)
    note = _interval_note(interval, seeds, methods, CURVE_RESAMPLES)
    fig.suptitle(f"{_wrap(title)}\nlearning curves: {note}", fontsize=11)
    return fig


def final_fairness_figure(rows: list[dict], methods, title: str, interval: str = "bootstrap", metric: str = HEADLINE):
    """Per method: the headline fairness and the fair-action rate, mean with its interval, every seed as a dot."""
    check_kind(interval)
    fig = _figure(1.9 + 0.36 * len(methods))
    axes = fig.subplots(1, 2, sharey=True)
    colours = method_colours(methods)
    panels = ((metric, f"final {_label(metric)}"), ("fair_action_rate", "fair-action rate"))
    for ax, (key, label) in zip(axes, panels):
        for i, method in enumerate(methods):
            values = _values(rows, method, key)
            if not values:
                continue
            jitter = np.linspace(-0.22, 0.22, len(values)) if len(values) > 1 else np.zeros(1)
            ax.scatter(values, i + jitter, s=12, color=colours[method], alpha=0.35, linewidths=0, zorder=2)
            point, low, high = estimate(values, interval)
            err = None if math.isnan(low) else [[point - low], [high - point]]
            ax.errorbar(
                [point],
                [i],
                xerr=err,
                fmt="o",
                color=colours[method],
                markersize=6,
                capsize=4,
                elinewidth=1.6,
                zorder=3,
            )
        _method_axis(ax, methods)
        ax.set_xlabel(label)
        ax.set_title(label)
        ax.grid(axis="x", alpha=0.3)
    note = _interval_note(interval, [r["method"] for r in rows], methods)
    fig.suptitle(f"{_wrap(title)}\n{note}; dots: seeds", fontsize=11)
    return fig


def leader_shares_figure(rows: list[dict], methods, title: str):
    """Per method, a stacked bar of each player's share of the stages led (mean over the seeds).

    Returns None when the rows have no ``leader_share_<player>`` numbers.
    """
    players = list(
        dict.fromkeys(k.removeprefix("leader_share_") for r in rows for k in r if k.startswith("leader_share_"))
    )
    if not players:
        return None
    fig = _figure(1.9 + 0.36 * len(methods) + 0.25 * math.ceil(len(players) / 6))
    ax = fig.subplots()
    colours = _player_colours(players)
    left = np.zeros(len(methods))
    for player, colour in zip(players, colours):
        shares = []
        for method in methods:
            values = _values(rows, method, f"leader_share_{player}")
            shares.append(float(np.mean(values)) if values else 0.0)
        bars = ax.barh(
            range(len(methods)),
            shares,
            left=left,
            color=colour,
            label=player,
            height=0.7,
            edgecolor="white",
            linewidth=0.8,
        )
        ax.bar_label(bars, labels=[f"{s:.2f}" if s >= 0.07 else "" for s in shares], label_type="center", fontsize=8)
        left += shares
    _method_axis(ax, methods)
    ax.set_xlim(0, max(1.0, float(left.max(initial=0.0))))
    ax.set_xlabel("share of the stages led (mean over the seeds)")
    fig.legend(loc="outside lower center", ncol=min(len(players), 6), frameon=False)
    fig.suptitle(f"{_wrap(title)}\nleader shares: the share of the stages each player led", fontsize=11)
    return fig


def heatmap_png(*args, **kwargs) -> bytes:
    """The PNG bytes of :func:`heatmap_figure`."""
    return _png(heatmap_figure(*args, **kwargs))


def heatmap_figure(
    panels: dict,
    rows: list[str],
    columns: list[str],
    row_label: str,
    column_label: str,
    title: str,
    scale: str,
    colour_label: str = "",
):
    """One heatmap per panel (``{name: rows x columns values}``), every cell labelled with its value.

    ``scale``: ``"rate"`` (numbers in [0, 1], sequential colours), ``"margin"``
    (differences: diverging colours, symmetric around 0) or ``"verdict"`` (the
    claims' verdicts: a colour and a short label each, and a legend). A missing
    value (NaN or None) is a grey cell labelled n/a. ``rows == [""]``: one row
    without an axis (a grid of one key). ``colour_label``: the colour bar's label
    (numbers only). Each line of ``title`` is wrapped to the figure's width.
    """
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap, Normalize
    from matplotlib.patches import Patch

    if scale not in HEATMAP_SCALES:
        raise ValueError(f"unknown heatmap scale {scale!r}; expected one of {', '.join(HEATMAP_SCALES)}")
    verdicts = list(VERDICT_COLOURS)
    if scale == "verdict":
        data = {
            name: np.array([[verdicts.index(v) if v in verdicts else np.nan for v in row] for row in values])
            for name, values in panels.items()
        }
        cmap, norm = ListedColormap(list(VERDICT_COLOURS.values())), Normalize(-0.5, len(verdicts) - 0.5)
    else:
        data = {
            name: np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
            for name, values in panels.items()
        }
        if scale == "rate":
            cmap, norm = colormaps["viridis"], Normalize(0.0, 1.0)
        else:
            limit = max([float(np.nanmax(np.abs(d))) for d in data.values() if np.isfinite(d).any()] or [0.0])
            cmap, norm = colormaps["RdBu"], Normalize(-(limit or 1e-3), limit or 1e-3)
    cmap = cmap.with_extremes(bad="#e0e0e0")
    across = 1 if len(panels) == 1 else 2
    down = math.ceil(len(panels) / across)
    rotate = max(map(len, columns)) * len(columns) > 40  # long or many column labels: slanted
    width = max(WIDTH, across * (0.62 * len(columns) + 1.6) + (0 if scale == "verdict" else 1.3))
    height = 1.2 + down * (0.42 * len(rows) + (1.6 if rotate else 1.2)) + (0.4 if scale == "verdict" else 0)
    fig = _figure(height, width)
    axes = fig.subplots(down, across, squeeze=False)
    for ax, (name, values) in zip(axes.flat, data.items()):
        image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
        for (i, j), value in np.ndenumerate(values):
            if np.isnan(value):
                label = "n/a"
            else:
                label = (
                    VERDICT_LABELS[verdicts[int(value)]]
                    if scale == "verdict"
                    else f"{value:.2f}"
                    if scale == "rate"
                    else f"{value:+.3f}"
                )
            red, green, blue, _ = cmap(norm(value))
            ax.text(
                j,
                i,
                label,
                ha="center",
                va="center",
                fontsize=9,
                color="white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black",
            )
        ax.set_xticks(
            range(len(columns)), labels=columns, rotation=45 if rotate else 0, ha="right" if rotate else "center"
        )
        ax.set_yticks(range(len(rows)), labels=rows)
        ax.tick_params(length=0)
        ax.set_xlabel(column_label)
        ax.set_ylabel(row_label)
        ax.set_title(name, fontsize=10)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    if scale == "verdict":
        fig.legend(
            [Patch(color=c) for c in VERDICT_COLOURS.values()],
            [f"{VERDICT_LABELS[v]}: {v}" if VERDICT_LABELS[v] != v else v for v in VERDICT_COLOURS],
            loc="outside lower center",
            ncol=len(VERDICT_COLOURS),
            frameon=False,
        )
    else:
        fig.colorbar(image, ax=axes.ravel().tolist(), label=colour_label, shrink=0.9)
    fig.suptitle("\n".join(map(_wrap, title.split("\n"))), fontsize=11)
    return fig


# ------------------------------------------------------------------------------------------- files
def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def render_figures(
    rows: list[dict], curves: list[dict], methods, title: str, interval: str = "bootstrap", metric: str = HEADLINE
) -> dict[str, bytes]:
    """The PNG bytes of the figures ``write_figures`` writes, by file name, without writing anything.

    ``metric``: the headline column (a fairness metric by default) of the first panels.
    """
    methods = list(methods)
    figures = {
        "learning_curves.png": learning_curves_figure(curves, methods, title, interval, metric),
        "final_fairness.png": final_fairness_figure(rows, methods, title, interval, metric),
        "leader_shares.png": leader_shares_figure(rows, methods, title),
    }
    return {name: _png(fig) for name, fig in figures.items() if fig is not None}


def write_figures(
    rows: list[dict], curves: list[dict], methods, out_dir, title: str, interval: str = "bootstrap"
) -> list[Path]:
    """Write learning_curves.png (skipped without curve points), final_fairness.png, leader_shares.png.

    ``rows``: one dict per (method, seed) as in metrics.csv; ``curves``: one
    per (method, seed, episode) as in curves.csv (may be empty); numbers may
    be floats or the strings of a CSV file. leader_shares.png is skipped when
    the rows have no ``leader_share_<player>``. Every figure is drawn before
    any is written; each file is written atomically. Returns the paths
    written, in that order. ImportError (with the install hint) without matplotlib.
    """
    out_dir = Path(out_dir)
    images = render_figures(rows, curves, methods, title, interval)
    for name, data in images.items():
        write_atomic(out_dir / name, data)
    return [out_dir / name for name in images]


def report_markdown(title: str, table: str, figures, notes=(), base=None) -> str:
    """The Markdown report: ``# title``, the table, the notes (one paragraph each), the figures as images.

    Image links are relative to ``base`` (the report file's folder) when given,
    else the figures' file names (figures next to the report).
    """
    heading = title.strip().lstrip("#").strip()
    parts = [f"# {heading}", table.strip(), *(note.strip() for note in notes)]
    for figure in map(Path, figures):
        link = Path(os.path.relpath(figure, base)).as_posix() if base is not None else figure.name
        parts.append(f"![{ALT_TEXT.get(figure.name, figure.stem.replace('_', ' '))}]({link})")
    return "\n\n".join(parts) + "\n"
