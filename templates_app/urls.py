from django.urls import re_path

from promptconfig.common.routers import ApiRouter
from templates_app import runtime_views
from templates_app.views import TemplateViewSet

router = ApiRouter()
router.register("templates", TemplateViewSet, basename="template")

PROMPT_ID = r"(?P<prompt_id>[^/]+)"
urlpatterns = [
    re_path(r"^prompts/generate/?$", runtime_views.GenerateView.as_view(), name="generate"),
    re_path(r"^prompts/generate/batch/?$", runtime_views.BatchGenerateView.as_view(), name="generate-batch"),
    re_path(r"^generate-prompt/?$", runtime_views.GeneratePromptView.as_view(), name="generate-prompt"),
    re_path(r"^prompt-data/?$", runtime_views.PromptDataView.as_view(), name="prompt-data"),
    re_path(rf"^prompts/{PROMPT_ID}/feedback/?$", runtime_views.FeedbackView.as_view(), name="prompt-feedback"),
    re_path(rf"^prompts/{PROMPT_ID}/?$", runtime_views.PromptDetailView.as_view(), name="prompt-detail"),
    re_path(r"^cache/stats/?$", runtime_views.CacheStatsView.as_view(), name="cache-stats"),
    re_path(r"^cache/invalidate/?$", runtime_views.CacheInvalidateView.as_view(), name="cache-invalidate"),
    re_path(r"^cache/warmup/?$", runtime_views.CacheWarmupView.as_view(), name="cache-warmup"),
    *router.urls,
]
