import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from promptconfig.workspaces.management.commands._demo.abtests import seed_ab_test
from promptconfig.workspaces.management.commands._demo.generations import seed_generations
from promptconfig.workspaces.management.commands._demo.profiles import seed_profiles
from promptconfig.workspaces.management.commands._demo.templates import seed_templates
from promptconfig.workspaces.models import ApiKey
from promptconfig.workspaces.services import api_key_create, api_key_revoke, workspace_get_or_create

DEMO_WORKSPACE = "demo"
DEMO_KEY_NAME = "seed_demo"
DEMO_ADMIN = "demo-admin"


class Command(BaseCommand):
    help = (
        "Idempotently create the demo workspace and data. The first run prints an admin API key and an admin login;"
        " later runs keep them (--new-key replaces both)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the service listens (printed)")
        parser.add_argument(
            "--new-key", action="store_true", help="revoke the demo key, make a new one and reset the admin password"
        )

    @transaction.atomic
    def handle(self, *args, base_url: str, new_key: bool, **options):
        base_url = base_url.rstrip("/")
        workspace = workspace_get_or_create(slug=DEMO_WORKSPACE, name="Demo workspace")
        live = ApiKey.objects.filter(workspace=workspace, name=DEMO_KEY_NAME, revoked_at__isnull=True)
        plaintext = None
        if new_key or not live.exists():
            for stale in live:  # one live demo key at a time
                api_key_revoke(api_key=stale, actor="system:seed_demo")
            _, plaintext = api_key_create(
                workspace=workspace, name=DEMO_KEY_NAME, scope=ApiKey.Scope.ADMIN, actor="system:seed_demo"
            )
        created = seed_templates(workspace=workspace)
        profiles = seed_profiles(workspace=workspace)
        generations = seed_generations(workspace=workspace)
        ab_test = seed_ab_test(workspace=workspace)
        password = self._demo_admin(reset=new_key)
        self.stdout.write(f"Demo workspace: {workspace.slug} ({created} seed templates created)")
        self.stdout.write(f"Demo data:      {profiles} learner profiles, {generations} generations created")
        self.stdout.write(f"Analytics:      {base_url}/admin/analytics/?workspace={workspace.slug}")
        self.stdout.write(
            f"A/B tests:      {base_url}/admin/abtests/abtest/  ({'a finished demo test' if ab_test else 'unchanged'})"
        )
        login = f"{DEMO_ADMIN} / {password}" if password else f"{DEMO_ADMIN}, password unchanged"
        self.stdout.write(f"Admin:          {base_url}/admin/  (login {login})")
        self.stdout.write(f"API docs:       {base_url}/api/docs/")
        if plaintext:
            self.stdout.write(f"API key (admin scope), shown once:\n{plaintext}")
        else:
            self.stdout.write("API key:        unchanged: the one printed before (seed_demo --new-key for a new one)")

    @staticmethod
    def _demo_admin(*, reset: bool) -> str | None:
        """The demo superuser; its new password when it was just created or `reset`, else None (unchanged)."""
        user, created = get_user_model().objects.get_or_create(username=DEMO_ADMIN)
        if not (created or reset):
            return None
        password = secrets.token_urlsafe(12)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
