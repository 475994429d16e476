"""The template history moves into the workspace's event log (promptconfig.events): every TemplateEvent row
becomes an Event (`template.<kind>`, `model_version.drift`) in the same order, then the table goes."""

from django.db import migrations

BATCH = 2000
TYPES = {"model_drift": "model_version.drift"}


def forwards(apps, schema_editor):
    TemplateEvent = apps.get_model("templates_app", "TemplateEvent")
    Event = apps.get_model("events", "Event")
    rows = TemplateEvent.objects.select_related("template", "version").order_by("created_at", "id")
    position = Event.objects.order_by("-position").values_list("position", flat=True).first() or 0
    batch = []
    for row in rows.iterator(chunk_size=BATCH):
        template = row.template
        position += 1
        data = {"language": template.language}
        if row.version_id is not None:
            data["version"] = row.version.number
        data.update(row.data or {})
        batch.append(
            Event(
                workspace_id=template.workspace_id,
                type=TYPES.get(row.kind, f"template.{row.kind}"),
                occurred_at=row.created_at,
                actor=row.actor or "system",
                subject_kind="template",
                subject_id=template.key,
                subject_pk=template.pk,
                data=data,
                position=position,
            )
        )
        if len(batch) >= BATCH:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)


def backwards(apps, schema_editor):
    TemplateEvent = apps.get_model("templates_app", "TemplateEvent")
    TemplateVersion = apps.get_model("templates_app", "TemplateVersion")
    Event = apps.get_model("events", "Event")
    kinds = {value: key for key, value in TYPES.items()}
    for event in Event.objects.filter(subject_kind="template", subject_pk__isnull=False).order_by("id").iterator():
        data = dict(event.data)
        number = data.pop("version", None)
        data.pop("language", None)
        kind = kinds.get(event.type, event.type.removeprefix("template."))
        version = TemplateVersion.objects.filter(template_id=event.subject_pk, number=number).first()
        row = TemplateEvent.objects.create(
            template_id=event.subject_pk, version=version, kind=kind[:24], actor=event.actor, data=data
        )
        TemplateEvent.objects.filter(pk=row.pk).update(created_at=event.occurred_at)
    Event.objects.filter(subject_kind="template", subject_pk__isnull=False).delete()  # forwards copies them back


class Migration(migrations.Migration):
    dependencies = [
        ("templates_app", "0006_refinement"),
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="TemplateEvent"),
    ]
