from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from promptconfig.workspaces.models import ApiKey, Workspace


def run(*args) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()


def client_for(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_create_api_key_creates_the_workspace_and_prints_the_key_last(db):
    lines = run("create_api_key", "--workspace", "acme", "--scope", "admin", "--name", "deploy")
    plaintext = lines[-1]
    key = ApiKey.objects.get(name="deploy")
    assert key.workspace.slug == "acme" and key.scope == "admin"
    assert client_for(plaintext).get("/api/v1/api-keys").status_code == 200


def test_create_api_key_reuses_an_existing_workspace(db):
    run("create_api_key", "--workspace", "acme", "--scope", "read")
    run("create_api_key", "--workspace", "acme", "--scope", "write")
    assert Workspace.objects.filter(slug="acme").count() == 1
    assert ApiKey.objects.filter(workspace__slug="acme").count() == 2


@pytest.mark.parametrize("args", [["--workspace", "Bad Slug!", "--scope", "read"]])
def test_create_api_key_refuses_bad_input(db, args):
    with pytest.raises(CommandError):
        run("create_api_key", *args)


def test_create_api_key_refuses_an_unknown_scope(db):
    with pytest.raises(CommandError):
        run("create_api_key", "--workspace", "acme", "--scope", "root")


def login_of(lines: list[str]) -> tuple[str, str]:
    login = next(line for line in lines if "login" in line)
    username, password = login.split("login ")[1].rstrip(")").split(" / ")
    return username, password


def test_seed_demo_keeps_its_credentials_when_run_again(db):
    first = run("seed_demo", "--base-url", "http://127.0.0.1:8123/")
    second = run("seed_demo")
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert ApiKey.objects.filter(workspace__slug="demo", revoked_at__isnull=True).count() == 1
    assert client_for(first[-1]).get("/api/v1/api-keys").status_code == 200  # still the key printed first
    assert "unchanged" in second[-1] and not second[-1].startswith("pc_")
    assert any("http://127.0.0.1:8123/admin/" in line for line in first)  # the URL it was given
    username, password = login_of(first)
    assert "password unchanged" in next(line for line in second if "login" in line)
    user = get_user_model().objects.get(username=username)
    assert user.is_superuser and user.check_password(password)


def test_seed_demo_new_key_replaces_the_key_and_the_password(db):
    first = run("seed_demo")
    renewed = run("seed_demo", "--new-key")
    assert client_for(renewed[-1]).get("/api/v1/api-keys").status_code == 200
    assert client_for(first[-1]).get("/api/v1/api-keys").status_code == 401
    username, password = login_of(renewed)
    assert get_user_model().objects.get(username=username).check_password(password)
    assert password != login_of(first)[1]


def test_create_api_key_says_when_it_creates_the_workspace(db):
    err = StringIO()
    call_command("create_api_key", "--workspace", "acme", "--scope", "read", stdout=StringIO(), stderr=err)
    assert "Created workspace acme" in err.getvalue()
    err = StringIO()
    call_command("create_api_key", "--workspace", "acme", "--scope", "read", stdout=StringIO(), stderr=err)
    assert "Created workspace" not in err.getvalue()


def test_list_and_revoke_api_keys(db):
    plaintext = run("create_api_key", "--workspace", "acme", "--scope", "write", "--name", "ci")[-1]
    key = ApiKey.objects.get(name="ci")
    listed = run("list_api_keys", "--workspace", "acme")
    assert any(key.prefix in line and "write" in line and "active" in line for line in listed)
    assert plaintext not in "\n".join(listed)
    assert "Revoked" in run("revoke_api_key", "--workspace", "acme", key.prefix)[-1]
    assert client_for(plaintext).get("/api/v1/templates").status_code == 401
    assert run("revoke_api_key", "--workspace", "acme", key.prefix)[-1].startswith("Already revoked")
    assert not any(key.prefix in line for line in run("list_api_keys", "--workspace", "acme"))
    assert any("revoked" in line for line in run("list_api_keys", "--workspace", "acme", "--all"))
    with pytest.raises(CommandError):
        run("revoke_api_key", "--workspace", "acme", "nope")
    with pytest.raises(CommandError):
        run("list_api_keys", "--workspace", "nowhere")


def test_seed_demo_creates_the_seed_templates_once(db):
    from templates_app.models import PromptTemplate

    run("seed_demo")
    run("seed_demo")
    templates = PromptTemplate.objects.filter(workspace__slug="demo")
    keys = set(templates.values_list("key", "language"))
    assert {("content_gen_visual", "en"), ("content_gen_textual", "en"), ("content_gen_visual", "de")} <= keys
    assert templates.count() == len(keys)
    assert len(set(templates.values_list("category", flat=True))) >= 3
    node = templates.filter(node_name="generating_content").values_list("key", flat=True).distinct()
    assert set(node) == {"content_gen_visual"}
    assert all(template.served_version.number == 1 for template in templates)
