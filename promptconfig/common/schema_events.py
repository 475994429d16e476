"""What the OpenAPI document says of the event log and the webhooks (merged into schema_operations.OPERATIONS)."""

EVENT_TAGS = [
    ("events", "The workspace's append-only event log: every state change, with who made it."),
    ("webhooks", "Subscriptions that receive events as signed HTTP POSTs (Standard Webhooks; admin scope)."),
]

WEBHOOK_EXAMPLE = {
    "url": "https://hooks.example.com/promptconfig",
    "events": ["template.published", "template.dependency_changed", "ab_test.*"],
    "description": "Refresh the prompt cache of the tutoring service",
}

# operationId -> (tag, summary, description, request example, operation-specific errors)
EVENT_OPERATIONS: dict[str, tuple[str, str, str, dict | None, tuple[str, ...]]] = {
    "v1_events_list": (
        "events",
        "List events",
        "The workspace's events, oldest first: `{id, type, occurred_at, actor, subject: {kind, id}, data}`. Paged by "
        "a cursor: follow `next` (it carries `after`, the last event's id) until it is null; events that commit "
        "meanwhile are never skipped. Filters: `type` (an event type, or `template.*`), `subject_kind`, "
        "`subject_id`, `after`. An `after` that is not an event of the workspace is 404. Read scope.",
        None,
        ("404",),
    ),
    "v1_webhooks_list": (
        "webhooks",
        "List webhooks",
        "The workspace's webhook subscriptions, paginated (never their secrets). Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_create": (
        "webhooks",
        "Create a webhook",
        "Subscribes `url` to the events whose type matches one of `events` (`template.published`, `ab_test.*`, "
        "`*`). The answer carries the signing `secret`, shown this once. A URL that resolves to a loopback, "
        "private, link-local, multicast or reserved address is 400. Admin scope.",
        WEBHOOK_EXAMPLE,
        (),
    ),
    "v1_webhooks_retrieve": ("webhooks", "Get a webhook", "One webhook subscription. Admin scope.", None, ()),
    "v1_webhooks_partial_update": (
        "webhooks",
        "Update a webhook",
        "Changes `url`, `events`, `description` or `is_active`; turning a disabled webhook back on clears its "
        "failure count. Admin scope.",
        {"events": ["template.*"], "is_active": True},
        (),
    ),
    "v1_webhooks_destroy": (
        "webhooks",
        "Delete a webhook",
        "Deletes the subscription and its delivery log. Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_rotate_secret_create": (
        "webhooks",
        "Rotate a webhook's secret",
        "A new signing secret, shown this once. For 24 hours deliveries carry a signature with the old secret "
        "too, so receivers can switch without losing events. Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_test_create": (
        "webhooks",
        "Send a test event",
        "Records a `webhook.test` event and delivers it to this webhook only; answers 202 with the event. "
        "Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_deliveries_list": (
        "webhooks",
        "Delivery log",
        "The webhook's delivery attempts, newest first: the event, the attempt number, its state, the HTTP "
        "status, duration, error, an excerpt of the answer, and when the next attempt is due. Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_deliveries_redeliver_create": (
        "webhooks",
        "Redeliver an event",
        "Sends the delivery's event to the webhook again now (same `webhook-id`, new attempts); 202 with the "
        "new pending attempt. Admin scope.",
        None,
        (),
    ),
    "v1_webhooks_stats_list": (
        "webhooks",
        "Webhook statistics",
        "Per webhook: attempts delivered, failed and pending, events failed in a row, the last success and "
        "when it was disabled. Admin scope.",
        None,
        (),
    ),
}
