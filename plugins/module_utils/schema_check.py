# -*- coding: utf-8 -*-
# Copyright: quorum.mongodb developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fast yes/no check of a document against one of our JSON Schemas.

The validator asks this first; only a document that fails is walked again by
jsonschema, which explains each error. It covers exactly the keywords our schemas use
(compile_schema refuses any other), with jsonschema's meaning of them; a property test
keeps the two in agreement.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

_ANNOTATIONS = frozenset(("$schema", "$id", "$defs", "title", "description", "examples", "default", "deprecated"))


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or (math.isfinite(v) and float(v).is_integer())),
}


def compile_schema(schema, root=None):
    """Return a function document -> bool equivalent to jsonschema's is_valid for `schema`."""
    root = root if root is not None else schema
    if schema is True or schema == {}:
        return lambda value: True
    if schema is False:
        return lambda value: False
    checks = []
    for keyword, argument in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        checks.append(_compile_keyword(keyword, argument, schema, root))

    def check(value):
        for one in checks:
            if not one(value):
                return False
        return True
    return check


def _compile_keyword(keyword, argument, schema, root):
    if keyword == "$ref":
        if not argument.startswith("#/$defs/"):
            raise ValueError("unsupported $ref %r" % argument)
        target = {}

        def check_ref(value):
            if "check" not in target:
                target["check"] = compile_schema(root["$defs"][argument[len("#/$defs/"):]], root)
            return target["check"](value)
        return check_ref
    if keyword == "type":
        kinds = [_TYPES[k] for k in (argument if isinstance(argument, list) else [argument])]
        return lambda v: any(kind(v) for kind in kinds)
    if keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        compare = {  # written as jsonschema does, so that NaN passes here too
            "minimum": lambda v: not v < argument,
            "maximum": lambda v: not v > argument,
            "exclusiveMinimum": lambda v: not v <= argument,
            "exclusiveMaximum": lambda v: not v >= argument,
        }[keyword]
        return lambda v: not _is_number(v) or compare(v)
    if keyword == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= argument
    if keyword == "pattern":
        pattern = re.compile(argument)
        return lambda v: not isinstance(v, str) or pattern.search(v) is not None
    if keyword == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= argument
    if keyword == "maxItems":
        return lambda v: not isinstance(v, list) or len(v) <= argument
    if keyword == "items":
        item = compile_schema(argument, root)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if keyword == "required":
        return lambda v: not isinstance(v, dict) or all(name in v for name in argument)
    if keyword == "properties":
        props = dict((name, compile_schema(sub, root)) for name, sub in argument.items())
        return lambda v: not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)
    if keyword == "additionalProperties":
        known = frozenset(schema.get("properties", {}))
        extra = compile_schema(argument, root)
        return lambda v: not isinstance(v, dict) or all(extra(x) for k, x in v.items() if k not in known)
    if keyword == "const":
        return lambda v: _equal(v, argument)
    if keyword == "enum":
        return lambda v: any(_equal(v, option) for option in argument)
    if keyword == "oneOf":
        options = [compile_schema(sub, root) for sub in argument]
        return lambda v: sum(1 for option in options if option(v)) == 1
    raise ValueError("unsupported JSON Schema keyword %r" % keyword)


def _equal(a, b):
    """JSON equality: booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b
