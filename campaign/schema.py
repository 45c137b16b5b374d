"""Post-processing of the OpenAPI schema (drf-spectacular): what every endpoint enforces but the
views do not declare one by one. The error answers in the contract's shape (`Error`), the URL
converters' patterns of path parameters, and a NUL character never being accepted in text."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable, e.g. `invalid`, `not_found`."},
        "message": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "Only for invalid input: each wrong field (dotted path) with its messages.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "unavailable": {"type": "string", "description": "With 503: the part that is down."},
    },
    "required": ["code", "message"],
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# Django's `slug` path converter.
SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"
# The NUL-byte middleware answers 400 for a NUL character in any text input.
NO_NUL_PATTERN = "^[^\\x00]*$"


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _ERROR_CONTENT}


def error_responses_add(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "slug":
                    parameter.setdefault("schema", {}).setdefault("pattern", SLUG_PATTERN)
            responses = operation.setdefault("responses", {})
            errors = {
                "400": "Invalid input: `fields` names each wrong field (a NUL character in any text is one).",
                "404": "Not found.",
                "503": "A part the service needs is down; `Retry-After` says when to try again.",
            }
            security = operation.get("security")
            if security and {} not in security:
                errors["401"] = "Not authenticated."
                errors["403"] = "Not staff."
            if method in ("post", "put", "patch"):
                errors["413"] = "The request body is too large."
                errors["429"] = "Too many requests from this address; `Retry-After` says when to try again."
            for status, description in errors.items():
                responses.setdefault(status, _error(description))
    return result


def _text_without_nul(schema: dict[str, Any]) -> None:
    """Every string the client sends, at any depth: a NUL character is refused (the middleware),
    so the schema says so where nothing narrower (a pattern, an enum, a format) already does."""
    if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("oneOf", "anyOf", "allOf"):
        for item in schema.get(key, []):
            _text_without_nul(item)
    for item in schema.get("properties", {}).values():
        _text_without_nul(item)
    if isinstance(schema.get("items"), dict):
        _text_without_nul(schema["items"])


def input_constraints_add(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """What every input serializer enforces: unknown fields are a 400 (`StrictInputSerializer`),
    and no text holds a NUL character. Request bodies are the `...Request` components."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
            _text_without_nul(schema)
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                _text_without_nul(parameter.get("schema", {}))
    export_job = result.get("components", {}).get("schemas", {}).get("ExportJobCreateInputRequest")
    if export_job:
        # The kinds the apps registered, known only once they are loaded.
        from campaign.export_jobs import export_kind_names

        export_job["properties"]["kind"] = {"type": "string", "enum": export_kind_names()}
    return result
