"""Update operators ($set, $inc, $push, ...), replacements and pipeline updates."""
from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

from bson import Decimal128, Int64, Timestamp

from mongoemu.errors import MongoError
from mongoemu.keys import MISSING, compare, is_number, to_number, values_equal
from mongoemu.query import Matcher, bson_type_name, resolve_path, sort_documents

OPERATORS = ("$set", "$unset", "$inc", "$mul", "$min", "$max", "$rename", "$push",
             "$addToSet", "$pull", "$pullAll", "$pop", "$setOnInsert", "$currentDate", "$bit")


def is_operator_update(update: Any) -> bool:
    return isinstance(update, dict) and bool(update) and next(iter(update)).startswith("$")


def validate_replacement(doc: dict[str, Any]) -> None:
    for key in doc:
        if key.startswith("$"):
            raise MongoError(2, f"The dollar ($) prefixed field '{key}' in '{key}' is not "
                                "allowed in the context of an update's replacement document. "
                                "Consider using an aggregation pipeline with $replaceWith.")


def validate_update(update: Any) -> None:
    if isinstance(update, list):
        return
    if not isinstance(update, dict):
        raise MongoError(14, "Update argument must be either an object or an array")
    if not is_operator_update(update):
        validate_replacement(update)
        return
    for op, args in update.items():
        if op not in OPERATORS:
            raise MongoError(9, f"Unknown modifier: {op}. Expected a valid update modifier or "
                                "pipeline-style update specified as an array")
        if not isinstance(args, dict):
            raise MongoError(9, f"Modifiers operate on fields but we found type "
                                f"{bson_type_name(args)} instead. For example: {{$mod: "
                                "{<field>: ...}} not {$set: 7}")
    seen: list[str] = []
    for op, args in update.items():
        for path in args:
            for other in seen:
                if path == other or path.startswith(other + ".") or other.startswith(path + "."):
                    raise MongoError(40, f"Updating the path '{path}' would create a conflict "
                                         f"at '{other if len(other) <= len(path) else path}'")
            seen.append(path)
            if op == "$rename":
                seen.append(str(args[path]))


def _id_repr(doc: dict[str, Any]) -> str:
    return f"{{_id: {doc.get('_id')!r}}}"


class _Ctx:
    def __init__(self, doc: dict[str, Any], query: dict[str, Any] | None,
                 array_filters: list[dict[str, Any]] | None, is_insert: bool) -> None:
        self.doc = doc
        self.query = query or {}
        self.array_filters = {}
        for flt in array_filters or []:
            if not isinstance(flt, dict) or not flt:
                raise MongoError(9, "arrayFilters must be objects")
            ident = next(iter(flt)).split(".", 1)[0]
            self.array_filters[ident] = flt
        self.is_insert = is_insert


def _expand_positional(ctx: _Ctx, path: str) -> list[list[str]]:
    """Expand '$', '$[]' and '$[id]' into concrete paths."""
    parts = path.split(".")
    results: list[list[str]] = [[]]
    for i, part in enumerate(parts):
        if part == "$" or (part.startswith("$[") and part.endswith("]")):
            new_results = []
            for prefix in results:
                arr = _get(ctx.doc, prefix)
                if not isinstance(arr, list):
                    if ctx.is_insert:
                        raise MongoError(2, "The positional operator did not find the match "
                                            "needed from the query.")
                    raise MongoError(2, "The positional operator did not find the match "
                                        "needed from the query.")
                if part == "$":
                    idx = _first_match_index(ctx, ".".join(prefix), arr)
                    new_results.append(prefix + [str(idx)])
                elif part == "$[]":
                    new_results.extend(prefix + [str(j)] for j in range(len(arr)))
                else:
                    ident = part[2:-1]
                    flt = ctx.array_filters.get(ident)
                    if flt is None:
                        raise MongoError(2, f"No array filter found for identifier '{ident}' "
                                            f"in path '{path}'")
                    for j, el in enumerate(arr):
                        probe = {}
                        for k, v in flt.items():
                            rest = k.split(".", 1)
                            probe[("x." + rest[1]) if len(rest) > 1 else "x"] = v
                        if Matcher(probe)({"x": el}):
                            new_results.append(prefix + [str(j)])
            results = new_results
        else:
            for prefix in results:
                prefix.append(part)
    return results


def _first_match_index(ctx: _Ctx, array_path: str, arr: list[Any]) -> int:
    for key, cond in ctx.query.items():
        if key == array_path or key.startswith(array_path + "."):
            rest = key[len(array_path) + 1:]
            for j, el in enumerate(arr):
                probe = {("x." + rest) if rest else "x": cond}
                if Matcher(probe)({"x": el}):
                    return j
    raise MongoError(2, "The positional operator did not find the match needed from the query.")


def _get(doc: Any, parts: list[str]) -> Any:
    node = doc
    for part in parts:
        if isinstance(node, dict):
            if part not in node:
                return MISSING
            node = node[part]
        elif isinstance(node, list) and part.isdigit():
            idx = int(part)
            if idx >= len(node):
                return MISSING
            node = node[idx]
        else:
            return MISSING
    return node


def _parent(doc: dict[str, Any], parts: list[str], create: bool, path: str) -> Any:
    node: Any = doc
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, dict):
            if part not in node:
                if not create:
                    return None
                node[part] = {}
            child = node[part]
        elif isinstance(node, list):
            if not part.isdigit():
                raise MongoError(28, f"Cannot create field '{part}' in element "
                                     f"{{{parts[i - 1] if i else ''}: {node!r}}}")
            idx = int(part)
            if idx >= len(node):
                if not create:
                    return None
                node.extend([None] * (idx + 1 - len(node)))
                node[idx] = {}
            child = node[idx]
        else:
            raise MongoError(28, f"Cannot create field '{part}' in element "
                                 f"{{{parts[i - 1] if i else ''}: {node!r}}}")
        if not isinstance(child, (dict, list)):
            if not create:
                return None
            raise MongoError(28, f"Cannot create field '{parts[i + 1]}' in element "
                                 f"{{{part}: {child!r}}}")
        node = child
    return node


def _set(doc: dict[str, Any], parts: list[str], value: Any, path: str) -> None:
    parent = _parent(doc, parts, True, path)
    last = parts[-1]
    if isinstance(parent, list):
        if not last.isdigit():
            raise MongoError(28, f"Cannot create field '{last}' in element {{{parent!r}}}")
        idx = int(last)
        if idx >= len(parent):
            parent.extend([None] * (idx + 1 - len(parent)))
        parent[idx] = value
    else:
        parent[last] = value


def _unset(doc: dict[str, Any], parts: list[str], path: str) -> None:
    parent = _parent(doc, parts, False, path)
    if parent is None:
        return
    last = parts[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent[int(last)] = None


def _arith(op: str, current: Any, operand: Any) -> Any:
    a, b = to_number(current), to_number(operand)
    if isinstance(current, Decimal128) or isinstance(operand, Decimal128):
        from decimal import Decimal

        r = Decimal(a) + Decimal(b) if op == "$inc" else Decimal(a) * Decimal(b)
        return Decimal128(r)
    result = a + b if op == "$inc" else a * b
    if isinstance(current, float) or isinstance(operand, float):
        return float(result)
    if isinstance(current, Int64) or isinstance(operand, Int64) or not -2**31 <= result < 2**31:
        return Int64(result)
    return int(result)


def apply_update(doc: dict[str, Any], update: Any, *, query: dict[str, Any] | None = None,
                 array_filters: list[dict[str, Any]] | None = None,
                 is_insert: bool = False) -> dict[str, Any]:
    """Return the updated copy of ``doc`` (the original is left untouched)."""
    if isinstance(update, list):
        return _apply_pipeline(doc, update)
    if not is_operator_update(update):
        validate_replacement(update)
        new = dict(update)
        if "_id" in doc:
            if "_id" in new and not values_equal(new["_id"], doc["_id"]):
                raise MongoError(66, "After applying the update, the (immutable) field '_id' "
                                     "was found to have been altered to _id: "
                                     f"{new['_id']!r}")
            new.pop("_id", None)
            new = {"_id": doc["_id"], **new}
        return new
    validate_update(update)
    new = copy.deepcopy(doc)
    ctx = _Ctx(new, query, array_filters, is_insert)
    for op, args in update.items():
        if op == "$setOnInsert" and not is_insert:
            continue
        for path, arg in args.items():
            if path == "_id" or path.startswith("_id."):
                if op in ("$set", "$setOnInsert") and (is_insert or values_equal(
                        _get(doc, path.split(".")), arg)):
                    if not is_insert:
                        continue
                elif not (op == "$setOnInsert" and is_insert):
                    raise MongoError(66, "Performing an update on the path '_id' would modify "
                                         "the immutable field '_id'")
            if not path or path.endswith(".") or ".." in path:
                raise MongoError(56, "An empty update path is not valid.")
            for parts in _expand_positional(ctx, path):
                _apply_one(ctx, op, parts, ".".join(parts), arg)
    return new


def _apply_one(ctx: _Ctx, op: str, parts: list[str], path: str, arg: Any) -> None:
    doc = ctx.doc
    current = _get(doc, parts)
    if op in ("$set", "$setOnInsert"):
        _set(doc, parts, copy.deepcopy(arg), path)
    elif op == "$unset":
        _unset(doc, parts, path)
    elif op in ("$inc", "$mul"):
        if not is_number(arg):
            raise MongoError(14, f"Cannot {op[1:]}rement with non-numeric argument: "
                                 f"{{{path}: {arg!r}}}" if op == "$inc" else
                             f"Cannot multiply with non-numeric argument: {{{path}: {arg!r}}}")
        if current is MISSING:
            _set(doc, parts, arg if op == "$inc" else _arith("$mul", 0, arg), path)
        elif not is_number(current):
            raise MongoError(14, f"Cannot apply {op} to a value of non-numeric type. "
                                 f"{_id_repr(doc)} has the field '{parts[-1]}' of non-numeric "
                                 f"type {bson_type_name(current)}")
        else:
            _set(doc, parts, _arith(op, current, arg), path)
    elif op in ("$min", "$max"):
        if current is MISSING:
            _set(doc, parts, arg, path)
        else:
            c = compare(arg, current)
            if (op == "$min" and c < 0) or (op == "$max" and c > 0):
                _set(doc, parts, arg, path)
    elif op == "$rename":
        if not isinstance(arg, str) or not arg:
            raise MongoError(2, "The 'to' field for $rename must be a string")
        if current is not MISSING:
            _unset(doc, parts, path)
            _set(doc, arg.split("."), current, arg)
    elif op == "$currentDate":
        if isinstance(arg, dict) and arg.get("$type") == "timestamp":
            import time as _time

            _set(doc, parts, Timestamp(int(_time.time()), 1), path)
        else:
            now = _dt.datetime.now(_dt.timezone.utc)
            _set(doc, parts, now.replace(microsecond=now.microsecond // 1000 * 1000), path)
    elif op in ("$push", "$addToSet"):
        if current is MISSING:
            current = []
            _set(doc, parts, current, path)
        elif not isinstance(current, list):
            raise MongoError(2, f"The field '{path}' must be an array but is of type "
                                f"{bson_type_name(current)} in document {_id_repr(doc)}")
        if isinstance(arg, dict) and "$each" in arg:
            items = arg["$each"]
            if not isinstance(items, list):
                raise MongoError(2, f"The argument to $each in {op} must be an array but it "
                                    f"was of type: {bson_type_name(items)}")
            modifiers = arg
        else:
            items = [arg]
            modifiers = {}
        if op == "$addToSet":
            for item in items:
                if not any(values_equal(item, existing) for existing in current):
                    current.append(copy.deepcopy(item))
            return
        position = modifiers.get("$position")
        items = copy.deepcopy(items)
        if position is None:
            current.extend(items)
        else:
            pos = int(to_number(position))
            if pos < 0:
                pos = max(0, len(current) + pos)
            current[pos:pos] = items
        if "$sort" in modifiers:
            spec = modifiers["$sort"]
            if isinstance(spec, dict):
                current[:] = sort_documents(current, spec)
            else:
                from mongoemu.keys import SortKey

                current.sort(key=lambda v: SortKey(v, reverse=to_number(spec) < 0))
        if "$slice" in modifiers:
            n = int(to_number(modifiers["$slice"]))
            current[:] = current[:n] if n >= 0 else current[n:]
    elif op in ("$pull", "$pullAll"):
        if current is MISSING:
            return
        if not isinstance(current, list):
            raise MongoError(2, "Cannot apply $pull to a non-array value")
        if op == "$pullAll":
            if not isinstance(arg, list):
                raise MongoError(2, "$pullAll requires an array argument but was given a "
                                    + bson_type_name(arg))
            current[:] = [v for v in current if not any(values_equal(v, a) for a in arg)]
        elif isinstance(arg, dict) and arg:
            if next(iter(arg)).startswith("$"):
                m = Matcher({"x": arg})
                current[:] = [v for v in current if not m({"x": v})]
            else:
                m = Matcher(arg)
                current[:] = [v for v in current if not (isinstance(v, dict) and m(v))]
        else:
            current[:] = [v for v in current if not values_equal(v, arg)]
    elif op == "$pop":
        if current is MISSING:
            return
        if not isinstance(current, list):
            raise MongoError(14, f"Path '{path}' contains an element of non-array type "
                                 f"'{bson_type_name(current)}'")
        if current:
            if to_number(arg) >= 1:
                current.pop()
            else:
                current.pop(0)
    elif op == "$bit":
        value = 0 if current is MISSING else current
        for bop, operand in arg.items():
            if bop == "and":
                value &= operand
            elif bop == "or":
                value |= operand
            elif bop == "xor":
                value ^= operand
        _set(doc, parts, value, path)


def _apply_pipeline(doc: dict[str, Any], pipeline: list[Any]) -> dict[str, Any]:
    from mongoemu.aggregate import run_update_pipeline

    new = run_update_pipeline(copy.deepcopy(doc), pipeline)
    if "_id" in doc:
        if "_id" in new and not values_equal(new["_id"], doc["_id"]):
            raise MongoError(66, "Performing an update on the path '_id' would modify the "
                                 "immutable field '_id'")
        new = {"_id": doc["_id"], **{k: v for k, v in new.items() if k != "_id"}}
    return new


def upsert_seed(query: dict[str, Any]) -> dict[str, Any]:
    """The document an upsert starts from: the query's equality fields."""
    seed: dict[str, Any] = {}

    def take(spec: dict[str, Any]) -> None:
        for key, cond in spec.items():
            if key == "$and" and isinstance(cond, list):
                for sub in cond:
                    if isinstance(sub, dict):
                        take(sub)
                continue
            if key.startswith("$"):
                continue
            if isinstance(cond, dict) and cond and next(iter(cond)).startswith("$"):
                if "$eq" in cond:
                    _set(seed, key.split("."), copy.deepcopy(cond["$eq"]), key)
                elif "$in" in cond and isinstance(cond["$in"], list) and len(cond["$in"]) == 1:
                    _set(seed, key.split("."), copy.deepcopy(cond["$in"][0]), key)
                continue
            _set(seed, key.split("."), copy.deepcopy(cond), key)
    take(query)
    return seed


__all__ = ["apply_update", "validate_update", "is_operator_update", "upsert_seed",
           "resolve_path"]
