"""metrics.csv from a run's TensorBoard events, and a summary of it."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from isaacctl import tfevents

REWARD_TAGS = tfevents.REWARD_TAGS
LENGTH_TAGS = tfevents.LENGTH_TAGS


def write_metrics_csv(logs: Path, target: Path) -> int:
    """Every scalar tag under logs/, one row per step (columns: step, then the tags sorted).
    Returns the number of rows. Event files of several runs (a resumed job) are merged; when
    a tag repeats a step (rsl_rl's `.../time` tags count whole seconds), the last value wins."""
    table: dict[int, dict[str, float]] = {}
    tags: set[str] = set()
    for path in sorted(tfevents.event_files(str(logs))):
        for tag, step, _, value in tfevents.scalars(path):
            table.setdefault(step, {})[tag] = value
            tags.add(tag)
    columns = sorted(tags)
    temporary = target.with_suffix(".csv.tmp")
    with open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *columns])
        for step in sorted(table):
            row = table[step]
            writer.writerow([step, *("" if tag not in row else repr(row[tag]) for tag in columns)])
    temporary.replace(target)
    return len(table)


@dataclass(frozen=True)
class TagSummary:
    tag: str
    points: int
    first: float
    last: float
    best: float
    last_step: int


def read_metrics(path: Path) -> tuple[list[int], dict[str, list[tuple[int, float]]]]:
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, ["step"])
        series: dict[str, list[tuple[int, float]]] = {tag: [] for tag in header[1:]}
        steps = []
        for row in reader:
            step = int(row[0])
            steps.append(step)
            for tag, cell in zip(header[1:], row[1:], strict=False):
                if cell:
                    series[tag].append((step, float(cell)))
    return steps, series


def summarize(path: Path) -> list[TagSummary]:
    _, series = read_metrics(path)
    summaries = []
    for tag, points in series.items():
        values = [v for _, v in points if not math.isnan(v)]
        if not values:
            continue
        best = min(values) if tag.lower().startswith("loss") else max(values)
        summaries.append(TagSummary(tag, len(values), values[0], values[-1], best, points[-1][0]))
    # reward and episode length first: what people look at
    order = {tag: i for i, tag in enumerate(REWARD_TAGS + LENGTH_TAGS)}
    return sorted(summaries, key=lambda s: (order.get(s.tag, len(order)), s.tag))


def plot(path: Path, target: Path, title: str) -> None:
    """Mean reward and episode length against step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, series = read_metrics(path)
    panels = [
        (tags, label)
        for tags, label in ((REWARD_TAGS, "mean reward"), (LENGTH_TAGS, "episode length"))
        if any(series.get(tag) for tag in tags)
    ]
    figure, axes = plt.subplots(len(panels) or 1, 1, figsize=(8, 3.2 * max(len(panels), 1)), squeeze=False)
    for axis, (tags, label) in zip(axes[:, 0], panels, strict=False):
        for tag in tags:
            points = series.get(tag) or []
            if points:
                axis.plot([s for s, _ in points], [v for _, v in points], label=tag)
        axis.set_ylabel(label)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right", fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
