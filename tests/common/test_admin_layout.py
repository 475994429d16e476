"""The authors' pages at 1400 px: nothing wider than the window, no table cell or chart label out of its box, no
two chart labels on top of each other. Screenshots go to a temporary directory (printed on failure)."""

import tempfile
from pathlib import Path

import pytest
from django.urls import reverse

from abtests.models import ABTest, Assignment, MetricEvent
from abtests.services import ab_test_analyze, ab_test_create
from promptconfig.workspaces.management.commands._demo.abtests import seed_ab_test
from promptconfig.workspaces.management.commands._demo.generations import seed_generations
from promptconfig.workspaces.management.commands._demo.profiles import seed_profiles
from promptconfig.workspaces.management.commands._demo.templates import seed_templates
from templates_app.models import PromptTemplate
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.browser import admin_login, open_page, wait_for

PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
LONG_A = "volcano-lesson-for-absolute-beginners-with-diagrams-and-a-quiz"
LONG_B = "volcano-lesson-for-absolute-beginners-storytelling-version-two"

# Everything that is out of its box, as readable strings (empty: all well).
LAYOUT_PROBLEMS = """
const problems = [];
const view = document.documentElement.clientWidth;
if (document.documentElement.scrollWidth > view + 1) {
  problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${view}px window`);
}
const box = (el) => el.getBoundingClientRect();
const name = (el) => `${el.tagName.toLowerCase()} "${(el.textContent || '').trim().slice(0, 40)}"`;
for (const el of document.querySelectorAll('#content *')) {
  const style = getComputedStyle(el);
  if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
    problems.push(`${name(el)} scrolls sideways: ${el.scrollWidth} > ${el.clientWidth}`);
  }
}
for (const table of document.querySelectorAll('#content table')) {
  const r = box(table);
  if (r.right > view + 1) problems.push(`${name(table)} ends at ${r.right} > ${view}`);
  for (const cell of table.querySelectorAll('td, th')) {
    if (cell.scrollWidth > cell.clientWidth + 1 && getComputedStyle(cell).overflow !== 'hidden') {
      problems.push(`cell ${name(cell)} overflows: ${cell.scrollWidth} > ${cell.clientWidth}`);
    }
  }
}
for (const svg of document.querySelectorAll('#content svg')) {
  const s = box(svg);
  const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim() && !t.closest('defs'));
  const rects = texts.map(box);
  texts.forEach((t, i) => {
    const r = rects[i];
    if (r.left < s.left - 1 || r.right > s.right + 1 || r.top < s.top - 1 || r.bottom > s.bottom + 1) {
      problems.push(`label ${name(t)} [${r.left}..${r.right}] outside its chart [${s.left}..${s.right}]`);
    }
    for (let j = i + 1; j < texts.length; j++) {
      const o = rects[j];
      const overlap = Math.min(r.right, o.right) - Math.max(r.left, o.left);
      const vertical = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
      if (overlap > 1 && vertical > 2 && !texts[j].contains(t) && !t.contains(texts[j])) {
        problems.push(`labels ${name(t)} and ${name(texts[j])} overlap`);
      }
    }
    for (const marker of svg.querySelectorAll('.ab-expected')) {
      const m = box(marker);
      if (m.left < r.right - 1 && m.right > r.left + 1 && m.top < r.bottom && m.bottom > r.top) {
        problems.push(`label ${name(t)} crosses the expected-split marker`);
      }
    }
  });
}
return problems;
"""


def near_the_marker_test(workspace) -> ABTest:
    """Long template keys, and counts whose labels would sit on the expected-split marker."""
    template_create(workspace=workspace, actor="t", key=LONG_A, name="A", template="Steps about {{ topic }}.")
    template_create(workspace=workspace, actor="t", key=LONG_B, name="B", template="A story about {{ topic }}.")
    test = ab_test_create(
        workspace=workspace,
        actor="t",
        name="Diagrams and quiz against storytelling for absolute beginners, second attempt",
        template_a=LONG_A,
        template_b=LONG_B,
        target_metrics=["effectiveness", "rating"],
    )
    for variant, users, base in (("A", 98, 0.7782), ("B", 102, 0.8123)):
        Assignment.objects.bulk_create(
            [Assignment(test=test, user_id=f"{variant}{i}", variant=variant) for i in range(users)]
        )
        MetricEvent.objects.bulk_create(
            [
                MetricEvent(test=test, user_id=f"{variant}{i}", variant=variant, metric=metric, value=value)
                for i in range(users)
                for metric, value in (("effectiveness", base + (i % 7) / 100), ("rating", 3 + (i % 3)))
            ]
        )
    ab_test_analyze(test_id=test.pk)
    return test


def check(browser, live_server, path: str, shots: Path, name: str, ready: str = "#content") -> None:
    open_page(browser, live_server.url, path)
    wait_for(browser, ready)
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1400, min(max(height + 140, 900), 5000))
    shot = shots / f"{name}.png"
    browser.save_screenshot(str(shot))
    browser.set_window_size(1400, 900)
    problems = browser.execute_script(LAYOUT_PROBLEMS)
    assert problems == [], f"{name} ({shot}): {problems}"


@pytest.mark.browser
def test_the_authors_pages_fit_1400_px_with_every_label_in_its_box(
    transactional_db, live_server, browser, django_user_model
):
    workspace = WorkspaceFactory()
    seed_templates(workspace=workspace)
    seed_profiles(workspace=workspace)
    seed_generations(workspace=workspace)
    seed_ab_test(workspace=workspace)
    stress = near_the_marker_test(workspace)
    seeded = ABTest.objects.filter(workspace=workspace).exclude(pk=stress.pk).get()
    template = PromptTemplate.objects.filter(workspace=workspace).order_by("key").first()
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    browser.set_window_size(1400, 900)
    admin_login(browser, live_server.url, "root", PASSWORD)
    shots = Path(tempfile.mkdtemp(prefix="pc-layout-"))

    change = reverse("admin:templates_app_prompttemplate_change", args=[template.pk])
    check(browser, live_server, change, shots, "template", "#pc-body-variables .pc-chip")
    check(
        browser,
        live_server,
        reverse("admin:templates_app_prompttemplate_preview", args=[template.pk]),
        shots,
        "preview",
    )
    check(browser, live_server, reverse("admin:templates_app_prompttemplate_changelist"), shots, "templates")
    check(browser, live_server, reverse("admin:templates_app_templateversion_changelist"), shots, "versions")
    check(browser, live_server, reverse("admin:abtests_abtest_changelist"), shots, "ab-list", "#result_list")
    winner = browser.find_element("css selector", "#result_list td.field-winner")
    assert winner.is_displayed() and winner.rect["x"] + winner.rect["width"] <= 1400
    for test in (seeded, stress):
        results = reverse("admin:abtests_abtest_results", args=[test.pk])
        check(browser, live_server, results, shots, f"ab-results-{test.pk}", "#chart-participants svg")
    labels = browser.execute_script(
        "return [...document.querySelectorAll('#chart-participants text')].map(t => t.textContent)"
    )
    assert labels[0].startswith("A · volcano-lesson") and labels[0].endswith("…") and "(49.0%)" in " ".join(labels)
    check(browser, live_server, reverse("admin-analytics") + f"?workspace={workspace.slug}", shots, "analytics", "svg")
    playground = reverse("admin-playground", args=[template.pk])
    check(browser, live_server, playground, shots, "playground", "#playground-not-configured")
    open_page(browser, live_server.url, reverse("admin:abtests_abtest_change", args=[stress.pk]))
    wait_for(browser, "#tool-results").click()
    wait_for(browser, "#chart-participants")
