"""export_templates and import_templates: the files and exit codes a CI pipeline uses."""

import os
import subprocess
import sys
from io import StringIO

import pytest
import yaml
from django.core.management import CommandError, call_command

from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate
from templates_app.services import template_create
from tests.support.servers import ROOT, database_url_for_tests

pytestmark = pytest.mark.postgres


def export(slug: str, path, *extra: str) -> str:
    call_command("export_templates", "--workspace", slug, "--output", str(path), *extra, stderr=StringIO())
    return path.read_text()


def run_import(slug: str, path, *extra: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("import_templates", "--workspace", slug, str(path), *extra, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def test_export_then_import_into_a_new_workspace_then_nothing_to_do(workspace, tmp_path):
    template_create(workspace=workspace, actor="t", key="header", name="H", template="Header\n")
    template_create(workspace=workspace, actor="t", key="lesson", name="L", template="{% include 'header' %} {{ t }}")
    first = export(workspace.slug, tmp_path / "a.yaml", "--versions", "all")
    stdout = StringIO()
    call_command("export_templates", "--workspace", workspace.slug, "--versions", "all", stdout=stdout)
    assert stdout.getvalue() == first and yaml.safe_load(first)["templates"][1]["key"] == "lesson"

    assert run_import("staging", tmp_path / "a.yaml", "--dry-run") == (
        0,
        "create       header [en]\ncreate       lesson [en]\n",
    )
    assert not Workspace.objects.filter(slug="staging").exists()  # a dry run creates nothing, not even the workspace
    assert run_import("staging", tmp_path / "a.yaml")[0] == 0
    assert PromptTemplate.objects.filter(workspace__slug="staging").count() == 2
    assert export("staging", tmp_path / "b.yaml", "--versions", "all") == first
    code, out = run_import("staging", tmp_path / "a.yaml")
    assert code == 0 and out.split() == ["unchanged", "header", "[en]", "unchanged", "lesson", "[en]"]


def test_exit_codes_for_conflicts_and_invalid_files(workspace, tmp_path):
    template_create(workspace=workspace, actor="t", key="a", name="A", template="A", status="draft")
    document = {
        "format": "promptconfig/v1",
        "templates": [{"key": "a", "name": "A", "template": "A", "status": "archived"}],
    }
    (tmp_path / "conflict.yaml").write_text(yaml.safe_dump(document))
    code, out = run_import(workspace.slug, tmp_path / "conflict.yaml")
    assert code == 1 and "conflict     a [en]" in out
    assert run_import(workspace.slug, tmp_path / "conflict.yaml", "--dry-run")[0] == 1
    (tmp_path / "bad.yaml").write_text("format: promptconfig/v1\ntemplates:\n- key: b\n  nme: B\n")
    code, out = run_import(workspace.slug, tmp_path / "bad.yaml")
    assert code == 2 and "line 4" in out and "templates[0].nme" in out
    assert run_import(workspace.slug, tmp_path / "missing.yaml")[0] == 2
    with pytest.raises(CommandError) as raised:
        export("nope", tmp_path / "x.yaml")
    assert raised.value.returncode == 2
    for unwritable in (tmp_path, tmp_path / "no" / "such" / "dir.yaml"):  # a directory; a missing folder
        with pytest.raises(CommandError) as raised:
            export(workspace.slug, unwritable)
        assert raised.value.returncode == 2 and str(raised.value).startswith(f"cannot write {unwritable}")


def test_the_process_exit_code(transactional_db, tmp_path):
    (tmp_path / "bad.json").write_text('{"format": "promptconfig/v1", "templates": [')
    env = {**os.environ, "DATABASE_URL": database_url_for_tests(), "SECRET_KEY": "test-secret-key", "DEBUG": "0"}
    command = [sys.executable, "manage.py", "import_templates", "--workspace", "ci", str(tmp_path / "bad.json")]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Invalid JSON at line 1" in result.stderr


def test_the_command_has_no_per_call_version_limit(workspace, tmp_path, settings):
    settings.IMPORT_MAX_VERSIONS = 1
    template_create(workspace=workspace, actor="t", key="a", name="A", template="A")
    template_create(workspace=workspace, actor="t", key="b", name="B", template="B")
    export(workspace.slug, tmp_path / "a.yaml")
    assert run_import("elsewhere", tmp_path / "a.yaml")[0] == 0
    assert PromptTemplate.objects.filter(workspace__slug="elsewhere").count() == 2
