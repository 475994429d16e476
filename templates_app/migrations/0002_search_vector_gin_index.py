from django.db import migrations

INDEX = "templates_app_prompttemplate_search_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON templates_app_prompttemplate USING gin (search_vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    """Full-text search over templates uses a GIN index on PostgreSQL; SQLite falls back to word matching."""

    dependencies = [("templates_app", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
