"""What the OpenAPI document says of each area and operation (used by promptconfig.common.schema): the tags,
and per operationId its tag, summary, description for API users, an accepted request example and the errors
only that operation can answer."""

from promptconfig.common.schema_events import EVENT_OPERATIONS, EVENT_TAGS

TAGS = [
    ("templates", "Prompt templates: create, read, update, search, lifecycle, labels, forks and relationships."),
    ("versions", "Immutable versions of a template: list, compare, publish and roll back."),
    ("refinements", "LLM-proposed revisions of a template's body: start, read, apply."),
    ("profiles", "User profiles whose preferences fill a prompt's variables."),
    ("generation", "Runtime: render prompts, fetch prompt data for local rendering, stored prompts and feedback."),
    ("A/B tests", "Compare two templates (or versions) on live traffic."),
    ("provider versions", "Model versions a provider answered with, and their drift."),
    ("cache", "The caller's workspace's cache: statistics, invalidation, warm-up."),
    ("analytics", "Usage numbers of the caller's workspace."),
    ("API keys", "The workspace's API keys (admin scope)."),
    *EVENT_TAGS,
]

# operationId -> (tag, summary, description, request example, operation-specific errors)
OPERATIONS: dict[str, tuple[str, str, str, dict | None, tuple[str, ...]]] = {
    # --- templates ---
    "v1_templates_list": (
        "templates",
        "List templates",
        "The workspace's templates, paginated. Filter by `category`, `language`, `status`, `tags` (comma list, "
        "all must match), `is_active`, `node_name`; `search` is full text over name, description and body; "
        "`ordering` sorts. Read scope.",
        None,
        (),
    ),
    "v1_templates_create": (
        "templates",
        "Create a template",
        "Creates a template and its version 1 (published unless `status` is `draft`). `key` is derived from the "
        "name when omitted. Answers the template plus `warnings` about the body. Write scope.",
        {
            "key": "volcano-lesson",
            "name": "Volcano lesson",
            "template": "Teach {{ topic }} to a {{ learning_style }} learner.",
            "variables": ["topic"],
            "category": "lessons",
            "tags": ["science"],
        },
        ("409", "422"),
    ),
    "v1_templates_retrieve": (
        "templates",
        "Get a template",
        "One template in the requested language (falling back `de-AT` -> `de` -> the workspace default). "
        "`?version=` or `?label=` shows that version's content instead of the served one; given both, the label "
        "must point at that version (else 409). Read scope.",
        None,
        ("409",),
    ),
    "v1_templates_update": (
        "templates",
        "Replace a template",
        "Updates a template; `name` and `template` are required. Changing the body, variables, variable schema "
        "or model config creates a new version, served at once unless `publish` is false. Write scope.",
        {"name": "Lesson", "template": "Teach {{ topic }} in three steps.", "change_note": "Shorter"},
        ("409", "422"),
    ),
    "v1_templates_partial_update": (
        "templates",
        "Update a template",
        "Updates the fields sent. Changing the body, variables, variable schema or model config creates a new "
        "version, served at once unless `publish` is false. Write scope.",
        {"description": "Explains a topic step by step.", "tags": ["science"]},
        ("409", "422"),
    ),
    "v1_templates_destroy": (
        "templates",
        "Delete a template",
        "Soft-deletes the template (in this language): it is 404 everywhere from then on; its versions are "
        "kept. Write scope.",
        None,
        ("409",),
    ),
    "v1_templates_fork_create": (
        "templates",
        "Fork a template",
        "Creates a new template whose version 1 is this template's served body (with its category, "
        "description, metadata, tags and priority), linked by a `forked_from` relationship. Write scope.",
        {"new_key": "lesson-short", "name": "Short lesson"},
        ("409", "422"),
    ),
    "v1_templates_history_list": (
        "templates",
        "Template history",
        "Every state change of the template, oldest first, paginated. Read scope.",
        None,
        (),
    ),
    "v1_templates_labels_update": (
        "versions",
        "Point a label at a version",
        "Points a label (`staging`, …) at a version; `production` is a publish. `latest` cannot be set. Write scope.",
        {"version": 1},
        ("409", "422"),
    ),
    "v1_templates_labels_destroy": (
        "versions",
        "Remove a label",
        "Removes a label; `production` and `latest` cannot be removed (409). Write scope.",
        None,
        ("409",),
    ),
    "v1_templates_lifecycle_update": (
        "templates",
        "Change a template's status",
        "Moves the template between `draft`, `published`, `deprecated` and `archived`; an illegal transition "
        "is 409. The current status is a no-op. Write scope.",
        {"status": "deprecated", "reason": "Replaced by lesson-v2"},
        ("409", "422"),
    ),
    "v1_templates_relationships_retrieve": (
        "templates",
        "List relationships",
        "The template's relationships to other templates: `outgoing` and `incoming`. Read scope.",
        None,
        (),
    ),
    "v1_templates_relationships_create": (
        "templates",
        "Add a relationship",
        "Links this template to another (`extends`, `references` or `alternative`) in the same language. "
        "A duplicate, or the template itself as the target, is 409. Write scope.",
        {"target": "lesson", "kind": "references"},
        ("409",),
    ),
    "v1_templates_suggestions_retrieve": (
        "templates",
        "Review suggestions",
        "A static review of a version's body (default: the served one): undeclared or unused variables, "
        "single-brace placeholders, duplicated lines and more. Read scope.",
        None,
        (),
    ),
    "v1_templates_search_create": (
        "templates",
        "Search templates",
        "Full-text search with the list filters; `facets` adds counts per category, language, status and tag "
        "over all matches. Paginated. Read scope (a read that takes a body).",
        {"query": "volcanoes", "filters": {"status": "published"}, "facets": True},
        (),
    ),
    # --- versions ---
    "v1_templates_versions_list": (
        "versions",
        "List versions",
        "Every version of the template, newest first, with its labels and history. Read scope.",
        None,
        (),
    ),
    "v1_templates_versions_retrieve": (
        "versions",
        "Get a version",
        "One version of the template. Read scope.",
        None,
        (),
    ),
    "v1_templates_versions_publish_create": (
        "versions",
        "Publish a version",
        "Serves this version (moves the `production` label). Publishing a draft template also publishes it; "
        "an archived template is 409. Write scope.",
        None,
        ("409", "422"),
    ),
    "v1_templates_versions_rollback_create": (
        "versions",
        "Roll back to a version",
        "Serves this version again, recorded as a rollback. An archived template is 409. Write scope.",
        None,
        ("409", "422"),
    ),
    "v1_templates_versions_compare_retrieve": (
        "versions",
        "Compare two versions",
        "A unified diff of the bodies, their similarity and the changed variables, metadata and model config "
        "between `from` and `to`. Read scope.",
        None,
        (),
    ),
    # --- refinements ---
    "v1_templates_refinements_create": (
        "refinements",
        "Start an LLM refinement",
        "Queues a refinement of a version (default: the served one) towards `goal`: the model gets the body, its "
        "variables and the review's suggestions and proposes a revised body with a rationale. Answers 202 with the "
        "refinement's id; poll it for the outcome. 503 when no LLM endpoint is configured (LLM_BASE_URL). "
        "Write scope.",
        {"goal": "shorter, and more encouraging for beginners", "version": 1},
        (),
    ),
    "v1_templates_refinements_list": (
        "refinements",
        "List refinements",
        "The template's refinements, newest first, paginated: status, proposal, rationale, diff, model, tokens, "
        "latency and error. Write scope.",
        None,
        (),
    ),
    "v1_templates_refinements_retrieve": (
        "refinements",
        "Get a refinement",
        "One refinement: `status` (queued, running, succeeded, failed), the checked `proposed_template`, its "
        "`rationale` and unified `diff` from the version, `model`, `tokens`, `latency_ms`, and `error` when it "
        "failed (an upstream error, a timeout, or a proposal that failed the checks). Write scope.",
        None,
        (),
    ),
    "v1_templates_refinements_apply_create": (
        "refinements",
        "Apply a refinement",
        "Saves a succeeded refinement's proposal as a new version, with the refinement named in its change note; "
        "it is not served unless `publish` is true. A refinement that has not succeeded or was applied already, or "
        "a proposal equal to the latest version, is 409. Write scope.",
        {"publish": False},
        ("409", "422"),
    ),
    # --- provider versions ---
    "v1_templates_ensure_version_create": (
        "provider versions",
        "Record the provider's model version",
        "Asks the provider which version of the model answers now and records it for this template: 201 when "
        "the version is new for this template, provider and model, else 200. Without `model_id`, the served "
        "version's `model_config` must name this provider's model (else 409). Write scope.",
        {"provider": "openai", "model_id": "gpt-4o-mini"},
        ("409", "502", "504"),
    ),
    "v1_templates_model_versions_retrieve": (
        "provider versions",
        "Model versions seen",
        "The provider model versions seen for this template, newest sighting first, and their drift. Read scope.",
        None,
        (),
    ),
    "v1_templates_drift_retrieve": (
        "provider versions",
        "Content and model drift",
        "How far the served body has drifted from a baseline version (default: the first published) and which "
        "providers answered with more than one model version. Read scope.",
        None,
        (),
    ),
    # --- profiles ---
    "v1_profiles_list": (
        "profiles",
        "List profiles",
        "The workspace's user profiles, paginated; filter by `learning_style`, `difficulty_level`, "
        "`language_preference`. Read scope.",
        None,
        (),
    ),
    "v1_profiles_create": (
        "profiles",
        "Create a profile",
        "Creates a user's profile; `user_id` is required and must be new (else 409). Write scope.",
        {"user_id": "u43", "learning_style": "visual", "difficulty_level": "beginner", "language_preference": "en"},
        ("409",),
    ),
    "v1_profiles_retrieve": ("profiles", "Get a profile", "One user's profile. Read scope.", None, ()),
    "v1_profiles_update": (
        "profiles",
        "Update a profile",
        "Updates the fields sent (fields not sent are kept); `user_id` cannot change. Write scope.",
        {"difficulty_level": "advanced", "preferred_subjects": ["geology"]},
        (),
    ),
    "v1_profiles_partial_update": (
        "profiles",
        "Update some profile fields",
        "Updates the fields sent; `user_id` cannot change. Write scope.",
        {"learning_style": "auditory"},
        (),
    ),
    "v1_profiles_destroy": (
        "profiles",
        "Delete a profile",
        "Deletes the user's profile and answers 200 with a confirmation. Write scope.",
        None,
        (),
    ),
    "v1_profiles_sessions_create": (
        "profiles",
        "Record a session",
        "Counts one learning session of `duration_seconds` into the profile's totals and `last_active`. Write scope.",
        {"duration_seconds": 600},
        (),
    ),
    # --- generation ---
    "v1_prompts_generate_create": (
        "generation",
        "Generate a prompt",
        "Renders a template (`template_id` or `node_name`) for a user with the profile's preferences and the "
        "`context`, stores the generation and answers the text. `version` and `label` pin a version. "
        "A draft template is 409 `template_not_published`, an archived one 410, a variable nothing supplies "
        "422 `missing_variables`. Read scope.",
        {"user_id": "u42", "template_id": "lesson", "context": {"topic": "volcanoes"}},
        ("409", "410", "422"),
    ),
    "v1_prompts_generate_batch_create": (
        "generation",
        "Generate prompts in a batch",
        "Up to 100 generate requests in one call; each result is a generate answer or that item's own error, "
        "in order. Read scope.",
        {"requests": [{"user_id": "u42", "template_id": "lesson", "context": {"topic": "volcanoes"}}]},
        (),
    ),
    "v1_generate_prompt_create": (
        "generation",
        "Generate a prompt for a node",
        "Renders the template bound to `node_name` for a user and the `context`. Read scope.",
        {"user_id": "u42", "node_name": "generating_content", "context": {"topic": "volcanoes"}},
        ("409", "410", "422"),
    ),
    "v1_prompt_data_create": (
        "generation",
        "Get prompt data",
        "Everything a client needs to render the prompt itself: the body, includes, the user's placeholders "
        "and which variables it must still supply. `ETag` and `If-None-Match` (304) let it be cached. "
        "Read scope.",
        {"user_id": "u42", "template_id": "lesson"},
        ("409", "410"),
    ),
    "v1_prompt_data_batch_create": (
        "generation",
        "Get prompt data in a batch",
        "Up to 100 prompt-data requests in one call; each result is a prompt-data body with its `etag`, or "
        "that item's own error, in order. Read scope.",
        {"requests": [{"user_id": "u42", "template_id": "lesson"}]},
        (),
    ),
    "v1_prompts_retrieve": (
        "generation",
        "Get a generated prompt",
        "A stored generation: the text, the variables applied, cache information and its feedback. Read scope.",
        None,
        (),
    ),
    "v1_prompts_feedback_create": (
        "generation",
        "Send feedback on a prompt",
        "Rates a generated prompt (`rating` 1-5, `effectiveness_score` 0-1, named `metrics`); sending again "
        "replaces the earlier values. Feeds the template's statistics and its A/B test. Read scope.",
        {"rating": 5, "effectiveness_score": 0.9},
        (),
    ),
    # --- A/B tests ---
    "v1_ab_tests_list": (
        "A/B tests",
        "List A/B tests",
        "The workspace's A/B tests, newest first, paginated; `?status=` filters. Read scope.",
        None,
        (),
    ),
    "v1_ab_tests_create": (
        "A/B tests",
        "Create an A/B test",
        "Starts (or drafts) a test of `template_a` against `template_b`. 409 when `template_a` already has an "
        "active test, a template is not published or both sides are the same template and version; 404 when a "
        "template or pinned version does not exist, 410 when one is archived. Write scope.",
        {"name": "Short vs long", "template_a": "lesson", "template_b": "lesson-short", "traffic_split": 0.5},
        ("404", "409", "410"),
    ),
    "v1_ab_tests_retrieve": ("A/B tests", "Get an A/B test", "One A/B test. Read scope.", None, ()),
    "v1_ab_tests_partial_update": (
        "A/B tests",
        "Change an A/B test's status",
        "Moves a test between `draft`, `active`, `paused` and `completed` (final); anything else is 409. Write scope.",
        {"status": "paused"},
        ("409",),
    ),
    "v1_ab_tests_select_retrieve": (
        "A/B tests",
        "Select a variant for a user",
        "The variant (`A` or `B`) and template for `user_id`; the same user always gets the same variant. "
        "409 unless the test is active. Read scope.",
        None,
        ("409",),
    ),
    "v1_ab_tests_metrics_create": (
        "A/B tests",
        "Record a metric",
        "Records a metric value for an assigned user. 409 for a user never assigned or a completed test. Read scope.",
        {"user_id": "u42", "metric": "effectiveness", "value": 0.8},
        ("409",),
    ),
    "v1_ab_tests_results_retrieve": (
        "A/B tests",
        "A/B test results",
        "Per-variant participants, means and samples, Welch's t-test p-values, confidence intervals, the "
        "sample-ratio check and the winner, if any. Read scope.",
        None,
        (),
    ),
    "v1_ab_tests_analyze_create": (
        "A/B tests",
        "Queue an analysis",
        "Queues the test's analysis; answers 202 at once. Write scope.",
        None,
        (),
    ),
    # --- cache ---
    "v1_cache_stats_retrieve": (
        "cache",
        "Cache statistics",
        "Hits, misses and hit rate of the caller's workspace's cache lookups, by type. Read scope.",
        None,
        (),
    ),
    "v1_cache_invalidate_create": (
        "cache",
        "Invalidate cache entries",
        "Drops the caller's workspace's cache entries matching `<namespace>:<glob>` or `*`. Admin scope.",
        {"pattern": "templates:*"},
        (),
    ),
    "v1_cache_warmup_create": (
        "cache",
        "Warm the cache",
        "Loads the named templates (or every published one) into the cache. Admin scope.",
        {"templates": ["lesson"]},
        (),
    ),
    # --- analytics ---
    "analytics_summary": (
        "analytics",
        "Workspace summary",
        "Template counts by status, generations, cache hit rate, average rating and effectiveness, and the top "
        "templates. Read scope.",
        None,
        (),
    ),
    "analytics_template": (
        "analytics",
        "Template analytics",
        "Generations of one template (total, last 24 h, by version, daily), its rating, effectiveness and cache "
        "use. Read scope.",
        None,
        (),
    ),
    "analytics_usage": (
        "analytics",
        "Usage over time",
        "Generations per hour or day over `[from, to)`, zero-filled, optionally for one template. A range of "
        "more than 1000 buckets answers the newest 1000 (the answer's `from` says where they start); `from` not "
        "before `to` is an empty series. Read scope.",
        None,
        (),
    ),
    # --- API keys ---
    "v1_api_keys_list": ("API keys", "List API keys", "The workspace's keys, newest first. Admin scope.", None, ()),
    "v1_api_keys_create": (
        "API keys",
        "Create an API key",
        "Creates a key; the answer carries the plaintext `key`, shown this once. Admin scope.",
        {"name": "ci", "scope": "read"},
        (),
    ),
    "v1_api_keys_retrieve": ("API keys", "Get an API key", "One key (never its plaintext). Admin scope.", None, ()),
    "v1_api_keys_destroy": (
        "API keys",
        "Revoke an API key",
        "Revokes the key: it is 401 from then on; the record stays for audit. Admin scope.",
        None,
        (),
    ),
}
OPERATIONS.update(EVENT_OPERATIONS)

# Bulk jobs, export and import (their texts live beside, to keep this file short).
from promptconfig.common import schema_bulk  # noqa: E402

TAGS.append(schema_bulk.TAG)
OPERATIONS.update(schema_bulk.OPERATIONS)
