from django.urls import re_path

from versions.views import DriftView, EnsureVersionView, ModelVersionsView

KEY = r"(?P<key>[a-z0-9][a-z0-9_-]{0,99})"

urlpatterns = [
    re_path(rf"^templates/{KEY}/ensure-version/?$", EnsureVersionView.as_view(), name="template-ensure-version"),
    re_path(rf"^templates/{KEY}/model-versions/?$", ModelVersionsView.as_view(), name="template-model-versions"),
    re_path(rf"^templates/{KEY}/drift/?$", DriftView.as_view(), name="template-drift"),
]
