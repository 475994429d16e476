"""A live PromptConfig under gunicorn (PostgreSQL, Redis) with a template, a profile and a read key."""

from dataclasses import dataclass

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from profiles.services import profile_create
from promptconfig.workspaces.services import api_key_create
from templates_app.services import template_create
from tests.support.servers import Served, database_url_for_tests, gunicorn_process, scrape

LESSON = (
    "Teach {{ topic }} to a {{ learning_style }} learner at {{ difficulty }} level."
    "{% if additional_context is defined %} Note: {{ additional_context }}{% endif %}"
)


@dataclass
class Live:
    served: Served
    key: str
    env: dict

    @property
    def url(self) -> str:
        return self.served.url

    def answered(self, view: str, status: str | None = None) -> int:
        """How many requests the server answered for a URL name (and status), from its own /metrics."""
        text = scrape(self.url)
        total = 0
        for family in text_string_to_metric_families(text):
            if family.name != "django_http_responses_total_by_status_view_method":
                continue
            for sample in family.samples:
                if sample.labels.get("view") == view and status in (None, sample.labels.get("status")):
                    total += int(sample.value)
        return total


@pytest.fixture
def live(transactional_db, workspace, tmp_path):
    template_create(
        workspace=workspace, actor="t", key="lesson", name="Lesson", template=LESSON, node_name="generating_content"
    )
    profile_create(workspace=workspace, user_id="u42", learning_style="visual", difficulty_level="advanced")
    _, key = api_key_create(workspace=workspace, name="client", scope="read")
    env = {"DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL}
    with gunicorn_process(env, workers=1, log_path=tmp_path / "gunicorn.log") as served:
        yield Live(served=served, key=key, env=env)
