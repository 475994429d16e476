from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "promptconfig.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces and API keys"

    def ready(self) -> None:
        from promptconfig.workspaces import schema  # noqa: F401 - registers the auth scheme
