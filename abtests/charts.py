"""Inline-SVG geometry for the results page of the admin (no JavaScript, nothing from a CDN).

Every text is measured (promptconfig.common.textwidth): a variant's label is shortened to fit its column (the
variant letter always stays; the full name is in the row's tooltip), the value after a bar gets the room it
needs at the right, and a count is written past the expected-split marker when it would cross it.
"""

import math
from collections.abc import Callable
from typing import Any

from promptconfig.common.textwidth import fit, text_width

WIDTH, LABEL_W, ROW_H, BAR_H, TOP = 640, 170, 44, 22, 12
FONT = 13  # px, as abtests/results.css sets it
GAP = 8  # between a bar (or marker) and its value
ARMS = (("template_a", "A"), ("template_b", "B"))


def arm_label(variant: str, template: str) -> str:
    return fit(f"{variant} · {template}", LABEL_W - 10 - 4, FONT)


def p_text(p_value: float | None) -> str:
    """A p-value as people read it: 0.0312, or 3.1e-09 when tiny."""
    if p_value is None:
        return "-"
    return f"{p_value:.2g}" if p_value < 0.0001 else f"{p_value:.4f}"


def number_text(value: float) -> str:
    """A metric's mean as people read it: two decimals (0.78, 4.25), significant digits when large or tiny."""
    return f"{value:.2f}" if 0.01 <= abs(value) < 10000 or value == 0 else f"{value:.3g}"


def _axis(low: float, high: float, value_w: float) -> Callable[[float], float]:
    """x(value) over the plot area for values from `low` to `high` (0 always in view, 5 % of air), leaving
    `value_w` at the right for the widest value text."""
    if low == high:
        high = low + 1
    pad = (high - low) * 0.05
    low, high = min(0.0, low - pad), high + pad
    plot_w = WIDTH - LABEL_W - value_w - GAP - 4
    return lambda value: round(LABEL_W + (value - low) / (high - low) * plot_w, 1)


def participants_chart(results: dict, traffic_split: float) -> dict[str, Any]:
    """One bar per variant: its participants, with a tick where the configured split expects it."""
    counts = [results["results"][arm]["participants"] for arm, _ in ARMS]
    total = sum(counts)
    expected = [total * traffic_split, total * (1 - traffic_split)]
    values = [f"{count} ({count / total if total else 0:.1%})" for count in counts]
    value_w = max(text_width(value, FONT) for value in values)
    x = _axis(0, max([*counts, *expected, 1]), value_w)

    rows = []
    for index, ((arm, variant), count, wanted) in enumerate(zip(ARMS, counts, expected, strict=True)):
        y = TOP + index * ROW_H
        value_x = x(count) + GAP
        if x(wanted) >= x(count) - 2 and x(wanted) <= value_x + text_width(values[index], FONT) + 2:
            value_x = max(value_x, x(wanted) + GAP)  # the text would cross the marker: start past it
        rows.append(
            {
                "label": arm_label(variant, results["results"][arm]["template"]),
                "y": y + (ROW_H - BAR_H) / 2,
                "h": BAR_H,
                "x0": x(0),
                "w": max(x(count) - x(0), 1),
                "expected_x": x(wanted),
                "text_y": y + ROW_H / 2 + 4,
                "value_x": round(value_x, 1),
                "value": values[index],
                "title": f"{variant} · {results['results'][arm]['template']}: {count} participants, "
                f"{wanted:.0f} expected from the split",
            }
        )
    return {
        "width": WIDTH,
        "height": TOP * 2 + ROW_H * 2,
        "label_x": LABEL_W - 10,
        "rows": rows,
        "top": TOP,
        "bottom": TOP + ROW_H * 2,
    }


def metric_chart(results: dict, name: str) -> dict[str, Any]:
    """Per variant, the mean of the metric as a bar with its 95 % interval (normal approximation) as a whisker."""
    arms = []
    for arm, variant in ARMS:
        mean = results["results"][arm]["metrics"].get(name)
        n = results["results"][arm]["samples"].get(name, 0)
        std = results["results"][arm].get("std", {}).get(name)
        half = 1.96 * std / math.sqrt(n) if mean is not None and std is not None and n > 1 else 0.0
        arms.append(
            {
                "variant": variant,
                "template": results["results"][arm]["template"],
                "mean": mean,
                "n": n,
                "low": None if mean is None else mean - half,
                "high": None if mean is None else mean + half,
            }
        )
    known = [value for item in arms for value in (item["low"], item["high"]) if value is not None]
    for item in arms:
        item["value"] = f"{number_text(item['mean'])} (n={item['n']})" if item["mean"] is not None else ""
    value_w = max(text_width(item["value"], FONT) for item in arms)
    x = _axis(min(known, default=0), max(known, default=1), value_w)

    rows = []
    for index, item in enumerate(arms):
        y = TOP + index * ROW_H
        row = {
            "label": arm_label(item["variant"], item["template"]),
            "text_y": y + ROW_H / 2 + 4,
            "y": y + (ROW_H - BAR_H) / 2,
            "h": BAR_H,
            "mid_y": y + ROW_H / 2,
            "has_value": item["mean"] is not None,
        }
        if item["mean"] is not None:
            start, end = sorted((x(0), x(item["mean"])))
            row.update(
                x0=start,
                w=max(end - start, 1),
                whisker_low=x(item["low"]),
                whisker_high=x(item["high"]),
                value_x=max(x(item["high"]), end) + GAP,
                value=item["value"],
                title=f"{item['variant']} · {item['template']}: mean {item['mean']:.4g}, "
                f"95% interval {item['low']:.4g} to {item['high']:.4g}, {item['n']} users",
            )
        rows.append(row)
    difference = results.get("differences", {}).get(name, {})
    return {
        "name": name,
        "primary": name == results.get("primary_metric"),
        "p_value": results["p_values"].get(name),
        "p_text": p_text(results["p_values"].get(name)),
        "difference": difference.get("b_minus_a"),
        "interval": difference.get("confidence_interval"),
        "width": WIDTH,
        "height": TOP * 2 + ROW_H * 2,
        "label_x": LABEL_W - 10,
        "zero_x": x(0),
        "top": TOP,
        "bottom": TOP + ROW_H * 2,
        "rows": rows,
    }
