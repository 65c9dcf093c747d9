"""A partial index on parked webhooks, so /healthz counts them without reading the done rows
kept for a week. Building it reads the table once."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0007_outbound_attempt_reconciliations'),
        ('inboxes', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='rawinbound',
            index=models.Index(condition=models.Q(('state', 'parked')), fields=['id'], name='raw_inbound_parked'),
        ),
    ]
