"""Durable accept for provider webhooks.

The web process verifies a webhook's signature, stores it as one `RawInbound` row and answers;
nothing else happens in the request (`accept`, `store`, `asgi`). The ingest process
(`manage.py run_ingest`) turns pending rows into customers, conversations and messages in
batches (`processor`), woken at once by PostgreSQL NOTIFY (`wakeup`). Each provider registers
how to process its kinds of row in `handlers.HANDLERS`.
"""
