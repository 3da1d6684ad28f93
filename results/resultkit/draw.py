"""draw.py - matplotlib (Agg, no display) drawings of plotdata's plots, one PNG each."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator  # noqa: E402

TAIL_TICKS = ((1, "0%"), (2, "50%"), (10, "90%"), (100, "99%"), (1e3, "99.9%"),
              (1e4, "99.99%"), (1e5, "99.999%"))
DPI = 100
# the loss plot's reference curve (the Linux baseline): apart from the stacks' dashed ones
REFERENCE_STYLE = {"color": "black", "linewidth": 2.6, "marker": "s", "markersize": 7,
                   "zorder": 3}


def _colors(labels: list[str]) -> dict[str, Any]:
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return {label: cycle[i % len(cycle)] for i, label in enumerate(labels)}


def draw_spectrum(plot: dict[str, Any], labels: list[str], path: Path) -> None:
    """Latency against 1/(1-p) on log axes: the tail gets the room (HdrHistogram-style)."""
    colors = _colors(labels)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    seen: set[str] = set()
    for s in plot["series"]:
        x = [1 / (1 - float(p) / 100) for p in s["percentiles"]]
        y = [v / 1000 for v in s["latency_ns"]]
        ax.step(x, y, where="post", color=colors[s["set"]], alpha=0.75, linewidth=1.2,
                label=None if s["set"] in seen else s["set"])
        seen.add(s["set"])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([t for t, _ in TAIL_TICKS]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([lbl for _, lbl in TAIL_TICKS])
    ax.set_xlim(left=1)
    ax.set_xlabel("percentile (log scale of 1/(1-p))")
    ax.set_ylabel("latency (us, log)")
    ax.set_title(plot["title"])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def draw_timeline(plot: dict[str, Any], labels: list[str], path: Path) -> None:
    """p50 (solid) and p99 (dashed) of each second of a run, a colour per set."""
    colors = _colors(labels)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for s in plot["series"]:
        x = [iv["start_s"] for iv in s["intervals"]]
        ax.plot(x, [iv["p50_ns"] / 1000 for iv in s["intervals"]], color=colors[s["set"]],
                marker=".", label=f"{s['set']} p50")
        ax.plot(x, [iv["p99_ns"] / 1000 for iv in s["intervals"]], color=colors[s["set"]],
                linestyle="--", marker=".", label=f"{s['set']} p99")
    ax.set_yscale("log")
    ax.set_xlabel("seconds from the run's start (warm-up and drain included)")
    ax.set_ylabel("latency (us, log)")
    ax.set_title(plot["title"])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def _group_label(key: dict[str, str]) -> str:
    text = f"{key['backend']}/{key['topology']}"
    return text + ("\n" + textwrap.shorten(key["config"], 28, placeholder="...")
                   if key.get("config") else "")


def draw_bars(plot: dict[str, Any], labels: list[str], path: Path) -> None:
    """One scenario: a small panel per rate, side by side, each on its own y scale; in a
    panel a group per backend/topology, a bar per set, error bars min..max; a later set's
    bar is labelled with its ratio to the first set's median."""
    colors = _colors(labels)
    panels = plot["panels"]
    width = 0.8 / max(1, len(labels))
    sizes = [max(2.6, 1.0 + 0.55 * len(p["groups"]) * max(1, len(labels)) ** 0.5)
             for p in panels]
    legend_h = 0.25 * len(labels) + 0.1
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.0, sum(sizes) + 0.4),
                                                      3.3 + legend_h),
                             gridspec_kw={"width_ratios": sizes}, squeeze=False)
    for ax, panel in zip(axes[0], panels):
        groups = panel["groups"]
        for j, label in enumerate(labels):
            for i, g in enumerate(groups):
                bar = next((b for b in g["bars"] if b["set"] == label), None)
                if bar is None:
                    continue
                x = i + (j - (len(labels) - 1) / 2) * width
                ax.bar([x], [bar["median"]], width=width, color=colors[label],
                       yerr=[[bar["median"] - bar["min"]], [bar["max"] - bar["median"]]],
                       capsize=3)
                if j > 0 and bar.get("ratio") is not None:
                    ax.annotate(f"{bar['ratio']:.2f}x", (x, bar["max"]), ha="center",
                                va="bottom", fontsize="x-small", xytext=(0, 2),
                                textcoords="offset points")
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([_group_label(g["key"]) for g in groups], fontsize="x-small",
                           rotation=20 if len(groups) > 2 else 0)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_ylim(0, max(b["max"] for g in groups for b in g["bars"]) * 1.18 or 1)
        ax.set_title(f"{panel['title']} ({panel['unit']})", fontsize="small")
        ax.tick_params(axis="y", labelsize="x-small")
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(plot["title"], fontsize="medium")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[lb]) for lb in labels]
    fig.legend(handles, labels, loc="lower center", fontsize="x-small", frameon=False,
               ncol=1)
    _save(fig, path, rect=(0, legend_h / (3.3 + legend_h), 1, 1))


def draw_loss(plot: dict[str, Any], labels: list[str], path: Path) -> None:
    """Goodput against loss: categorical x (the loss rates present, evenly spaced), one curve
    per backend/topology; the reference (the Linux baseline) black, thick and first."""
    del labels	# one plot per set: colour is the backend here
    rates = plot["loss_pct"]
    cycle = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for c in plot["curves"]:
        xs = [rates.index(p["loss_pct"]) for p in c["points"]]
        meds = [p["median"] for p in c["points"]]
        err = [[p["median"] - p["min"] for p in c["points"]],
               [p["max"] - p["median"] for p in c["points"]]]
        if c["reference"]:
            style = {**REFERENCE_STYLE, "label": f"{c['label']} (Linux baseline: reference)"}
        else:
            style = {"color": next(cycle), "linewidth": 1.5, "marker": "o", "markersize": 5,
                     "linestyle": "--", "zorder": 2, "label": c["label"]}
        ax.errorbar(xs, meds, yerr=err, capsize=3, **style)
    note = "no Linux baseline runs in this set: no reference curve"
    for c in (c for c in plot["curves"] if c["reference"]):
        have = {p["loss_pct"] for p in c["points"]}
        lacks = [f"{r:g}%" for r in rates if r not in have]
        note = f"{c['label']} has no runs at {', '.join(lacks)}" if lacks else ""
    ax.set_xticks(range(len(rates)))
    ax.set_xticklabels([f"{r:g}%" for r in rates])
    ax.set_xlim(-0.4, len(rates) - 0.6)
    top = max((p["max"] for c in plot["curves"] for p in c["points"]), default=1.0) or 1.0
    if plot["y_scale"] == "symlog":
        ax.set_yscale("symlog", linthresh=plot["y_linthresh"])
        ax.set_ylim(0, top * 2)
    elif plot["y_scale"] == "log":
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, top * 1.1)
    ax.set_xlabel("loss rate (params.impair; categorical axis)")
    scale = {"log": ", log", "symlog": f", log above {plot.get('y_linthresh', 0):g}"}
    ax.set_ylabel(f"goodput ({plot['unit']}{scale.get(plot['y_scale'], '')})")
    ax.set_title(plot["title"] + (f"\n{note}" if note else ""), fontsize="medium")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    _save(fig, path)


def _save(fig: Any, path: Path, rect: tuple[float, float, float, float] | None = None
          ) -> None:
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)


def draw(plot: dict[str, Any], labels: list[str], out_dir: Path) -> Path:
    path = out_dir / plot["file"]
    how = {"spectrum": draw_spectrum, "timeline": draw_timeline, "bars": draw_bars,
           "loss": draw_loss}[plot["kind"]]
    how(plot, labels, path)
    return path
