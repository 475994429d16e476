from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "promptconfig.workspaces"
    label = "workspaces"
    verbose_name = "Workspaces and API keys"
