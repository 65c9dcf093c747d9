"""Every hour, delete stored webhooks past their retention (see `channels_app.tasks`)."""

from django.db import migrations

NAME = "relay.prune_raw_inbound"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={
            "func": "channels_app.tasks.prune_raw_inbound",
            "schedule_type": "I",
            "minutes": 60,
            "repeats": -1,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0005_raw_inbound"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
