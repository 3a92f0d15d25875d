"""Aggregation: expressions and pipeline stages that run over decoded documents.

Stages needing storage ($collStats, $lookup, $out) reach it through a PipelineContext.
"""
from __future__ import annotations

import copy
import datetime as _dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

from bson import Decimal128, Int64

from mongoemu.errors import MongoError
from mongoemu.keys import MISSING, SortKey, canonical_key, compare, is_number, to_number, values_equal
from mongoemu.query import Matcher, Projection, bson_type_name, get_path, set_path, sort_documents


def truthy(value: Any) -> bool:
    if value is None or value is MISSING or value is False:
        return False
    if is_number(value):
        return to_number(value) != 0
    return True


# -- expressions ---------------------------------------------------------------------------


def evaluate_expression(expr: Any, doc: dict[str, Any],
                        variables: dict[str, Any] | None = None) -> Any:
    variables = variables or {}
    if isinstance(expr, str):
        if expr.startswith("$$"):
            name, _, rest = expr[2:].partition(".")
            if name in ("ROOT", "CURRENT"):
                base: Any = doc
            elif name == "REMOVE":
                return MISSING
            elif name == "NOW":
                return _dt.datetime.now(_dt.timezone.utc)
            elif name in variables:
                base = variables[name]
            else:
                raise MongoError(17276, f"Use of undefined variable: {name}")
            return get_path(base, rest) if rest else base
        if expr.startswith("$"):
            return get_path(doc, expr[1:])
        return expr
    if isinstance(expr, list):
        return [_missing_to_none(evaluate_expression(e, doc, variables)) for e in expr]
    if isinstance(expr, dict):
        if len(expr) == 1:
            op = next(iter(expr))
            if op.startswith("$"):
                return _operator(op, expr[op], doc, variables)
        out = {}
        for key, sub in expr.items():
            if key.startswith("$"):
                raise MongoError(16410, "FieldPath field names may not start with '$'.")
            value = evaluate_expression(sub, doc, variables)
            if value is not MISSING:
                out[key] = value
        return out
    return expr


def _missing_to_none(value: Any) -> Any:
    return None if value is MISSING else value


def _args(arg: Any, doc: dict[str, Any], variables: dict[str, Any]) -> list[Any]:
    if isinstance(arg, list):
        return [evaluate_expression(a, doc, variables) for a in arg]
    return [evaluate_expression(arg, doc, variables)]


def _num_result(value: Any) -> Any:
    if isinstance(value, Decimal):
        return Decimal128(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -2**31 <= value < 2**31:
        return Int64(value)
    return value


def _add(values: list[Any]) -> Any:
    total: Any = 0
    date: _dt.datetime | None = None
    for v in values:
        if v is None or v is MISSING:
            return None
        if isinstance(v, _dt.datetime):
            date = v
            continue
        if not is_number(v):
            raise MongoError(16554, f"$add only supports numeric or date types, not "
                                    f"{bson_type_name(v)}")
        n = to_number(v)
        total = (Decimal(total) + n) if isinstance(n, Decimal) else total + n
    if date is not None:
        return date + _dt.timedelta(milliseconds=float(total))
    return _num_result(total)


def _operator(op: str, arg: Any, doc: dict[str, Any], variables: dict[str, Any]) -> Any:
    ev = lambda e: evaluate_expression(e, doc, variables)  # noqa: E731
    if op == "$literal":
        return arg
    if op in ("$add",):
        return _add(_args(arg, doc, variables))
    if op in ("$subtract", "$multiply", "$divide", "$mod"):
        values = _args(arg, doc, variables)
        if any(v is None or v is MISSING for v in values):
            return None
        if op == "$subtract":
            a, b = values
            if isinstance(a, _dt.datetime) and isinstance(b, _dt.datetime):
                return Int64(int((a - b).total_seconds() * 1000))
            if isinstance(a, _dt.datetime):
                return a - _dt.timedelta(milliseconds=float(to_number(b)))
            return _num_result(to_number(a) - to_number(b))
        if op == "$multiply":
            result: Any = 1
            for v in values:
                if not is_number(v):
                    raise MongoError(16555, "$multiply only supports numeric types")
                result = result * to_number(v)
            return _num_result(result)
        a, b = (to_number(v) for v in values)
        if b == 0:
            raise MongoError(2, "can't $divide by zero" if op == "$divide" else
                             "can't $mod by zero")
        if op == "$divide":
            return float(a) / float(b)
        return _num_result(a % b if a >= 0 else -((-a) % b))
    if op == "$abs":
        v = ev(arg[0] if isinstance(arg, list) else arg)
        return None if v is None or v is MISSING else _num_result(abs(to_number(v)))
    if op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$cmp"):
        a, b = (_missing_to_none(v) for v in _args(arg, doc, variables))
        c = compare(a, b)
        return {"$eq": c == 0, "$ne": c != 0, "$gt": c > 0, "$gte": c >= 0, "$lt": c < 0,
                "$lte": c <= 0, "$cmp": c}[op]
    if op == "$and":
        return all(truthy(ev(a)) for a in (arg if isinstance(arg, list) else [arg]))
    if op == "$or":
        return any(truthy(ev(a)) for a in (arg if isinstance(arg, list) else [arg]))
    if op == "$not":
        return not truthy(_args(arg, doc, variables)[0])
    if op == "$cond":
        if isinstance(arg, list):
            cond, then, other = arg
        else:
            cond, then, other = arg.get("if"), arg.get("then"), arg.get("else")
        return ev(then) if truthy(ev(cond)) else ev(other)
    if op == "$ifNull":
        values = arg if isinstance(arg, list) else [arg]
        for e in values[:-1]:
            v = ev(e)
            if v is not None and v is not MISSING:
                return v
        return ev(values[-1])
    if op == "$in":
        needle, hay = _args(arg, doc, variables)
        if not isinstance(hay, list):
            raise MongoError(40081, "$in requires an array as a second argument")
        return any(values_equal(_missing_to_none(needle), h) for h in hay)
    if op == "$size":
        v = _args(arg, doc, variables)[0]
        if not isinstance(v, list):
            raise MongoError(17124, f"The argument to $size must be an array. Type of "
                                    f"argument: {bson_type_name(v)}")
        return len(v)
    if op == "$isArray":
        return isinstance(_args(arg, doc, variables)[0], list)
    if op == "$concat":
        values = _args(arg, doc, variables)
        if any(v is None or v is MISSING for v in values):
            return None
        return "".join(values)
    if op in ("$toLower", "$toUpper"):
        v = _args(arg, doc, variables)[0]
        s = "" if v is None or v is MISSING else str(v)
        return s.lower() if op == "$toLower" else s.upper()
    if op == "$toString":
        v = ev(arg)
        return None if v is None or v is MISSING else str(v)
    if op in ("$toInt", "$toLong", "$toDouble"):
        v = ev(arg)
        if v is None or v is MISSING:
            return None
        n = to_number(v) if is_number(v) else float(v)
        return {"$toInt": int, "$toLong": lambda x: Int64(int(x)), "$toDouble": float}[op](n)
    if op == "$type":
        v = ev(arg[0] if isinstance(arg, list) else arg)
        return bson_type_name(v)
    if op == "$arrayElemAt":
        arr, idx = _args(arg, doc, variables)
        if not isinstance(arr, list):
            return None
        i = int(to_number(idx))
        try:
            return arr[i]
        except IndexError:
            return MISSING
    if op in ("$first", "$last") and not isinstance(arg, dict):
        arr = ev(arg[0] if isinstance(arg, list) and len(arg) == 1 else arg)
        if not isinstance(arr, list) or not arr:
            return MISSING
        return arr[0] if op == "$first" else arr[-1]
    if op in ("$sum", "$avg", "$min", "$max"):
        values = _args(arg, doc, variables)
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        acc = _Accumulator(op, None)
        for v in values:
            acc.add(v)
        return acc.result()
    if op == "$mergeObjects":
        out: dict[str, Any] = {}
        for v in _args(arg, doc, variables):
            if isinstance(v, dict):
                out.update(v)
        return out
    if op == "$objectToArray":
        v = ev(arg)
        return [{"k": k, "v": val} for k, val in v.items()] if isinstance(v, dict) else None
    if op == "$arrayToObject":
        v = ev(arg[0] if isinstance(arg, list) and len(arg) == 1 else arg)
        out = {}
        for item in v or []:
            if isinstance(item, dict):
                out[item["k"]] = item["v"]
            else:
                out[item[0]] = item[1]
        return out
    if op in ("$filter", "$map"):
        items = ev(arg["input"])
        name = arg.get("as", "this")
        if items is None or items is MISSING:
            return None
        out_list = []
        for item in items:
            inner = {**variables, name: item}
            if op == "$filter":
                if truthy(evaluate_expression(arg["cond"], doc, inner)):
                    out_list.append(item)
            else:
                out_list.append(evaluate_expression(arg["in"], doc, inner))
        return out_list
    if op == "$setUnion":
        out_list = []
        for arr in _args(arg, doc, variables):
            for item in arr or []:
                if not any(values_equal(item, o) for o in out_list):
                    out_list.append(item)
        return out_list
    if op == "$split":
        s, sep = _args(arg, doc, variables)
        return None if s is None else s.split(sep)
    if op in ("$substr", "$substrBytes", "$substrCP"):
        s, start, length = _args(arg, doc, variables)
        s = "" if s is None or s is MISSING else str(s)
        start, length = int(to_number(start)), int(to_number(length))
        return s[start:] if length < 0 else s[start:start + length]
    if op == "$strLenCP":
        return len(ev(arg))
    if op == "$dateToString":
        date = ev(arg.get("date"))
        fmt = arg.get("format", "%Y-%m-%dT%H:%M:%S.%LZ")
        if not isinstance(date, _dt.datetime):
            return None
        return date.strftime(fmt.replace("%L", f"{date.microsecond // 1000:03d}"))
    if op == "$toDate":
        v = ev(arg)
        if isinstance(v, _dt.datetime):
            return v
        if is_number(v):
            return _dt.datetime.fromtimestamp(to_number(v) / 1000, _dt.timezone.utc)
        return None
    if op == "$let":
        inner = dict(variables)
        for name, e in arg.get("vars", {}).items():
            inner[name] = evaluate_expression(e, doc, variables)
        return evaluate_expression(arg["in"], doc, inner)
    if op == "$getField":
        name = arg if isinstance(arg, str) else arg.get("field")
        src = doc if isinstance(arg, str) else ev(arg.get("input", "$$CURRENT"))
        return src.get(name, MISSING) if isinstance(src, dict) else MISSING
    if op == "$floor":
        import math

        v = ev(arg)
        return None if v is None else _num_result(math.floor(to_number(v)))
    if op == "$round":
        values = _args(arg, doc, variables)
        places = int(values[1]) if len(values) > 1 else 0
        return round(to_number(values[0]), places)
    raise MongoError(168, f"Unrecognized expression '{op}'")


# -- accumulators ------------------------------------------------------------------------------


class _Accumulator:
    def __init__(self, op: str, expr: Any) -> None:
        if op not in ("$sum", "$avg", "$min", "$max", "$first", "$last", "$push",
                      "$addToSet", "$count", "$mergeObjects", "$stdDevPop"):
            raise MongoError(15952, f"unknown group operator '{op}'")
        self.op = op
        self.expr = expr
        self.total: Any = 0
        self.count = 0
        self.value: Any = MISSING
        self.items: list[Any] = []
        self.seen: set[bytes] = set()

    def feed(self, doc: dict[str, Any]) -> None:
        if self.op == "$count":
            self.add(1)
            return
        self.add(evaluate_expression(self.expr, doc))

    def add(self, v: Any) -> None:
        op = self.op
        if op in ("$sum", "$avg", "$count", "$stdDevPop"):
            if is_number(v):
                n = to_number(v)
                self.total = (Decimal(self.total) + n) if isinstance(n, Decimal) else self.total + n
                self.count += 1
                self.items.append(n)
        elif op in ("$min", "$max"):
            if v is None or v is MISSING:
                return
            if self.value is MISSING:
                self.value = v
            else:
                c = compare(v, self.value)
                if (op == "$min" and c < 0) or (op == "$max" and c > 0):
                    self.value = v
        elif op == "$first":
            if self.count == 0:
                self.value = _missing_to_none(v)
            self.count += 1
        elif op == "$last":
            self.value = _missing_to_none(v)
        elif op == "$push":
            if v is not MISSING:
                self.items.append(v)
        elif op == "$addToSet":
            if v is not MISSING:
                key = canonical_key(v)
                if key not in self.seen:
                    self.seen.add(key)
                    self.items.append(v)
        elif op == "$mergeObjects":
            if self.value is MISSING:
                self.value = {}
            if isinstance(v, dict):
                self.value.update(v)

    def result(self) -> Any:
        op = self.op
        if op in ("$sum", "$count"):
            return _num_result(self.total)
        if op == "$avg":
            return None if self.count == 0 else float(self.total) / self.count
        if op == "$stdDevPop":
            if not self.items:
                return None
            mean = float(self.total) / len(self.items)
            return (sum((float(x) - mean) ** 2 for x in self.items) / len(self.items)) ** 0.5
        if op in ("$push", "$addToSet"):
            return self.items
        if op in ("$min", "$max"):
            return None if self.value is MISSING else self.value
        return None if self.value is MISSING else self.value


# -- pipelines -----------------------------------------------------------------------------


@dataclass
class PipelineContext:
    """Hooks into the server for stages that need more than the input documents."""

    db: str = ""
    coll_stats: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    load_collection: Callable[[str], list[dict[str, Any]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _stage_name(stage: Any) -> str:
    if not isinstance(stage, dict) or len(stage) != 1:
        raise MongoError(40323, "A pipeline stage specification object must contain exactly "
                                "one field.")
    return next(iter(stage))


def run_pipeline(docs: Iterable[dict[str, Any]], pipeline: list[Any],
                 ctx: PipelineContext | None = None) -> list[dict[str, Any]]:
    ctx = ctx or PipelineContext()
    if not isinstance(pipeline, list):
        raise MongoError(14, "'pipeline' option must be specified as an array")
    current: Iterable[dict[str, Any]] = docs
    for index, stage in enumerate(pipeline):
        name = _stage_name(stage)
        arg = stage[name]
        if name == "$collStats":
            if index != 0:
                raise MongoError(40602, "$collStats is only valid as the first stage in a "
                                        "pipeline")
            if ctx.coll_stats is None:
                raise MongoError(2, "$collStats is not available here")
            current = [ctx.coll_stats(arg)]
            continue
        current = _run_stage(name, arg, list(current) if not isinstance(current, list)
                             else current, ctx)
    return list(current)


def _run_stage(name: str, arg: Any, docs: list[dict[str, Any]],
               ctx: PipelineContext) -> list[dict[str, Any]]:
    if name == "$match":
        if not isinstance(arg, dict):
            raise MongoError(15959, "the match filter must be an expression in an object")
        m = Matcher(arg)
        return [d for d in docs if m(d)]
    if name == "$sort":
        if not isinstance(arg, dict) or not arg:
            raise MongoError(15976, "$sort stage must have at least one sort key")
        return sort_documents(docs, arg)
    if name == "$limit":
        if not is_number(arg) or to_number(arg) <= 0:
            raise MongoError(15958, "the limit must be positive")
        return docs[:int(to_number(arg))]
    if name == "$skip":
        if not is_number(arg) or to_number(arg) < 0:
            raise MongoError(15956, "invalid argument to $skip stage: Expected a non-negative "
                                    "number")
        return docs[int(to_number(arg)):]
    if name == "$project":
        if not isinstance(arg, dict) or not arg:
            raise MongoError(51272, "$project specification must have at least one field")
        proj = Projection(arg)
        return [proj.apply(d) for d in docs]
    if name in ("$addFields", "$set"):
        out = []
        for d in docs:
            new = copy.deepcopy(d)
            for key, expr in arg.items():
                value = evaluate_expression(expr, d)
                set_path(new, key, value)
            out.append(new)
        return out
    if name == "$unset":
        fields = [arg] if isinstance(arg, str) else list(arg)
        proj = Projection({f: 0 for f in fields})
        return [proj.apply(d) for d in docs]
    if name == "$group":
        return _group(arg, docs)
    if name == "$count":
        if not isinstance(arg, str) or not arg or arg.startswith("$") or "." in arg:
            raise MongoError(40156, "the count field must be a non-empty string")
        return [{arg: len(docs)}] if docs else []
    if name == "$sortByCount":
        grouped = _group({"_id": arg, "count": {"$sum": 1}}, docs)
        return sort_documents(grouped, {"count": -1})
    if name == "$unwind":
        spec = {"path": arg} if isinstance(arg, str) else arg
        path = spec["path"]
        if not isinstance(path, str) or not path.startswith("$"):
            raise MongoError(28818, "path option to $unwind stage should be prefixed with a "
                                    "'$'")
        path = path[1:]
        keep = spec.get("preserveNullAndEmptyArrays", False)
        index_field = spec.get("includeArrayIndex")
        out = []
        for d in docs:
            value = get_path(d, path)
            if isinstance(value, list) and value:
                for i, item in enumerate(value):
                    new = copy.deepcopy(d)
                    set_path(new, path, item)
                    if index_field:
                        new[index_field] = Int64(i)
                    out.append(new)
            elif isinstance(value, list) or value is None or value is MISSING:
                if keep:
                    new = copy.deepcopy(d)
                    if isinstance(value, list):
                        _remove(new, path)
                    if index_field:
                        new[index_field] = None
                    out.append(new)
            else:
                new = copy.deepcopy(d)
                if index_field:
                    new[index_field] = None
                out.append(new)
        return out
    if name in ("$replaceRoot", "$replaceWith"):
        expr = arg["newRoot"] if name == "$replaceRoot" else arg
        out = []
        for d in docs:
            value = evaluate_expression(expr, d)
            if not isinstance(value, dict):
                raise MongoError(40228, "'newRoot' expression must evaluate to an object, but "
                                        f"resulting value was: {value!r}")
            out.append(value)
        return out
    if name == "$sample":
        size = int(to_number(arg.get("size", 0)))
        return random.sample(docs, min(size, len(docs)))
    if name == "$facet":
        return [{key: run_pipeline(list(docs), sub, ctx) for key, sub in arg.items()}]
    if name == "$lookup":
        if ctx.load_collection is None:
            raise MongoError(2, "$lookup is not available here")
        foreign = ctx.load_collection(arg["from"])
        local_field, foreign_field, as_field = arg.get("localField"), arg.get("foreignField"), \
            arg["as"]
        out = []
        for d in docs:
            new = copy.deepcopy(d)
            if local_field is not None:
                lv = get_path(d, local_field)
                lvs = lv if isinstance(lv, list) else [None if lv is MISSING else lv]
                joined = [f for f in foreign
                          if any(Matcher({foreign_field: v})(f) for v in lvs)]
            else:
                joined = list(foreign)
            if "pipeline" in arg:
                joined = run_pipeline(joined, arg["pipeline"], ctx)
            set_path(new, as_field, joined)
            out.append(new)
        return out
    if name in ("$out", "$merge"):
        writer = ctx.extra.get("write_out")
        if writer is None:
            raise MongoError(2, f"{name} is not supported here")
        writer(name, arg, docs)
        return []
    if name in ("$indexStats", "$currentOp", "$listSessions", "$planCacheStats"):
        return []
    raise MongoError(40324, f"Unrecognized pipeline stage name: '{name}'")


def _remove(doc: dict[str, Any], path: str) -> None:
    set_path(doc, path, MISSING)


def _group(spec: Any, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(spec, dict) or "_id" not in spec:
        raise MongoError(15955, "a group specification must include an _id")
    groups: dict[bytes, tuple[Any, dict[str, _Accumulator]]] = {}
    order: list[bytes] = []
    fields = {k: v for k, v in spec.items() if k != "_id"}
    for k, v in fields.items():
        if not isinstance(v, dict) or len(v) != 1:
            raise MongoError(40234, f"The field '{k}' must be an accumulator object")
    for d in docs:
        key_value = _missing_to_none(evaluate_expression(spec["_id"], d))
        key = canonical_key(key_value)
        if key not in groups:
            accs = {}
            for k, v in fields.items():
                op = next(iter(v))
                accs[k] = _Accumulator(op, v[op])
            groups[key] = (key_value, accs)
            order.append(key)
        for acc in groups[key][1].values():
            acc.feed(d)
    out = []
    for key in order:
        key_value, accs = groups[key]
        row = {"_id": key_value}
        for k, acc in accs.items():
            row[k] = acc.result()
        out.append(row)
    return out


def run_update_pipeline(doc: dict[str, Any], pipeline: list[Any]) -> dict[str, Any]:
    allowed = {"$addFields", "$set", "$project", "$unset", "$replaceRoot", "$replaceWith"}
    for stage in pipeline:
        name = _stage_name(stage)
        if name not in allowed:
            raise MongoError(ErrorCodes_InvalidOptions, f"{name} is not allowed to be used "
                                                        "within an update")
    result = run_pipeline([doc], pipeline)
    return result[0] if result else {}


ErrorCodes_InvalidOptions = 72

__all__ = ["run_pipeline", "evaluate_expression", "truthy", "PipelineContext", "SortKey"]
