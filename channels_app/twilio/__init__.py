"""Twilio SMS and WhatsApp: signed webhooks (views), parsing, delivery, status callbacks."""
