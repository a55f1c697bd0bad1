"""Validate sandbox answers against Xero's own OpenAPI files (each file is loaded once a session).

`xero_validate(kind, component, instance)` checks a JSON body against a component schema of
`accounting`, `identity` or `webhooks`, more strictly than the files alone:

* objects may not carry properties the schema does not declare (a misspelt field fails), except
  the envelope keys Xero puts on every Accounting answer and the echoed elements of an `Error`;
* fields marked `x-is-msdate` / `x-is-msdate-time` must be MS-JSON dates (`/Date(…)/`);
* `format: uuid` is checked. `date-time` is not: Xero's own examples (`/connections`, webhook
  `eventDateUtc`) carry no time zone, which RFC 3339 requires.
"""

import copy
import functools
import re
from pathlib import Path

import jsonschema
import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS31Validator

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "xero"
FILES = {
    "accounting": "xero_accounting.yaml",
    "identity": "xero-identity.yaml",
    "webhooks": "xero-webhooks.yaml",
}
ENVELOPE = {
    "Id": {"type": "string", "format": "uuid"},
    "Status": {"type": "string", "enum": ["OK"]},
    "ProviderName": {"type": "string"},
    "DateTimeUTC": {"type": "string", "x-is-msdate-time": True},
}
# Fields real answers carry that the OAS omits, each with its source in vendor-contracts.md.
EXTRA = {"AccessToken": {"scope": {"type": "string"}}}  # §4.1: the token answer has `scope`
LOOSE = {"Element"}  # an Error's Elements echo whatever was submitted
MS_DATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")


def _ms_date(validator, flag, instance, schema):
    if flag and isinstance(instance, str) and not MS_DATE.match(instance):
        yield jsonschema.ValidationError(f"{instance!r} is not an MS-JSON date /Date(ms+0000)/")


def _strict(node, *, loose=False):
    if isinstance(node, dict):
        node = {k: _strict(v, loose=loose) for k, v in node.items()}
        if "properties" in node and not loose:
            node.setdefault("additionalProperties", False)
        return node
    if isinstance(node, list):
        return [_strict(v, loose=loose) for v in node]
    return node


@functools.cache
def spec(kind: str) -> dict:
    with open(CONTRACTS / FILES[kind], encoding="utf-8") as handle:
        # The C loader is a safe loader too; it reads the 900 kB file several times faster.
        return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


@functools.cache
def _components(kind: str) -> dict:
    components = copy.deepcopy(spec(kind)["components"])
    schemas = components["schemas"]
    for name, schema in list(schemas.items()):
        schemas[name] = _strict(schema, loose=name in LOOSE)
        if name in EXTRA:
            schemas[name]["properties"] = {**schemas[name]["properties"], **EXTRA[name]}
        if "x-objectArrayKey" in schema:  # collection wrappers: Contacts, Invoices, ...
            schemas[name]["properties"] = {**ENVELOPE, **schemas[name]["properties"]}
    return components


@functools.cache
def _validator_class(kind: str):
    base = OAS31Validator if spec(kind)["openapi"].startswith("3.1") else OAS30ReadValidator
    return jsonschema.validators.extend(
        base, {"x-is-msdate": _ms_date, "x-is-msdate-time": _ms_date}
    )


def xero_validate(kind: str, component: str, instance: object) -> None:
    """Raise jsonschema.ValidationError (all problems listed) unless `instance` fits."""
    components = _components(kind)
    assert component in components["schemas"], f"{component} is not in {FILES[kind]}"
    schema = {"allOf": [{"$ref": f"#/components/schemas/{component}"}], "components": components}
    validator = _validator_class(kind)(schema, format_checker=jsonschema.FormatChecker(["uuid"]))
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{list(e.absolute_path)}: {e.message}" for e in errors[:20]]
        raise jsonschema.ValidationError(f"{component}: " + "\n".join(lines))


def response_component(kind: str, path: str, method: str, status: str = "200") -> str:
    """The component an operation answers with, read from the spec (not hard-coded in tests)."""
    paths = spec(kind).get("paths") or {}
    operation = paths[path][method.lower()]
    response = operation["responses"][status]
    if "$ref" in response:
        response = spec(kind)["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    if "$ref" not in schema and schema.get("type") == "array":
        schema = schema["items"]
    return schema["$ref"].rsplit("/", 1)[1]
