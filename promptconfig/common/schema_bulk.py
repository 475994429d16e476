"""What the OpenAPI document says of the bulk, export and import operations (merged into
promptconfig.common.schema_operations.OPERATIONS; same shape: tag, summary, description, request example,
operation-specific errors)."""

TAG = ("bulk and import/export", "Bulk jobs over many templates, and prompts as code: export and import documents.")

OPERATIONS: dict[str, tuple[str, str, str, dict | None, tuple[str, ...]]] = {
    "v1_bulk_templates_create": (
        "bulk and import/export",
        "Start a bulk job",
        "Queues a job applying one `operation` to up to 1,000 `items` and answers 202 `{job_id, status}` at once; "
        "follow it at GET /bulk/jobs/{id}. Each item is validated and applied on its own, exactly as the "
        "single-template call would (the same versions and history): `create` takes a POST /templates body, "
        '`update_tags` `{"key", "language"?, "add", "remove"}`, `set_lifecycle` `{"key", "language"?, "status", '
        '"reason"?}`, `publish` `{"key", "language"?, "version"}`, `delete` `{"key", "language"?}` (soft delete). '
        "A failing item is reported in the job's results and never undoes the others. `dry_run` validates every "
        "item against the workspace (later items see earlier ones) and changes nothing. More than 1,000 items is "
        "400; a job over templates that a running job changes is 409 (retry once it has finished). Write scope.",
        {
            "operation": "update_tags",
            "items": [{"key": "lesson", "add": ["reviewed"]}, {"key": "lesson-short", "add": ["reviewed"]}],
        },
        ("409",),
    ),
    "v1_bulk_jobs_list": (
        "bulk and import/export",
        "List bulk jobs",
        "The workspace's bulk jobs, newest first, paginated: `status` (queued, running, succeeded, "
        "partially_failed, failed), `total`, `done` (items processed, failed ones included), `failed`, `progress` "
        "(done / total) and `results` (`{index, key, language, ok, error}` per processed item). Read scope.",
        None,
        (),
    ),
    "v1_bulk_jobs_retrieve": (
        "bulk and import/export",
        "Get a bulk job",
        "One job with its progress and the result of every item processed so far (poll it while it runs). "
        "Read scope.",
        None,
        (),
    ),
    "v1_export_retrieve": (
        "bulk and import/export",
        "Export templates",
        "The workspace's templates as one YAML document (`format=json` for JSON): `{format: promptconfig/v1, "
        "templates: [...]}`, per template and language its key, name, category, description, status, is_active, "
        "tags, metadata, priority, node_name, relationships, and the served version's variables, variable_schema, "
        "model_config and body (`template`), or with `versions=all` every version with its labels. Sorted and "
        "formatted the same way every time: exporting twice gives the same bytes. `templates=a,b` exports those "
        "keys only (404 naming any the workspace does not have). Read scope.",
        None,
        ("404",),
    ),
    "v1_import_create": (
        "bulk and import/export",
        "Import templates",
        "Takes a document as GET /export writes it (YAML with `Content-Type: application/yaml`, or JSON) and "
        "answers `{dry_run, applied, plan}`: per template `create`, `new_version` (the reason lists what changes), "
        "`unchanged` or `conflict` (the reason says why). With `dry_run=true` nothing changes. Otherwise the whole "
        "plan is applied in one transaction, or, when any template conflicts, nothing: 409 `conflict` whose "
        "`details` hold the plan. Importing what the workspace just exported changes nothing. A bad document is "
        "400 naming the line and the field (invalid YAML, unknown fields, a body that does not compile, an include "
        "of a template neither in the document nor in the workspace); over the request size limit 413. Write scope.",
        {
            "format": "promptconfig/v1",
            "templates": [
                {
                    "key": "volcano-lesson",
                    "language": "en",
                    "name": "Volcano lesson",
                    "tags": ["science"],
                    "template": "Teach {{ topic }} in three steps.",
                }
            ],
        },
        ("409",),
    ),
}
