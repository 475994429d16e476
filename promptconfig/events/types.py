"""Every event type the log records, and the type patterns filters and webhooks accept."""

import re

EVENT_TYPES: dict[str, str] = {
    "template.created": "A template was created (its version 1 follows).",
    "template.updated": "Descriptive fields or tags of a template changed (`data.fields`).",
    "template.version_created": "A new immutable version was made (`data.number`).",
    "template.published": "A version is served now (`data.from`, `data.to`).",
    "template.rolled_back": "An older version is served again (`data.from`, `data.to`).",
    "template.label_moved": "A label points at another version (`data.label`, `data.from`, `data.to`).",
    "template.label_removed": "A label was removed (`data.label`).",
    "template.lifecycle_changed": "The status changed (`data.from`, `data.to`, `data.reason`).",
    "template.deleted": "The template was deleted (soft delete).",
    "template.forked": "A fork was made from this template (`data.new_key`).",
    "template.relationship_added": "A relationship to another template was added (`data.target`, `data.relationship`).",
    "template.dependency_changed": "A template this one includes, directly or not, was published or rolled back "
    "(`data.dependency`, `data.via`, `data.cause`).",
    "profile.created": "A user profile was created.",
    "profile.updated": "A user profile changed (`data.fields`).",
    "profile.deleted": "A user profile was deleted.",
    "profile.session_recorded": "A learning session was counted into a profile.",
    "ab_test.created": "An A/B test was created (`data.status`).",
    "ab_test.status_changed": "An A/B test moved between statuses (`data.from`, `data.to`).",
    "ab_test.completed": "An A/B test completed (`data.winner`).",
    "model_version.drift": "A provider answered a template with a new model version (`data.provider`, `data.from`, "
    "`data.to`).",
    "api_key.created": "An API key was created (`data.name`, `data.scope`).",
    "api_key.updated": "An API key's name or scope changed.",
    "api_key.revoked": "An API key was revoked.",
    "webhook.created": "A webhook subscription was created.",
    "webhook.updated": "A webhook subscription changed.",
    "webhook.deleted": "A webhook subscription was deleted.",
    "webhook.secret_rotated": "A webhook's signing secret was rotated.",
    "webhook.disabled": "A webhook was disabled after sustained delivery failures.",
    "webhook.test": "A test event sent to one webhook on request.",
}
PREFIXES = sorted({name.split(".")[0] for name in EVENT_TYPES})
PATTERN = re.compile(r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$")


def pattern_error(pattern: str) -> str | None:
    """Why a type pattern (`template.published`, `template.*`, `*`) is not one the log can match, or None."""
    if not isinstance(pattern, str) or not PATTERN.match(pattern):
        return f"'{pattern}' is not an event type, '<kind>.*' or '*'."
    if pattern == "*" or pattern in EVENT_TYPES:
        return None
    if pattern.endswith(".*") and pattern[:-2] in PREFIXES:
        return None
    return f"Unknown event type '{pattern}'."


def matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type
