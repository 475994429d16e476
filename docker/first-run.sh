#!/bin/sh
# First run under compose: migrate, create the admin's superuser and the first API key.
#   docker/first-run.sh WORKSPACE_SLUG [SCOPE]
# From the repository root, with the compose variables set (SECRET_KEY, METRICS_TOKEN, GRAFANA_ADMIN_PASSWORD).
# createsuperuser asks for the username and password; set DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL
# and DJANGO_SUPERUSER_PASSWORD to run it without questions. The key is printed once: keep it.
set -eu

workspace="${1:?usage: docker/first-run.sh WORKSPACE_SLUG [read|write|admin]}"
scope="${2:-admin}"
compose="docker compose -f docker/compose.yaml"

$compose up -d postgres redis
$compose run --rm migrate
if [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  $compose run --rm -e DJANGO_SUPERUSER_USERNAME -e DJANGO_SUPERUSER_EMAIL -e DJANGO_SUPERUSER_PASSWORD \
    web python manage.py createsuperuser --noinput
else
  $compose run --rm web python manage.py createsuperuser
fi
$compose run --rm web python manage.py create_api_key --workspace "$workspace" --scope "$scope" --name first-key \
  | tail -n 1
