"""Measured chart texts: labels fit their column, values fit the chart, counts never sit on the split marker."""

from abtests.charts import LABEL_W, WIDTH, metric_chart, participants_chart
from generation.charts import hbar_chart
from promptconfig.common.textwidth import fit, text_width


def test_text_width_is_wider_for_wider_letters_and_fit_shortens_with_an_ellipsis():
    assert text_width("WWWW", 13) > text_width("iiii", 13) > 0
    assert text_width("abc", 12, mono=True) == text_width("iii", 12, mono=True)
    assert text_width("abc", 13, bold=True) > text_width("abc", 13)
    assert fit("short", 200, 13) == "short"
    long = "A · volcano-lesson-for-absolute-beginners-with-diagrams"
    shortened = fit(long, 120, 13)
    assert shortened.startswith("A · volc") and shortened.endswith("…") and text_width(shortened, 13) <= 120
    assert fit(long, 1, 13) == ""


def results(a_key: str, b_key: str, a: int, b: int) -> dict:
    arm = lambda key, n, mean: {  # noqa: E731
        "template": key,
        "participants": n,
        "metrics": {"effectiveness": mean},
        "samples": {"effectiveness": n},
        "std": {"effectiveness": 0.1},
    }
    return {
        "results": {"template_a": arm(a_key, a, 0.7782), "template_b": arm(b_key, b, 123456.789)},
        "p_values": {"effectiveness": 0.03},
        "primary_metric": "effectiveness",
        "differences": {},
    }


def test_ab_labels_fit_their_column_and_values_fit_the_chart():
    data = results("x" * 80, "volcano-lesson-for-absolute-beginners", 98, 102)
    for chart in (participants_chart(data, 0.5), metric_chart(data, "effectiveness")):
        for row in chart["rows"]:
            assert text_width(row["label"], 13) <= LABEL_W - 10
            assert row["label"][:4] in ("A · ", "B · ")
            assert row["value_x"] + text_width(row["value"], 13) <= WIDTH
    assert metric_chart(data, "effectiveness")["rows"][0]["value"].startswith("0.78 (n=98)")


def test_a_count_never_sits_on_the_expected_split_marker():
    for a, b in ((98, 102), (50, 50), (10, 90), (0, 7), (1000, 1010)):
        for row in participants_chart(results("a", "b", a, b), 0.5)["rows"]:
            start, end = row["value_x"], row["value_x"] + text_width(row["value"], 13)
            assert not (start - 1 <= row["expected_x"] <= end + 1), (a, b, row)
            assert row["value_x"] >= row["x0"] + row["w"]


def test_hbar_labels_and_values_fit():
    rows = [
        {
            "label": "content_generation_for_visual_learners_extended",
            "tag": "en",
            "generations": 123456,
            "detail": "★ 4.1",
        },
        {"label": "quiz", "tag": "de-AT", "generations": 3, "detail": ""},
    ]
    chart = hbar_chart(rows, value_key="generations")
    for bar in chart["bars"]:
        label_w = text_width(bar["label"], 12, mono=True) + text_width(f" {bar['tag']}", 11)
        assert label_w <= chart["label_x"]
        assert bar["value_x"] + bar["value_w"] <= chart["width"]
    assert chart["bars"][0]["label"].endswith("…") and chart["bars"][1]["label"] == "quiz"
