"""The runtime and analytics routes under /api/v1/, served with and without a trailing slash like the routers'
ones. The root URLconf puts them first: they are the hot paths, and patterns are tried in order."""

from django.urls import re_path

from generation import views

PROMPT_ID = r"(?P<prompt_id>[^/]+)"
KEY = r"(?P<key>[a-z0-9][a-z0-9_-]{0,99})"

urlpatterns = [
    re_path(r"^prompts/generate/?$", views.GenerateView.as_view(), name="generate"),
    re_path(r"^prompts/generate/batch/?$", views.BatchGenerateView.as_view(), name="generate-batch"),
    re_path(r"^generate-prompt/?$", views.GeneratePromptView.as_view(), name="generate-prompt"),
    re_path(r"^prompt-data/?$", views.PromptDataView.as_view(), name="prompt-data"),
    re_path(r"^prompt-data/batch/?$", views.PromptDataBatchView.as_view(), name="prompt-data-batch"),
    re_path(rf"^prompts/{PROMPT_ID}/feedback/?$", views.FeedbackView.as_view(), name="prompt-feedback"),
    re_path(rf"^prompts/{PROMPT_ID}/?$", views.PromptDetailView.as_view(), name="prompt-detail"),
    re_path(r"^cache/stats/?$", views.CacheStatsView.as_view(), name="cache-stats"),
    re_path(r"^cache/invalidate/?$", views.CacheInvalidateView.as_view(), name="cache-invalidate"),
    re_path(r"^cache/warmup/?$", views.CacheWarmupView.as_view(), name="cache-warmup"),
    re_path(r"^analytics/summary/?$", views.SummaryView.as_view(), name="analytics-summary"),
    re_path(rf"^analytics/templates/{KEY}/?$", views.TemplateAnalyticsView.as_view(), name="analytics-template"),
    re_path(r"^analytics/usage/?$", views.UsageView.as_view(), name="analytics-usage"),
]
