"""The generation records move to the `generation` app: the table is renamed (every row kept) and the model
leaves this app's state; generation/migrations/0001_initial.py takes it over."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0004_alter_templateevent_kind"),
        # The A/B metric events stop pointing at the table before it moves.
        ("abtests", "0002_metricevent_prompt_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable(name="generation", table="generation_generation")],
            state_operations=[migrations.DeleteModel(name="generation")],
        ),
    ]
