from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"

    def ready(self) -> None:
        from django.contrib import admin

        # django.contrib.admin is installed before this app, so its own admin/index.html wins the template
        # lookup: point the site at ours (it extends that one with a link to the analytics page).
        admin.site.index_template = admin.site.index_template or "admin/analytics_index.html"
