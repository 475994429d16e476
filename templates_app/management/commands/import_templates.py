import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.core.validators import ValidationError
from django.db import transaction

from promptconfig.common.errors import ApiError, Conflict
from promptconfig.workspaces.models import SLUG_VALIDATOR, Workspace
from promptconfig.workspaces.services import workspace_get_or_create
from templates_app.import_plan import ImportConflict, import_document

APPLIED, CONFLICTS, INVALID = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Import a document written by export_templates (or GET /api/v1/export) into a workspace, created if "
        "missing: the plan, then (without --dry-run) all of it applied in one transaction. Exit codes: 0 applied "
        "or nothing to do, 1 conflicts (nothing applied), 2 invalid file."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("file", help="the YAML or JSON document ('-' for stdin)")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
        parser.add_argument("--json", action="store_true", help="print the answer of POST /api/v1/import")

    def handle(self, *args, workspace: str, file: str, dry_run: bool, **options):
        try:
            SLUG_VALIDATOR(workspace)
        except ValidationError:
            raise CommandError(f"invalid workspace slug {workspace!r}", returncode=INVALID) from None
        try:
            if file == "-":
                raw = sys.stdin.buffer.read()
            else:
                with open(file, "rb") as stream:
                    raw = stream.read()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}", returncode=INVALID) from None
        try:
            with transaction.atomic():
                missing = not Workspace.objects.filter(slug=workspace).exists()
                target = workspace_get_or_create(slug=workspace)
                answer = import_document(
                    workspace=target,
                    actor="command:import_templates",
                    raw=raw,
                    json_only=file.endswith(".json"),
                    dry_run=dry_run,
                )
                if dry_run and missing:
                    transaction.set_rollback(True)  # a dry run creates no workspace either
        except ImportConflict as exc:
            self._report(exc.details, options["json"])
            raise CommandError(str(exc.message), returncode=CONFLICTS) from None
        except Conflict as exc:
            raise CommandError(exc.message, returncode=CONFLICTS) from None
        except ApiError as exc:
            raise CommandError(exc.message, returncode=INVALID) from None
        self._report(answer, options["json"])
        conflicts = sum(row["action"] == "conflict" for row in answer["plan"])
        if conflicts:
            raise CommandError(f"{conflicts} templates conflict; nothing would be applied.", returncode=CONFLICTS)
        if missing and not dry_run:
            self.stderr.write(f"Created workspace {workspace} (it did not exist)")
        changes = sum(row["action"] in ("create", "new_version") for row in answer["plan"])
        verb = "would change" if dry_run else "changed"
        self.stderr.write(f"{verb} {changes} of {len(answer['plan'])} templates")

    def _report(self, answer: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps(answer, indent=2))
            return
        for row in answer["plan"]:
            reason = f"  ({row['reason']})" if row.get("reason") else ""
            self.stdout.write(f"{row['action']:<12} {row['key']} [{row['language']}]{reason}")
