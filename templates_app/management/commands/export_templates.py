from django.core.management.base import BaseCommand, CommandError

from promptconfig.common.errors import ApiError
from promptconfig.workspaces.models import Workspace
from templates_app.exchange import FORMATS, VERSIONS_MODES, dump_document, export_document


class Command(BaseCommand):
    help = (
        "Write a workspace's templates as one YAML (or JSON) document, the same bytes as GET /api/v1/export. "
        "Exit codes: 0 written, 2 unknown workspace or template, or an --output that cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--output", help="file to write (default: stdout)")
        parser.add_argument("--templates", default="", help="comma list of keys (default: every template)")
        parser.add_argument("--versions", choices=VERSIONS_MODES, default="served")
        parser.add_argument("--format", choices=FORMATS, default="yaml")

    def handle(self, *args, workspace: str, output: str | None, templates: str, versions: str, **options):
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"no workspace {workspace!r}", returncode=2)
        keys = [key.strip() for key in templates.split(",") if key.strip()]
        try:
            document = export_document(workspace=target, keys=keys or None, versions=versions)
        except ApiError as exc:
            raise CommandError(exc.message, returncode=2) from None
        text = dump_document(document, options["format"])
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="\n") as file:
                    file.write(text)
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
            self.stderr.write(f"Exported {len(document['templates'])} templates of {target.slug} to {output}")
        else:
            self.stdout.write(text, ending="")
