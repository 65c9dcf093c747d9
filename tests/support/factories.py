"""factory_boy factories for the core domain. Apps add their own next to their tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from helpdesk.agents.models import AgentProfile, Team
from helpdesk.conversations.models import CannedResponse, Conversation, Label, Message
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.inboxes.models import Channel


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    # Hashed before the INSERT, so the stored password matches (force_login checks its hash).
    password = factory.django.Password("pw-for-tests-1")


class AgentFactory(UserFactory):
    profile = factory.RelatedFactory(
        "tests.support.factories.AgentProfileFactory", factory_related_name="user"
    )


class ManagerFactory(AgentFactory):
    username = factory.Sequence(lambda n: f"manager{n}")
    is_staff = True
    is_superuser = True


class AgentProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    display_name = factory.LazyAttribute(lambda o: o.user.username.title())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    kind = "web_widget"
    name = factory.Sequence(lambda n: f"Channel {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactIdentity

    customer = factory.SubFactory(CustomerFactory)
    kind = "email"
    address = factory.Sequence(lambda n: f"shopper{n}@example.test")


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    channel = factory.SubFactory(ChannelFactory)
    last_activity_at = factory.LazyFunction(timezone.now)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message
        skip_postgeneration_save = True

    conversation = factory.SubFactory(ConversationFactory)
    channel = factory.LazyAttribute(lambda o: o.conversation.channel)
    direction = "inbound"
    kind = "message"
    sender_type = "customer"
    text = factory.Sequence(lambda n: f"Message {n}")

    @factory.post_generation
    def newest_inbound(obj: Message, create: bool, extracted: object, **kwargs: object) -> None:
        """As the inbound service does: the conversation remembers its newest customer message."""
        if create and obj.direction == "inbound":
            Conversation.objects.filter(
                pk=obj.conversation_id, last_inbound_message_id__lt=obj.pk
            ).update(last_inbound_message_id=obj.pk)


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    name = factory.Sequence(lambda n: f"label-{n}")


class CannedResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedResponse

    shortcut = factory.Sequence(lambda n: f"canned{n}")
    text = "Hi {{customer.first_name}}, thanks for writing!"
