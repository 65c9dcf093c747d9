from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery


def backfill(apps, schema_editor):
    Conversation = apps.get_model("conversations", "Conversation")
    Message = apps.get_model("conversations", "Message")
    newest = (
        Message.objects.filter(conversation=OuterRef("pk"), direction="inbound")
        .values("conversation")
        .annotate(top=Max("id"))
        .values("top")
    )
    Conversation.objects.filter(
        pk__in=Message.objects.filter(direction="inbound").values("conversation_id")
    ).update(last_inbound_message_id=Subquery(newest))


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0003_message_search_document"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="last_inbound_message_id",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
