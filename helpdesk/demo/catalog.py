"""What the demo contains: people, teams, labels, canned responses, channels and customers.

Plain data only; `loader.py` turns it into rows through the services. Addresses use reserved
example domains and fictional number ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

MANAGER_PASSWORD = "manager-demo-pass"  # noqa: S105 (published demo login)
AGENT_PASSWORD = "agent-demo-pass"  # noqa: S105 (published demo login)


@dataclass(frozen=True)
class DemoAgent:
    username: str
    display_name: str
    language: str
    teams: tuple[str, ...]
    is_manager: bool = False


AGENTS = (
    DemoAgent("manager", "Morgan Ellis", "en", ("Support", "Returns"), is_manager=True),
    DemoAgent("amina", "Amina Haddad", "ar", ("Support",)),
    DemoAgent("lucas", "Lucas García", "es", ("Support", "Returns")),
    DemoAgent("sofia", "Sofia Conti", "it", ("Support", "Returns")),
    DemoAgent("ingrid", "Ingrid Solberg", "nb", ("Support",)),
    DemoAgent("camille", "Camille Laurent", "fr", ("Support",)),
)

TEAMS = {
    "Support": "First line for every channel.",
    "Returns": "Returns, exchanges and refunds.",
}

# Who answers which language (English is shared out).
AGENT_FOR_LANGUAGE = {
    "es": "lucas",
    "fr": "camille",
    "it": "sofia",
    "nb": "ingrid",
    "ar": "amina",
}
ENGLISH_ROTATION = ("amina", "camille", "lucas", "manager")

# name, title, colour
LABELS = (
    ("order-status", "Order status", "#2563eb"),
    ("returns", "Returns", "#7c3aed"),
    ("refund", "Refund", "#db2777"),
    ("payment", "Payment", "#dc2626"),
    ("shipping", "Shipping", "#0891b2"),
    ("complaint", "Complaint", "#ea580c"),
    ("vip", "VIP", "#ca8a04"),
    ("spam", "Spam", "#6b7280"),
)

# shortcut, team (None: everyone), text
CANNED = (
    (
        "hello",
        None,
        "Hi {{customer.first_name}}, {{agent.name}} here. Thanks for writing to us on "
        "{{channel.name}}, I'm looking into it now.",
    ),
    (
        "hola",
        None,
        "Hola {{customer.first_name}}, soy {{agent.name}}. Gracias por escribirnos, "
        "ahora mismo reviso tu consulta.",
    ),
    (
        "bonjour",
        None,
        "Bonjour {{customer.first_name}}, ici {{agent.name}}. Merci pour votre message, "
        "je regarde votre demande tout de suite.",
    ),
    (
        "ciao",
        None,
        "Ciao {{customer.first_name}}, sono {{agent.name}}. Grazie per averci scritto, "
        "controllo subito la tua richiesta.",
    ),
    (
        "hei",
        None,
        "Hei {{customer.first_name}}! Jeg heter {{agent.name}}. Takk for meldingen, "
        "jeg ser på saken din nå.",
    ),
    (
        "marhaba",
        None,
        "مرحبا {{customer.first_name}}، معك {{agent.name}}. شكرا لتواصلك معنا، "
        "سأتحقق من طلبك الآن.",
    ),
    (
        "return-label",
        "Returns",
        "Hi {{customer.first_name}}, I've sent a prepaid return label to {{customer.email}}. "
        "Please mention conversation #{{conversation.id}} on the parcel.",
    ),
    (
        "refund-started",
        "Returns",
        "Your refund is on its way, {{customer.first_name}}: it usually shows up on your "
        "statement within 3-5 working days.",
    ),
    (
        "sms-callback",
        None,
        "We'll call you back on {{customer.phone}} within the hour. - {{agent.name}}",
    ),
)

GREETING_FOR_LANGUAGE = {
    "en": "hello",
    "es": "hola",
    "fr": "bonjour",
    "it": "ciao",
    "nb": "hei",
    "ar": "marhaba",
}

# key, kind, name, settings, credentials
_TWILIO = {
    "account_sid": "ACdemo00000000000000000000000000",
    "auth_token": "demo",
    "sender": "+15005550006",
    "messaging_service_sid": "",
}
CHANNELS = (
    (
        "widget",
        "web_widget",
        "Shop website",
        # allowed_origins: set by the loader from PUBLIC_BASE_URL (the port `make run` serves).
        {"reply_time_minutes": 120},
        {},
    ),
    ("sms", "sms", "SMS", {}, dict(_TWILIO)),
    ("whatsapp", "whatsapp", "WhatsApp", {}, dict(_TWILIO)),
    ("email", "email", "Support email", {"address": "support@shop.example"}, {}),
    ("api", "api", "Order system API", {}, {}),
)


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    email: str
    phone: str
    time_zone: str


CUSTOMERS = {
    "en": (
        DemoCustomer(
            "Maya Thompson", "maya.thompson@example.com", "+447700900101", "Europe/London"
        ),
        DemoCustomer(
            "James O'Connor", "james.oconnor@example.net", "+15550100102", "America/New_York"
        ),
        DemoCustomer("Priya Patel", "priya.patel@example.com", "+447700900103", "Europe/London"),
        DemoCustomer("Daniel Carter", "dan.carter@example.org", "+15550100104", "America/Chicago"),
        DemoCustomer("Emily Walsh", "emily.walsh@example.com", "+353850000105", "Europe/Dublin"),
        DemoCustomer("Oliver Bennett", "oliver.b@example.net", "+447700900106", "Europe/London"),
        DemoCustomer("Grace Kim", "grace.kim@example.com", "+15550100107", "America/Los_Angeles"),
        DemoCustomer("Noah Fischer", "noah.fischer@example.org", "+15550100108", "America/Denver"),
        DemoCustomer(
            "Hannah Lewis", "hannah.lewis@example.com", "+61491570109", "Australia/Sydney"
        ),
        DemoCustomer(
            "Ethan Brooks", "ethan.brooks@example.net", "+15550100110", "America/New_York"
        ),
        DemoCustomer("Chloe Adams", "chloe.adams@example.com", "+447700900111", "Europe/London"),
    ),
    "es": (
        DemoCustomer(
            "Lucía Fernández", "lucia.fernandez@example.com", "+34600100201", "Europe/Madrid"
        ),
        DemoCustomer(
            "Javier Morales", "javier.morales@example.es", "+34600100202", "Europe/Madrid"
        ),
        DemoCustomer("Carmen Ruiz", "carmen.ruiz@example.com", "+34600100203", "Europe/Madrid"),
        DemoCustomer(
            "Diego Navarro", "diego.navarro@example.com", "+34600100204", "Atlantic/Canary"
        ),
        DemoCustomer(
            "Elena Castillo", "elena.castillo@example.es", "+34600100205", "Europe/Madrid"
        ),
    ),
    "fr": (
        DemoCustomer("Camille Dubois", "camille.dubois@example.fr", "+33612300301", "Europe/Paris"),
        DemoCustomer("Julien Moreau", "julien.moreau@example.com", "+33612300302", "Europe/Paris"),
        DemoCustomer("Chloé Lefebvre", "chloe.lefebvre@example.fr", "+33612300303", "Europe/Paris"),
        DemoCustomer(
            "Antoine Girard", "antoine.girard@example.com", "+32470300304", "Europe/Brussels"
        ),
        DemoCustomer("Manon Lambert", "manon.lambert@example.fr", "+33612300305", "Europe/Paris"),
        DemoCustomer("Hugo Bernard", "hugo.bernard@example.com", "+41791300306", "Europe/Zurich"),
    ),
    "it": (
        DemoCustomer("Giulia Bianchi", "giulia.bianchi@example.it", "+39347100401", "Europe/Rome"),
        DemoCustomer("Marco Rossi", "marco.rossi@example.com", "+39347100402", "Europe/Rome"),
        DemoCustomer(
            "Francesca Romano", "francesca.romano@example.it", "+39347100403", "Europe/Rome"
        ),
        DemoCustomer("Luca Ferrari", "luca.ferrari@example.com", "+39347100404", "Europe/Rome"),
    ),
    "nb": (
        DemoCustomer("Ingvild Hansen", "ingvild.hansen@example.no", "+4741000501", "Europe/Oslo"),
        DemoCustomer("Magnus Johansen", "magnus.johansen@example.no", "+4741000502", "Europe/Oslo"),
        DemoCustomer("Sigrid Larsen", "sigrid.larsen@example.com", "+4741000503", "Europe/Oslo"),
        DemoCustomer("Henrik Olsen", "henrik.olsen@example.no", "+4741000504", "Europe/Oslo"),
    ),
    "ar": (
        DemoCustomer("ليلى حداد", "layla.haddad@example.com", "+971500000601", "Asia/Dubai"),
        DemoCustomer("عمر خليل", "omar.khalil@example.com", "+966500000602", "Asia/Riyadh"),
        DemoCustomer("نور صالح", "nour.saleh@example.com", "+201000000603", "Africa/Cairo"),
        DemoCustomer("يوسف منصور", "youssef.mansour@example.com", "+962790000604", "Asia/Amman"),
    ),
}

# Samples that continue an earlier sample's customer (sample index -> earlier index): the
# "thanks" replies land in the same conversation; #38 is the same shopper as #0 by email.
SAME_CUSTOMER_AS = {8: 4, 15: 10, 26: 23, 31: 27, 36: 33, 38: 0}

# What happens to each conversation after the customer's message, by the sample's intent.
#   reply: the assignee answers with the greeting for the language
#   status: final status; team/labels/priority as named; note: a private note
SCENARIOS: dict[str, dict[str, object]] = {
    "order_status": {"labels": ("order-status",), "reply": True, "status": "pending"},
    "return_request": {
        "team": "Returns",
        "labels": ("returns",),
        "reply": True,
        "note": "Checked the order: eligible for a free return.",
    },
    "refund": {
        "team": "Returns",
        "labels": ("refund",),
        "priority": 3,
        "assign": False,
        "note": "Refund not visible in the payment provider yet - asked finance.",
    },
    "payment_issue": {
        "labels": ("payment", "vip"),
        "priority": 4,
        "note": "Double charge confirmed in the payment dashboard.",
    },
    "product_question": {"reply": True, "status": "resolved"},
    "shipping_cost": {"labels": ("shipping",), "reply": True, "status": "resolved"},
    "address_change": {"labels": ("order-status",), "reply": True, "status": "pending"},
    "cancel_order": {
        "reply": True,
        "status": "snoozed",
        "note": "Waiting for the warehouse to confirm the cancellation.",
    },
    "complaint": {"labels": ("complaint",), "priority": 3, "assign": False},
    "opt_out": {"status": "resolved", "note": "Customer asked to stop SMS messages."},
    "mixed": {"labels": ("spam",), "assign": False},
    "media": {"labels": ("returns",), "priority": 2, "assign": False},
    # A follow-up "thanks" reopens the conversation; the agent closes it again.
    "thanks": {"status": "resolved", "assign": False},
}

# Replies on these samples fail at the provider, so the admin and console show an error.
FAILED_DELIVERY = {1: ("30003", "Unreachable destination handset")}
