"""Minimal Django 5.x + DRF settings: the 'physical limit' anchor.

No database, no sessions, no auth, no middleware: only what an APIView needs.
Set ANCHOR_MIDDLEWARE=default to get the stock `startproject` middleware stack
(without the auth/session/messages ones, which need a DB) for comparison.
"""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "anchor.urls"
WSGI_APPLICATION = "anchor.wsgi.application"
USE_TZ = True
DATABASES = {}

INSTALLED_APPS = [
    "django.contrib.contenttypes",  # DRF imports it
    "django.contrib.auth",  # DRF imports it; no DB queries are made
    "rest_framework",
]

if os.environ.get("ANCHOR_MIDDLEWARE") == "default":
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
else:
    MIDDLEWARE = []

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {"version": 1, "disable_existing_loggers": False}
