"""/api/v1/analytics/...: the paths are served with and without a trailing slash, like the routers' ones."""

from django.urls import re_path

from templates_app.analytics_views import SummaryView, TemplateAnalyticsView, UsageView

KEY = r"(?P<key>[a-z0-9][a-z0-9_-]{0,99})"

urlpatterns = [
    re_path(r"^analytics/summary/?$", SummaryView.as_view(), name="analytics-summary"),
    re_path(rf"^analytics/templates/{KEY}/?$", TemplateAnalyticsView.as_view(), name="analytics-template"),
    re_path(r"^analytics/usage/?$", UsageView.as_view(), name="analytics-usage"),
]
