"""Views that fail on purpose, to see how failures leave the service."""

from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from promptconfig.urls import urlpatterns as project_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_boom(request):
    raise RuntimeError("internal detail that must not leak")


def django_boom(request):
    raise RuntimeError("internal detail that must not leak")


urlpatterns = [
    path("api/v1/test/drf-boom", drf_boom),
    path("api/v1/test/django-boom", django_boom),
    path("", include(project_urlpatterns)),
]
