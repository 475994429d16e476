from django.core.management.base import BaseCommand, CommandError

from promptconfig.workspaces.models import ApiKey
from promptconfig.workspaces.services import api_key_revoke


class Command(BaseCommand):
    help = (
        "Revoke an API key by its id or prefix (as list_api_keys shows them): it is refused from then on "
        "(within 60 s by a server on the embedded default's local-memory cache)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("key", help="the key's id or prefix")

    def handle(self, *args, workspace: str, key: str, **options):
        keys = ApiKey.objects.filter(workspace__slug=workspace)
        matches = list(keys.filter(pk=int(key)) if key.isascii() and key.isdigit() else keys.filter(prefix=key))
        if len(matches) != 1:
            raise CommandError(f"no single API key {key!r} in workspace {workspace!r}")
        api_key = matches[0]
        if api_key.revoked_at is not None:  # idempotent: nothing to do, and not said to be done now
            self.stdout.write(f"Already revoked {api_key.prefix}… (at {api_key.revoked_at:%Y-%m-%d %H:%M:%S} UTC)")
            return
        api_key_revoke(api_key=api_key, actor="system:revoke_api_key")
        self.stdout.write(f"Revoked {api_key.prefix}… ({api_key.scope}, {api_key.name})")
