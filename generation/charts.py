"""The analytics page's charts, drawn as inline SVG geometry computed here (no JavaScript, nothing from a CDN).

Texts are measured (promptconfig.common.textwidth) with the sizes generation/analytics.css sets: a bar's label is
shortened to fit its column (the full name is in the tooltip) and the value after a bar gets the room it needs.
"""

import math
from datetime import date
from typing import Any

from promptconfig.common.textwidth import fit, text_width

LABEL_FONT, VALUE_FONT, SMALL_FONT = 12, 12, 11  # .pc-label (monospace), .pc-value (bold), .pc-tag/.pc-muted-text


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps up to at least `top` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= raw)
    if step < 1:
        step = 1  # counts are whole
    ticks, value = [0.0], 0.0
    while value < top:
        value += step
        ticks.append(value)
    return [int(tick) if float(tick).is_integer() else tick for tick in ticks]


def daily_chart(points: list[dict[str, Any]], *, width: int = 1000, height: int = 270) -> dict[str, Any]:
    """Stacked bars per day: cache hits at the bottom, misses on top, the total above."""
    left, right, top, bottom = 48, 16, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((point["generations"] for point in points), default=0))
    y_max = ticks[-1]
    slot = plot_w / max(len(points), 1)
    bar_w = slot * 0.62
    base = top + plot_h

    def y(value: float) -> float:
        return base - value / y_max * plot_h

    bars = []
    for index, point in enumerate(points):
        day: date = point["bucket"].date()
        total, hits = point["generations"], point["cache_hits"]
        x = left + index * slot + (slot - bar_w) / 2
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "cx": round(x + bar_w / 2, 1),
                "hits_y": round(y(hits), 1),
                "hits_h": round(base - y(hits), 1),
                "miss_y": round(y(total), 1),
                "miss_h": round(y(hits) - y(total), 1),
                "total": total,
                "hits": hits,
                "label_y": round(y(total) - 6, 1),
                "weekday": day.strftime("%a"),
                "day": day.strftime("%d %b").lstrip("0"),
                "title": f"{day.isoformat()}: {total} generations, {hits} cache hits",
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "base": base,
        "grid": [{"y": round(y(tick), 1), "label": tick} for tick in ticks],
        "bars": bars,
        "weekday_y": base + 17,
        "day_y": base + 32,
        "legend_x": width - right - 250,
        "total": sum(point["generations"] for point in points),
    }


def hbar_chart(
    rows: list[dict[str, Any]], *, value_key: str, scale_max: float | None = None, width: int = 560
) -> dict[str, Any]:
    """Horizontal bars, one row each, labelled on the left (`label`, `tag`), the value after the bar
    (`value_text`, default the value, then `detail`)."""
    label_w, row_h, bar_h, top, gap = 190, 34, 20, 10, 8
    rows = [
        {**row, "value_text": row.get("value_text", str(row[value_key])), "detail": row.get("detail", "")}
        for row in rows
    ]
    for row in rows:
        tag_w = text_width(f" {row.get('tag', '')}", SMALL_FONT)
        row["label"] = fit(str(row.get("label", "")), label_w - 10 - 4 - tag_w, LABEL_FONT, mono=True)
        row["value_w"] = text_width(f"{row['value_text']} ", VALUE_FONT, bold=True) + text_width(
            row["detail"], SMALL_FONT
        )
    value_w = max((row["value_w"] for row in rows), default=0) + gap + 4
    plot_w = width - label_w - value_w
    ticks = [0, 1, 2, 3, 4, 5] if scale_max == 5 else []
    top_value = scale_max or max((row[value_key] for row in rows), default=0) or 1
    axis_h = 22 if ticks else 0
    height = top + row_h * len(rows) + axis_h + 6
    bars = []
    for index, row in enumerate(rows):
        bar_w = max(row[value_key] / top_value * plot_w, 2)
        y = top + index * row_h
        bars.append(
            {
                **row,
                "y": y + (row_h - bar_h) / 2,
                "h": bar_h,
                "w": round(bar_w, 1),
                "text_y": y + row_h / 2 + 4,
                "value_x": round(label_w + bar_w + gap, 1),
            }
        )
    grid_bottom = top + row_h * len(rows)
    return {
        "width": width,
        "height": height,
        "label_x": label_w - 10,
        "x0": label_w,
        "bars": bars,
        "grid": [{"x": round(label_w + tick / top_value * plot_w, 1), "label": tick} for tick in ticks],
        "grid_top": top,
        "grid_bottom": grid_bottom,
        "axis_y": grid_bottom + 16,
    }


def rating_class(rating: float) -> str:
    return "pc-good" if rating >= 4 else "pc-fair" if rating >= 3 else "pc-poor"


def cache_chart(points: list[dict[str, Any]], *, width: int = 1000, height: int = 220) -> dict[str, Any]:
    """A donut of the period's hit rate beside a line of the daily hit rate (days without generations skipped)."""
    hits = sum(point["cache_hits"] for point in points)
    total = sum(point["generations"] for point in points)
    radius = 62
    circumference = 2 * math.pi * radius
    rate = hits / total if total else 0.0
    left, right, top, bottom = 250, 30, 18, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(points) - 1, 1)
    line = []
    for index, point in enumerate(points):
        if point["generations"]:
            value = point["cache_hits"] / point["generations"]
            x, label = left + index * slot, f"{value:.0%}"
            half = text_width(label, SMALL_FONT) / 2
            # Centred over its point, unless that would reach over the axis labels at the left or out at the right.
            anchor = "start" if x - half < left + 2 else "end" if x + half > width - 2 else "middle"
            line.append(
                {
                    "x": round(x, 1),
                    "y": round(top + plot_h - value * plot_h, 1),
                    "title": f"{point['bucket'].date().isoformat()}: {value:.0%} of {point['generations']}",
                    "label": label,
                    "anchor": anchor,
                }
            )
    labels = [
        {"x": round(left + index * slot, 1), "text": point["bucket"].date().strftime("%d %b").lstrip("0")}
        for index, point in enumerate(points)
    ]
    return {
        "width": width,
        "height": height,
        "cx": 110,
        "cy": height / 2 - 6,
        "r": radius,
        "circumference": round(circumference, 2),
        "dash": round(rate * circumference, 2),
        "percent": round(rate * 100),
        "hits": hits,
        "misses": total - hits,
        "total": total,
        "has_data": bool(total),
        "plot_left": left,
        "plot_right": width - right,
        "grid": [{"y": round(top + plot_h - share * plot_h, 1), "label": f"{share:.0%}"} for share in (0, 0.5, 1)],
        "points": line,
        "polyline": " ".join(f"{point['x']},{point['y']}" for point in line),
        "labels": labels,
        "label_y": top + plot_h + 18,
    }
