"""Recurring jobs live in a migration so every deployment has them, not set up by hand."""

from django.db import migrations

SCHEDULES = [
    # name, func, minutes
    ("relay.heartbeat", "helpdesk.core.tasks.heartbeat", 1),
    ("relay.wake_snoozed", "helpdesk.conversations.tasks.wake_snoozed", 1),
    ("relay.prune_realtime_events", "helpdesk.core.tasks.prune_realtime_events", 60),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )


def remove(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
