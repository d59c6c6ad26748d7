"""Draws bench/results/peers.png from peers.json (written by
`go run ./bench -scenario peers`): one panel per scenario, a bar per tool,
the median with a line from min to max, and each peer's ratio to mlops.

    python chart.py peers.json peers.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"mlops": "#1f77b4", "Ansible": "#d62728", "Ansible (tuned)": "#ff7f0e", "pyinfra": "#2ca02c", "OpenTofu": "#9467bd"}


def label(ms):
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def tick(ms, _):
    if ms == 0:
        return "0"
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def main(src, dst):
    with open(src) as f:
        data = json.load(f)
    tools = data["tools"]
    # The rows the bench marks for the chart: the fresh converge, every
    # fleet size at the largest round trip measured, and the drift rows.
    rows = [r for r in data["rows"] if r["hosts"] > 0 and r.get("chart", True)]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 1.25 + 1.45 * len(rows)), squeeze=False)
    for ax, row in zip(axes[:, 0], rows):
        wall = row["wall_ms"]
        names = [t for t in tools if t in wall]
        med = [wall[t]["Median"] for t in names]
        lo = [wall[t]["Median"] - wall[t]["Min"] for t in names]
        hi = [wall[t]["Max"] - wall[t]["Median"] for t in names]
        ys = list(range(len(names)))[::-1]
        # A no-op run that never logged in to a host (OpenTofu: state only)
        # is hatched: it is fast because it does not look.
        looked = row.get("looked", {})
        bars = ax.barh(ys, med, color=[COLORS.get(t, "gray") for t in names], height=0.7)
        for bar, t in zip(bars, names):
            if looked.get(t) is False:
                bar.set_hatch("///")
                bar.set_edgecolor("white")
        ax.errorbar(med, ys, xerr=[lo, hi], fmt="none", ecolor="black", elinewidth=1, capsize=3)
        ax.set_yticks(ys, names)
        ax.set_title(row["title"], loc="left", fontsize=11, fontweight="bold")
        top = max(wall[t]["Max"] for t in names)
        ax.set_xlim(0, top * 1.45)
        base = wall.get("mlops", {}).get("Median")
        for y, t, m in zip(ys, names, med):
            text = label(m)
            if base and t != "mlops":
                text += f"  ({m / base:.1f}× mlops)"
            if looked.get(t) is False:
                text += "  state only, no SSH"
            if row.get("found", {}).get(t) is False:
                text += "  drift left in place"
            ax.text(wall[t]["Max"] + top * 0.02, y, text, va="center", fontsize=9)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(tick))
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Wall time, median with min–max (lower is better)", fontsize=12)
    fig.text(0.01, 0.005, "Sandbox hosts on this machine (round trip as in each title), " + data["machine"].split(", mlops at")[0]
             + ". Hatched: the run did not connect to the hosts.", fontsize=7, color="dimgray")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
