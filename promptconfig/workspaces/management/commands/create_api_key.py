from django.core.management.base import BaseCommand, CommandError
from django.core.validators import ValidationError

from promptconfig.workspaces.models import SLUG_VALIDATOR, ApiKey, Workspace
from promptconfig.workspaces.services import api_key_create, workspace_get_or_create


class Command(BaseCommand):
    help = "Create an API key (creating the workspace if needed); the key is the last line of stdout."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--scope", required=True, choices=ApiKey.Scope.values)
        parser.add_argument("--name", default="", help="a label for the key")

    def handle(self, *args, workspace: str, scope: str, name: str, **options):
        try:
            SLUG_VALIDATOR(workspace)
        except ValidationError:
            raise CommandError(f"invalid workspace slug {workspace!r}") from None
        created = not Workspace.objects.filter(slug=workspace).exists()
        target = workspace_get_or_create(slug=workspace)
        if created:
            self.stderr.write(f"Created workspace {target.slug} (it did not exist)")
        api_key, plaintext = api_key_create(
            workspace=target, name=name or f"{scope} key", scope=scope, actor="system:create_api_key"
        )
        self.stderr.write(f"Created {scope} key {api_key.prefix}… for workspace {target.slug}")
        self.stdout.write(plaintext)
