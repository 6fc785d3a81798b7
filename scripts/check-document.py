"""The OpenAPI document as clients and generators read it: valid OpenAPI 3.0, and every
example in it valid against the schema it illustrates.

Usually run through scripts/check-document.sh, which provides the pinned packages.

    python scripts/check-document.py docs/openapi.json

1. openapi-spec-validator (the OpenAPI 3.0 specification's own schema and its rules:
   references resolve, path parameters are declared, operationIds are unique, ...): zero
   errors.
2. Every example: a schema's `example`, a media type's `example` or `examples.*.value` (request
   bodies and responses), a parameter's and a header's. Each is validated against the schema
   it belongs to, found by its place in the document, so every `$ref` resolves inside the
   document. The validator is openapi-schema-validator's OpenAPI 3.0 dialect on top of
   jsonschema, because OpenAPI 3.0 schemas are not JSON Schema: `nullable` instead of a
   `null` type, `format` values such as `int32`/`int64`/`double` with ranges to check, `allOf`
   over a reference with its description beside it, `readOnly`/`writeOnly` by direction (a
   request example is checked as written, a response example as read).
   Two rules are stricter than JSON Schema, because the service is: an `integer` must be
   written without a fraction (`10000.0` is refused by the service), and every `format` used
   in the document must be one the checker knows (an unknown format would pass unchecked).
3. Every JSON request body and every JSON response has an example, on its media type or on
   its schema, so Swagger UI never shows a made-up value.

Exits 0 when all of this holds, 1 with every failure listed otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from jsonschema._types import is_integer as _json_integer
from jsonschema.validators import extend
from openapi_schema_validator import (
    OAS30ReadValidator,
    OAS30Validator,
    OAS30WriteValidator,
    oas30_format_checker,
)
from openapi_spec_validator import OpenAPIV30SpecValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

DOCUMENT_URI = "urn:trickster-oracle:openapi"
JSON_MEDIA_TYPES = ("application/json", "application/problem+json")


def pointer(*parts: str) -> str:
    """A JSON pointer (RFC 6901) from unescaped parts."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def whole_integer(checker: Any, instance: Any) -> bool:
    return _json_integer(checker, instance) and not isinstance(instance, float)


def strict(validator: Any) -> Any:
    return extend(validator, type_checker=validator.TYPE_CHECKER.redefine("integer", whole_integer))


VALIDATORS = {
    "request": strict(OAS30WriteValidator),
    "response": strict(OAS30ReadValidator),
    "schema": strict(OAS30Validator),
}


class Example:
    """One example and the schema it must satisfy, both by their place in the document."""

    def __init__(self, where: str, value: Any, schema_at: str, direction: str) -> None:
        self.where, self.value, self.schema_at, self.direction = where, value, schema_at, direction


def media_examples(content: dict, at: list[str], direction: str) -> Iterator[Example]:
    for media_type, media in (content or {}).items():
        if "schema" not in media:
            continue
        schema_at = pointer(*at, media_type, "schema")
        if "example" in media:
            yield Example(
                pointer(*at, media_type, "example"), media["example"], schema_at, direction
            )
        for name, example in (media.get("examples") or {}).items():
            if "$ref" in example:
                raise SystemExit(
                    f"{pointer(*at, media_type, 'examples', name)}: a referenced example is not supported by this check"
                )
            if "value" in example:
                yield Example(
                    pointer(*at, media_type, "examples", name, "value"),
                    example["value"],
                    schema_at,
                    direction,
                )


def with_schema_examples(node: Any, at: list[str], direction: str) -> Iterator[Example]:
    """`example` and `examples` of a parameter or header (`schema` beside them)."""
    if not isinstance(node, dict) or "schema" not in node:
        return
    schema_at = pointer(*at, "schema")
    if "example" in node:
        yield Example(pointer(*at, "example"), node["example"], schema_at, direction)
    for name, example in (node.get("examples") or {}).items():
        if "value" in example:
            yield Example(
                pointer(*at, "examples", name, "value"), example["value"], schema_at, direction
            )


def schema_examples(node: Any, at: list[str]) -> Iterator[Example]:
    """`example` on any schema anywhere in the document: an object with `example` beside a
    schema keyword (media types, parameters and headers have none; media_examples and
    with_schema_examples find theirs)."""
    if isinstance(node, dict):
        if "example" in node and any(
            k in node
            for k in ("type", "properties", "$ref", "allOf", "oneOf", "anyOf", "enum", "items")
        ):
            yield Example(pointer(*at, "example"), node["example"], pointer(*at), "schema")
        for key, child in node.items():
            if key not in ("example", "examples"):
                yield from schema_examples(child, at + [key])
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from schema_examples(child, at + [str(i)])


def all_examples(doc: dict) -> Iterator[Example]:
    yield from schema_examples(doc, [])
    for path, item in doc.get("paths", {}).items():
        for key, operation in item.items():
            if key == "parameters":
                for i, parameter in enumerate(operation):
                    yield from with_schema_examples(
                        parameter, ["paths", path, key, str(i)], "request"
                    )
                continue
            if not isinstance(operation, dict):
                continue
            base = ["paths", path, key]
            for i, parameter in enumerate(operation.get("parameters", [])):
                yield from with_schema_examples(parameter, base + ["parameters", str(i)], "request")
            body = operation.get("requestBody", {})
            yield from media_examples(
                body.get("content"), base + ["requestBody", "content"], "request"
            )
            for status, response in operation.get("responses", {}).items():
                at = base + ["responses", status]
                yield from media_examples(response.get("content"), at + ["content"], "response")
                for name, header in (response.get("headers") or {}).items():
                    yield from with_schema_examples(header, at + ["headers", name], "response")
    for name, header in doc.get("components", {}).get("headers", {}).items():
        yield from with_schema_examples(header, ["components", "headers", name], "response")


def resolve(doc: dict, node: Any, depth: int = 0) -> Any:
    """Follows `$ref` and single-element `allOf` to the schema they name."""
    while isinstance(node, dict) and depth < 32:
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise SystemExit(f"{ref}: only references inside the document are supported")
            node = doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            break
        depth += 1
    return node


def has_example(doc: dict, media: dict) -> bool:
    if "example" in media or media.get("examples"):
        return True
    schema = resolve(doc, media.get("schema"))
    return isinstance(schema, dict) and "example" in schema


def missing_examples(doc: dict) -> Iterator[str]:
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            places = [("request body", operation.get("requestBody", {}).get("content", {}))]
            places += [
                (f"response {s}", r.get("content", {}))
                for s, r in operation.get("responses", {}).items()
            ]
            for what, content in places:
                for media_type, media in content.items():
                    if media_type in JSON_MEDIA_TYPES and not has_example(doc, media):
                        yield f"{method.upper()} {path} {what} ({media_type}) has no example"


def used_formats(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("format"), str) and "type" in node:
            yield node["format"]
        for key, child in node.items():
            if key not in ("example", "examples"):
                yield from used_formats(child)
    elif isinstance(node, list):
        for child in node:
            yield from used_formats(child)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", nargs="?", default="docs/openapi.json")
    args = parser.parse_args()
    with open(args.document, encoding="utf-8") as f:
        doc = json.load(f)
    failures: list[str] = []

    version = str(doc.get("openapi", ""))
    if not version.startswith("3.0."):
        failures.append(
            f"openapi is {version!r}; this check and the Rust generator read OpenAPI 3.0"
        )
    spec_errors = list(OpenAPIV30SpecValidator(doc).iter_errors())
    for error in spec_errors:
        where = "/".join(str(p) for p in error.path) or "(document)"
        failures.append(f"openapi-spec-validator: {where}: {error.message}")
    print(f"check-document: openapi-spec-validator: {len(spec_errors)} error(s)")

    known = set(oas30_format_checker.checkers)
    unknown = sorted(set(used_formats(doc)) - known)
    for fmt in unknown:
        failures.append(
            f"format {fmt!r} is used but not checked by the validator (known: {', '.join(sorted(known))})"
        )

    registry = Registry().with_resource(DOCUMENT_URI, Resource(contents=doc, specification=DRAFT4))
    examples = list(all_examples(doc))
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.direction] = counts.get(example.direction, 0) + 1
        validator = VALIDATORS[example.direction](
            {"$ref": DOCUMENT_URI + "#" + example.schema_at},
            registry=registry,
            format_checker=oas30_format_checker,
        )
        for error in sorted(validator.iter_errors(example.value), key=lambda e: list(e.path)):
            inside = "/".join(str(p) for p in error.absolute_path)
            if error.context:  # oneOf/anyOf: why each alternative failed
                why: dict[Any, str] = {}
                for sub in error.context:
                    why.setdefault(
                        sub.schema_path[0],
                        f"{sub.message} at {'/'.join(str(p) for p in sub.absolute_path) or '(top)'}",
                    )
                error.message += "".join(f"; alternative {i}: {m}" for i, m in sorted(why.items()))
            failures.append(
                f"example {example.where}{' at ' + inside if inside else ''}: {error.message} "
                f"(schema {example.schema_at}{'/'.join([''] + [str(p) for p in error.absolute_schema_path])})"
            )
    summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    print(f"check-document: {len(examples)} example(s) validated against their schemas ({summary})")

    failures.extend(missing_examples(doc))

    if failures:
        for line in failures:
            print(f"check-document: FAILED: {line}", file=sys.stderr)
        print(f"check-document: {len(failures)} failure(s) in {args.document}", file=sys.stderr)
        return 1
    print(f"check-document: {args.document} passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
