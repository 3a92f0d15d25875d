"""The query language: filters, projections and sorts with MongoDB's semantics."""
from __future__ import annotations

import copy
import datetime as _dt
import functools
import re
from typing import Any, Callable, Iterator

from bson import Binary, Code, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp

from mongoemu.errors import MongoError
from mongoemu.keys import MISSING, SortKey, compare, is_number, to_number, type_order

# -- paths -----------------------------------------------------------------------------


def resolve_path(value: Any, parts: list[str], i: int = 0) -> Iterator[Any]:
    """Yield every value a dotted path reaches, traversing arrays as MongoDB does.
    Yields MISSING where the path does not exist."""
    if i == len(parts):
        yield value
        return
    part = parts[i]
    if isinstance(value, dict):
        if part in value:
            yield from resolve_path(value[part], parts, i + 1)
        else:
            yield MISSING
    elif isinstance(value, list):
        found = False
        if part.isdigit():
            idx = int(part)
            if idx < len(value):
                found = True
                yield from resolve_path(value[idx], parts, i + 1)
        for element in value:
            if isinstance(element, dict):
                found = True
                yield from resolve_path(element, parts, i)
        if not found:
            yield MISSING
    else:
        yield MISSING


def get_path(doc: Any, path: str) -> Any:
    """The single value at a dotted path (no array traversal except numeric indexes)."""
    value = doc
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                return MISSING
            value = value[part]
        elif isinstance(value, list) and part.isdigit():
            idx = int(part)
            if idx >= len(value):
                return MISSING
            value = value[idx]
        elif isinstance(value, list):
            collected = [get_path(el, part) for el in value if isinstance(el, dict)]
            value = [v for v in collected if v is not MISSING]
        else:
            return MISSING
    return value


# -- type names for $type -------------------------------------------------------------

TYPE_ALIASES: dict[str, int] = {
    "double": 1, "string": 2, "object": 3, "array": 4, "binData": 5, "undefined": 6,
    "objectId": 7, "bool": 8, "date": 9, "null": 10, "regex": 11, "dbPointer": 12,
    "javascript": 13, "symbol": 14, "javascriptWithScope": 15, "int": 16, "timestamp": 17,
    "long": 18, "decimal": 19, "minKey": -1, "maxKey": 127,
}


def bson_type_number(value: Any) -> int:
    if value is None:
        return 10
    if isinstance(value, bool):
        return 8
    if isinstance(value, Int64):
        return 18
    if isinstance(value, int):
        return 16 if -2**31 <= value < 2**31 else 18
    if isinstance(value, float):
        return 1
    if isinstance(value, Decimal128):
        return 19
    if isinstance(value, str):
        return 2
    if isinstance(value, dict):
        return 3
    if isinstance(value, list):
        return 4
    if isinstance(value, (Binary, bytes)):
        return 5
    if isinstance(value, ObjectId):
        return 7
    if isinstance(value, _dt.datetime):
        return 9
    if isinstance(value, (Regex, re.Pattern)):
        return 11
    if isinstance(value, Code):
        return 13
    if isinstance(value, Timestamp):
        return 17
    if isinstance(value, MinKey):
        return -1
    if isinstance(value, MaxKey):
        return 127
    return 3


def bson_type_name(value: Any) -> str:
    number = bson_type_number(value)
    if value is MISSING:
        return "missing"
    for name, num in TYPE_ALIASES.items():
        if num == number:
            return name
    return "object"


# -- regex ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, options: str) -> re.Pattern[str]:
    flags = 0
    for ch in options:
        if ch == "i":
            flags |= re.IGNORECASE
        elif ch == "m":
            flags |= re.MULTILINE
        elif ch == "s":
            flags |= re.DOTALL
        elif ch == "x":
            flags |= re.VERBOSE
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise MongoError(51091, f"Regular expression is invalid: {exc}") from None


def to_pattern(value: Any, options: str = "") -> re.Pattern[str]:
    if isinstance(value, Regex):
        flags = value.flags if isinstance(value.flags, str) else ""
        if isinstance(value.flags, int):
            flags = "".join(ch for ch, f in (("i", re.I), ("m", re.M), ("s", re.S), ("x", re.X))
                            if value.flags & f)
        return _compile(value.pattern, flags + options)
    if isinstance(value, re.Pattern):
        return value
    if isinstance(value, str):
        return _compile(value, options)
    raise MongoError(2, "$regex has to be a string")


def _is_regex(value: Any) -> bool:
    return isinstance(value, (Regex, re.Pattern))


# -- matching ---------------------------------------------------------------------------


class Matcher:
    """A compiled filter document."""

    def __init__(self, spec: dict[str, Any] | None) -> None:
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise MongoError(2, "filter must be an object")
        self.spec = spec
        self._test = _compile_doc(spec)

    def __call__(self, doc: dict[str, Any]) -> bool:
        return self._test(doc)


def matches(doc: dict[str, Any], spec: dict[str, Any] | None) -> bool:
    return Matcher(spec)(doc)


def _compile_doc(spec: dict[str, Any]) -> Callable[[Any], bool]:
    tests: list[Callable[[Any], bool]] = []
    for key, cond in spec.items():
        if key.startswith("$"):
            tests.append(_compile_logical(key, cond))
        else:
            tests.append(_compile_field(key, cond))
    if not tests:
        return lambda doc: True
    if len(tests) == 1:
        return tests[0]
    return lambda doc: all(t(doc) for t in tests)


def _compile_logical(op: str, cond: Any) -> Callable[[Any], bool]:
    if op in ("$and", "$or", "$nor"):
        if not isinstance(cond, list) or not cond:
            raise MongoError(2, f"{op} must be a nonempty array")
        subs = []
        for sub in cond:
            if not isinstance(sub, dict):
                raise MongoError(2, f"{op} argument's entries must be objects")
            subs.append(_compile_doc(sub))
        if op == "$and":
            return lambda doc: all(s(doc) for s in subs)
        if op == "$or":
            return lambda doc: any(s(doc) for s in subs)
        return lambda doc: not any(s(doc) for s in subs)
    if op == "$comment":
        return lambda doc: True
    if op == "$expr":
        from mongoemu.aggregate import evaluate_expression, truthy  # lazy: avoids a cycle

        return lambda doc: truthy(evaluate_expression(cond, doc))
    if op == "$where":
        raise MongoError(2, "$where is not allowed in this context")
    if op in ("$text", "$jsonSchema"):
        raise MongoError(2, f"{op} is not supported by mongoemu")
    raise MongoError(2, f"unknown top level operator: {op}. If you have a field name that "
                        "starts with a '$' symbol, consider using $getField or $setField.")


def _is_operator_doc(cond: Any) -> bool:
    return isinstance(cond, dict) and bool(cond) and next(iter(cond)).startswith("$")


_FAST_EQ_TYPES = (str, int, bool, ObjectId)


def _compile_field(path: str, cond: Any) -> Callable[[Any], bool]:
    if "." not in path and type(cond) in _FAST_EQ_TYPES:
        return _fast_equality(path, cond)
    parts = path.split(".")
    if _is_operator_doc(cond):
        if "$regex" in cond:
            cond = dict(cond)
            options = cond.pop("$options", "")
            pattern = to_pattern(cond.pop("$regex"), options)
            preds = [_value_pred("$regex", pattern, cond)]
        else:
            if "$options" in cond:
                raise MongoError(2, "$options needs a $regex")
            preds = []
        for op, arg in cond.items():
            if op == "$regex":
                continue
            preds.append(_field_pred(op, arg, cond))
        return lambda doc: all(p(list(resolve_path(doc, parts))) for p in preds)
    pred = _field_pred("$eq", cond, {})
    return lambda doc: pred(list(resolve_path(doc, parts)))


def _fast_equality(field: str, cond: Any) -> Callable[[Any], bool]:
    """{field: scalar} on a top-level field: same answers as the general path, less work."""
    cond_type = type(cond)

    def test(doc: Any) -> bool:
        value = doc.get(field, MISSING)
        value_type = type(value)
        if value_type is cond_type:
            return bool(value == cond)
        if value_type is list:
            return any(_eq(item, cond) for item in value)
        if value is MISSING:
            return False
        return _eq(value, cond)
    return test


def _expand(values: list[Any]) -> Iterator[Any]:
    """Leaf values plus the elements of leaf arrays."""
    for v in values:
        yield v
        if isinstance(v, list):
            yield from v


def _eq(a: Any, query: Any) -> bool:
    if query is None:
        return a is None or a is MISSING
    if a is MISSING:
        return False
    if _is_regex(query) and isinstance(a, str):
        return bool(to_pattern(query).search(a))
    return type_order(a) == type_order(query) and compare(a, query) == 0


def _value_pred(op: str, arg: Any, siblings: dict[str, Any]) -> Callable[[list[Any]], bool]:
    if op == "$regex":
        pattern: re.Pattern[str] = arg
        return lambda values: any(isinstance(v, str) and pattern.search(v) is not None
                                  or (_is_regex(v) and v.pattern == pattern.pattern)
                                  for v in _expand(values))
    raise AssertionError(op)


def _cmp_pred(op: str, arg: Any) -> Callable[[list[Any]], bool]:
    def ok(v: Any) -> bool:
        if v is MISSING:
            if arg is None and op in ("$gte", "$lte"):
                return True
            return False
        if type_order(v) != type_order(arg):
            # MinKey/MaxKey compare with everything.
            if isinstance(arg, (MinKey, MaxKey)):
                c = compare(v, arg)
            else:
                return False
        else:
            c = compare(v, arg)
        if op == "$gt":
            return c > 0
        if op == "$gte":
            return c >= 0
        if op == "$lt":
            return c < 0
        return c <= 0
    return lambda values: any(ok(v) for v in _expand(values))


def _field_pred(op: str, arg: Any, siblings: dict[str, Any]) -> Callable[[list[Any]], bool]:
    if op == "$eq":
        if isinstance(arg, list):
            return lambda values: any(_eq(v, arg) for v in _expand(values))
        return lambda values: any(_eq(v, arg) for v in _expand(values))
    if op == "$ne":
        eq = _field_pred("$eq", arg, siblings)
        return lambda values: not eq(values)
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if _is_regex(arg):
            raise MongoError(2, "Can't have RegEx as arg to predicate over field")
        return _cmp_pred(op, arg)
    if op in ("$in", "$nin"):
        if not isinstance(arg, list):
            raise MongoError(2, f"{op} needs an array")
        for item in arg:
            if _is_operator_doc(item):
                raise MongoError(2, f"cannot nest $ under {op}")
        items = list(arg)

        def in_pred(values: list[Any]) -> bool:
            for v in _expand(values):
                for item in items:
                    if _eq(v, item):
                        return True
            return False
        if op == "$in":
            return in_pred
        return lambda values: not in_pred(values)
    if op == "$exists":
        want = bool(arg)
        return lambda values: any(v is not MISSING for v in values) == want
    if op == "$type":
        wanted = arg if isinstance(arg, list) else [arg]
        nums: set[int] = set()
        number_alias = False
        for w in wanted:
            if isinstance(w, str):
                if w == "number":
                    number_alias = True
                elif w in TYPE_ALIASES:
                    nums.add(TYPE_ALIASES[w])
                else:
                    raise MongoError(2, f"Unknown type name alias: {w}")
            elif is_number(w):
                nums.add(int(to_number(w)))
            else:
                raise MongoError(14, "type must be represented as a number or a string")

        def type_ok(v: Any) -> bool:
            if v is MISSING:
                return False
            if number_alias and is_number(v):
                return True
            return bson_type_number(v) in nums
        return lambda values: any(type_ok(v) for v in _expand(values))
    if op == "$size":
        if not is_number(arg):
            raise MongoError(2, "$size needs a number")
        n = int(to_number(arg))
        return lambda values: any(isinstance(v, list) and len(v) == n for v in values)
    if op == "$all":
        if not isinstance(arg, list):
            raise MongoError(2, "$all needs an array")
        subs = []
        for item in arg:
            if isinstance(item, dict) and "$elemMatch" in item:
                subs.append(_field_pred("$elemMatch", item["$elemMatch"], {}))
            else:
                subs.append(_field_pred("$eq", item, {}))
        if not subs:
            return lambda values: False
        return lambda values: all(s(values) for s in subs)
    if op == "$elemMatch":
        if not isinstance(arg, dict):
            raise MongoError(2, "$elemMatch needs an Object")
        if _is_operator_doc(arg) and not any(k in ("$and", "$or", "$nor", "$expr")
                                             for k in arg):
            preds = [_field_pred(k, v, arg) for k, v in arg.items() if k != "$options"] \
                if "$regex" not in arg else [
                    _value_pred("$regex", to_pattern(arg["$regex"], arg.get("$options", "")),
                                arg)] + [_field_pred(k, v, arg) for k, v in arg.items()
                                         if k not in ("$regex", "$options")]
            return lambda values: any(
                isinstance(v, list) and any(all(p([el]) for p in preds) for el in v)
                for v in values)
        sub = _compile_doc(arg)
        return lambda values: any(
            isinstance(v, list) and any(isinstance(el, dict) and sub(el) for el in v)
            for v in values)
    if op == "$not":
        if isinstance(arg, dict):
            if not arg:
                raise MongoError(2, "$not cannot be empty")
            inner = _compile_field("x", arg)
            return lambda values: not any(inner({"x": v}) if v is not MISSING else inner({})
                                          for v in values) if values else True
        if _is_regex(arg):
            pattern = to_pattern(arg)
            return lambda values: not any(isinstance(v, str) and pattern.search(v)
                                          for v in _expand(values))
        raise MongoError(2, "$not needs a regex or a document")
    if op == "$mod":
        if not isinstance(arg, list) or len(arg) != 2:
            raise MongoError(2, "malformed mod, needs to be an array")
        divisor, remainder = (int(to_number(x)) for x in arg)
        if divisor == 0:
            raise MongoError(2, "divisor cannot be 0")
        return lambda values: any(is_number(v) and int(to_number(v)) % divisor == remainder
                                  for v in _expand(values))
    if op == "$comment":
        return lambda values: True
    if op == "$options":
        return lambda values: True
    raise MongoError(2, f"unknown operator: {op}")


# -- projection ---------------------------------------------------------------------------


def _truthy_projection(value: Any) -> bool | None:
    """True for inclusion, False for exclusion, None for an expression."""
    if isinstance(value, bool):
        return value
    if is_number(value):
        return bool(to_number(value))
    return None


class Projection:
    def __init__(self, spec: dict[str, Any] | None) -> None:
        self.spec = spec or {}
        self.include: list[str] = []
        self.exclude: list[str] = []
        self.special: dict[str, Any] = {}
        self.id_included = True
        id_explicit = False
        for key, value in self.spec.items():
            if isinstance(value, dict) and value and next(iter(value)) in ("$slice", "$elemMatch"):
                self.special[key] = value
                continue
            mode = _truthy_projection(value)
            if key.endswith(".$"):
                key = key[:-2]
                mode = True
            if mode is None:
                self.special[key] = value  # an aggregation expression
                continue
            if key == "_id":
                self.id_included = mode
                id_explicit = mode
                continue
            (self.include if mode else self.exclude).append(key)
        if self.include and self.exclude:
            raise MongoError(31254, f"Cannot do exclusion on field {self.exclude[0]} in "
                                    "inclusion projection")
        self.inclusion = bool(self.include) or any(
            not (isinstance(v, dict) and next(iter(v), "") in ("$slice", "$elemMatch"))
            for v in self.special.values())
        if id_explicit and not self.exclude and not self.include and not self.special:
            self.inclusion = True

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        if not self.spec:
            return doc
        if self.inclusion:
            tree = _path_tree(self.include)
            out = _include(doc, tree)
            if self.id_included and "_id" in doc:
                out = {"_id": doc["_id"], **{k: v for k, v in out.items() if k != "_id"}}
        else:
            out = _exclude(doc, _path_tree(self.exclude))
            if not self.id_included:
                out.pop("_id", None)
        if self.special:
            out = copy.deepcopy(out)  # never write into the caller's (stored) document
        for key, value in self.special.items():
            if isinstance(value, dict) and "$slice" in value:
                arr = get_path(doc, key)
                if isinstance(arr, list):
                    set_path(out, key, _slice(arr, value["$slice"]))
            elif isinstance(value, dict) and "$elemMatch" in value:
                arr = doc.get(key)
                if isinstance(arr, list):
                    sub = Matcher(value["$elemMatch"])
                    for el in arr:
                        if isinstance(el, dict) and sub(el):
                            out[key] = [el]
                            break
            else:
                from mongoemu.aggregate import evaluate_expression

                result = evaluate_expression(value, doc)
                if result is not MISSING:
                    set_path(out, key, result)
        return out


def _slice(arr: list[Any], spec: Any) -> list[Any]:
    if isinstance(spec, list):
        skip, limit = int(spec[0]), int(spec[1])
        if skip < 0:
            skip = max(0, len(arr) + skip)
        return arr[skip:skip + limit]
    n = int(spec)
    return arr[:n] if n >= 0 else arr[n:]


def _path_tree(paths: list[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                node[part] = True
            else:
                child = node.get(part)
                if child is True:
                    break
                node = node.setdefault(part, {})
    return tree


def _include(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_include(el, tree) for el in value if isinstance(el, (dict, list))]
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if key not in tree:
            continue
        spec = tree[key]
        if spec is True:
            out[key] = sub
        elif isinstance(sub, (dict, list)):
            out[key] = _include(sub, spec)
    return out


def _exclude(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_exclude(el, tree) if isinstance(el, dict) else el for el in value]
    out: dict[str, Any] = {}
    for key, sub in value.items():
        spec = tree.get(key)
        if spec is True:
            continue
        if spec and isinstance(sub, (dict, list)):
            out[key] = _exclude(sub, spec)
        else:
            out[key] = sub
    return out


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, creating embedded documents on the way; MISSING removes the field."""
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    if value is MISSING:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


# -- sorting -----------------------------------------------------------------------------


def _sort_value(doc: dict[str, Any], path: str, descending: bool) -> Any:
    values = [v for v in resolve_path(doc, path.split("."))]
    flat: list[Any] = []
    for v in values:
        if isinstance(v, list):
            flat.extend(v if v else [MISSING])
        else:
            flat.append(v)
    flat = [None if v is MISSING else v for v in flat]
    if not flat:
        return None
    best = flat[0]
    for v in flat[1:]:
        c = compare(v, best)
        if (descending and c > 0) or (not descending and c < 0):
            best = v
    return best


def validate_sort(spec: Any) -> list[tuple[str, int]]:
    if spec is None:
        return []
    if not isinstance(spec, dict):
        raise MongoError(2, "sort must be an object")
    out: list[tuple[str, int]] = []
    for key, direction in spec.items():
        if isinstance(direction, dict):
            out.append((key, -1))  # {$meta: ...}: treat like descending score
            continue
        if not is_number(direction) or to_number(direction) not in (1, -1):
            raise MongoError(15975, "$sort key ordering must be 1 (for ascending) or -1 "
                                    "(for descending)")
        out.append((key, int(to_number(direction))))
    return out


def sort_documents(docs: list[dict[str, Any]], spec: Any) -> list[dict[str, Any]]:
    keys = validate_sort(spec)
    if not keys:
        return docs

    def key_of(doc: dict[str, Any]) -> tuple[SortKey, ...]:
        return tuple(SortKey(_sort_value(doc, path, d < 0), reverse=d < 0) for path, d in keys)
    return sorted(docs, key=key_of)
