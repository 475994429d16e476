from django.core.management.base import BaseCommand, CommandError

from promptconfig.workspaces.models import Workspace
from promptconfig.workspaces.selectors import api_key_list


class Command(BaseCommand):
    help = "List a workspace's API keys (never their plaintext): id, prefix, scope, name, state, last use."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--all", action="store_true", dest="include_revoked", help="include revoked keys")

    def handle(self, *args, workspace: str, include_revoked: bool, **options):
        target = Workspace.objects.filter(slug=workspace).first()
        if target is None:
            raise CommandError(f"no workspace {workspace!r}")
        keys = api_key_list(workspace=target)
        if not include_revoked:
            keys = keys.filter(revoked_at__isnull=True)
        self.stdout.write(f"{'id':>6}  {'prefix':<12} {'scope':<6} {'state':<8} {'last used':<20} name")
        for key in keys:
            used = key.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if key.last_used_at else "never"
            state = "active" if key.is_active else "revoked"
            self.stdout.write(f"{key.pk:>6}  {key.prefix:<12} {key.scope:<6} {state:<8} {used:<20} {key.name}")
