# SPDX-License-Identifier: Apache-2.0
"""The condition language of `peeka watch --condition` (agent side).

A small, safe expression language, evaluated by walking the AST (never
compile/eval), standard library only, CPython 3.8 - 3.14:

  names      params, kwargs, target, result, exception, cost, and
             True, False, None
  literals   numbers, strings, bytes (bounded), tuples, lists, dicts, sets
  operators  and or not, == != < <= > >= in not in is is not,
             + - * / // % ** << >> & | ^ ~ (unary - +), x if c else y
  access     x[i], x[a:b:c] on str/bytes/list/tuple/dict/range; x.name
             for a name not starting with "_" that is found without
             running any code (instance __dict__ or __slots__, or a plain
             class attribute: no property, no __getattr__)
  calls      len(x) only

Everything else (other calls, lambdas, comprehensions, assignment
expressions, f-strings, starred arguments, names starting with "_", frame
and code attributes, attributes of modules, functions and types) is
refused when the expression is compiled, with a message naming what is
not allowed.  The expression is then turned into closures, one per node;
with no loops, each node runs at most once per call.  No code of the
application ever runs: operators, len() and indexing take only exact
builtin types, comparisons (other than is / is not) and truth tests only
values made of builtin scalars and containers.  Every number, string and
container made is capped in size; going over, or any error, makes the
condition false for that call (ExprError), never an exception in the
application.

Attributes are read without running code: the instance dict is found
only through the C-level __dict__ descriptor of the object's type (a
__dict__ property defined by a class is never run, and the object then
counts as having no instance dict), and classes are walked through
type's own __mro__ and __dict__ descriptors (no metaclass code).

Residual risk, accepted: a dict lookup compares keys of equal hash with
==, and that comparison starts with the key stored in the dict.  So
d[key] on an exact dict (indexing; the key itself must be a str, int,
bytes, None, bool or float), and x.name on an instance dict, could run
the __eq__ of an application object used as a key of that dict (or a
str subclass used as an attribute name) when its hash collides with the
key looked up.  Checking every key first would cost a pass over the dict
at each call; 'in' does check (both sides must be plain values).
"""

import ast
import types

MAX_SOURCE = 2048
MAX_NODES = 500
MAX_DEPTH = 40
MAX_LEN = 100000          # characters, bytes or elements made
MAX_INT_BITS = 4096       # bits of any integer made
MAX_SHIFT = 4096
NAMES = ("params", "kwargs", "target", "result", "exception", "cost")
CONSTANTS = {"True": True, "False": False, "None": None}
SIZED = (str, bytes, list, tuple, dict, range, set, frozenset)
INDEXABLE = (str, bytes, list, tuple, dict, range)
BAD_ATTRS = {"gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame",
             "ag_code", "tb_frame", "tb_next", "f_back", "f_globals",
             "f_locals", "f_builtins", "f_code", "co_code", "format",
             "format_map", "mro"}
OPAQUE = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
          types.MethodType, types.CodeType, types.FrameType,
          types.TracebackType, types.GeneratorType, types.CoroutineType,
          types.AsyncGeneratorType, type)


class ExprError(Exception):
    """A refused expression (at compile time) or a failed evaluation."""


_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b, ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b, ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b,
}
_CMPOPS = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_UNARY = {ast.Not: lambda a: not a, ast.USub: lambda a: -a,
          ast.UAdd: lambda a: +a, ast.Invert: lambda a: ~a}


def _what(node):
    return {
        "Call": "calls (only len(x) is allowed)",
        "Lambda": "lambda", "NamedExpr": "assignment expressions",
        "ListComp": "comprehensions", "SetComp": "comprehensions",
        "DictComp": "comprehensions", "GeneratorExp": "generator expressions",
        "JoinedStr": "f-strings", "Starred": "starred expressions",
        "Await": "await", "Yield": "yield", "YieldFrom": "yield",
    }.get(type(node).__name__, type(node).__name__)


class _Checker(ast.NodeVisitor):
    """Refuses, before anything runs, what the language does not have."""

    def __init__(self):
        self.nodes = 0

    def generic_visit(self, node):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExprError("the expression is too large (at most %d nodes)"
                            % MAX_NODES)
        allowed = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp,
                   ast.Compare, ast.IfExp, ast.Subscript, ast.Slice,
                   ast.Tuple, ast.List, ast.Dict, ast.Set, ast.Load,
                   ast.And, ast.Or, ast.expr_context, ast.cmpop,
                   ast.operator, ast.unaryop)
        if getattr(ast, "Index", None) is not None and \
                isinstance(node, getattr(ast, "Index")):
            pass   # 3.8: x[i] wraps i in Index
        elif not isinstance(node, allowed):
            raise ExprError("not allowed in a condition: %s" % _what(node))
        super().generic_visit(node)

    def visit_Constant(self, node):
        self.nodes += 1
        v = node.value
        if not isinstance(v, (int, float, complex, str, bytes, bool,
                              type(None))):
            raise ExprError("not allowed in a condition: a %s constant"
                            % type(v).__name__)
        if isinstance(v, (str, bytes)) and len(v) > MAX_LEN:
            raise ExprError("a constant is too long")

    # 3.8 still produces these for literals
    def visit_Num(self, node):
        self.nodes += 1

    def visit_Str(self, node):
        self.nodes += 1

    def visit_Bytes(self, node):
        self.nodes += 1

    def visit_NameConstant(self, node):
        self.nodes += 1

    def visit_Name(self, node):
        self.nodes += 1
        if node.id not in NAMES and node.id not in CONSTANTS:
            raise ExprError("unknown name '%s' (a condition can use: %s)" % (
                node.id, ", ".join(NAMES)))

    def visit_Attribute(self, node):
        self.nodes += 1
        if node.attr.startswith("_"):
            raise ExprError("not allowed in a condition: the attribute '%s' "
                            "(names starting with '_')" % node.attr)
        if node.attr in BAD_ATTRS:
            raise ExprError("not allowed in a condition: the attribute '%s'"
                            % node.attr)
        self.visit(node.value)

    def visit_Call(self, node):
        self.nodes += 1
        if not (isinstance(node.func, ast.Name) and node.func.id == "len"
                and len(node.args) == 1 and not node.keywords
                and not isinstance(node.args[0], ast.Starred)):
            raise ExprError("not allowed in a condition: calls (only len(x) "
                            "is allowed)")
        self.visit(node.args[0])


def _depth(node, d=0):
    if d > MAX_DEPTH:
        raise ExprError("the expression is nested too deeply")
    for child in ast.iter_child_nodes(node):
        _depth(child, d + 1)


def compile_condition(source):
    """Parse and check @source; returns a Condition or raises ExprError."""
    if not isinstance(source, str) or not source.strip():
        raise ExprError("an empty condition")
    if len(source) > MAX_SOURCE:
        raise ExprError("the condition is too long (at most %d characters)"
                        % MAX_SOURCE)
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise ExprError("not a valid expression: %s" % (e,))
    _depth(tree)
    _Checker().visit(tree)
    return Condition(source, tree)


def check_constants(condition):
    """Refuse @condition (ExprError) when a part of it that uses none of
    NAMES cannot be computed within the bounds ('a' * 10 ** 9,
    10 ** 10 ** 10, 1 / 0): each such part is evaluated once, now, so the
    command fails before any hook is installed."""
    for node in _constant_parts(condition.tree.body):
        Condition(condition.source, ast.Expression(body=node)).evaluate({})


def _constant_parts(node):
    uses_names = any(isinstance(n, ast.Name) and n.id in NAMES
                     for n in ast.walk(node))
    if isinstance(node, ast.expr) and not isinstance(node, ast.Slice) \
            and not uses_names:
        if not isinstance(node, (ast.Constant, ast.Name)):
            yield node
        return
    for child in ast.iter_child_nodes(node):
        for part in _constant_parts(child):
            yield part


_MRO = type.__dict__["__mro__"].__get__
_TYPE_DICT = type.__dict__["__dict__"].__get__
_TYPE_NAME = type.__dict__["__name__"].__get__
_MISSING = object()


def _type_has(t, name):
    """Whether @name is in the namespace of @t or of a class of its MRO."""
    for klass in _MRO(t):
        if name in _TYPE_DICT(klass):
            return True
    return False


def _instance_dict(obj, t):
    """The instance dict of @obj, found only through the C-level __dict__
    descriptor of its type (the getset every class with instance dicts
    has; or, for a few builtin types such as types.SimpleNamespace, a
    member descriptor: neither can run Python code); None when the
    class defines __dict__ otherwise (a property would run code) or has
    none."""
    for klass in _MRO(t):
        entry = _TYPE_DICT(klass).get("__dict__", _MISSING)
        if entry is _MISSING:
            continue
        if type(entry) is not types.GetSetDescriptorType and \
                type(entry) is not types.MemberDescriptorType:
            return None
        d = entry.__get__(obj, t)
        return d if type(d) is dict else None
    return None


def _static_attr(obj, name):
    """obj.name found without running code: the instance's __dict__ or
    slots, else a plain (non-descriptor) attribute of its class."""
    # type(), not isinstance(): isinstance may read obj.__class__, which
    # an object can make run code.
    t = type(obj)
    if issubclass(t, OPAQUE):
        raise ExprError("cannot read attributes of a %s" % _TYPE_NAME(t))
    try:
        d = _instance_dict(obj, t)
    except (AttributeError, TypeError):
        d = None
    if d is not None and name in d:
        return d[name]
    for klass in _MRO(t):
        kd = _TYPE_DICT(klass)
        if name in kd:
            v = kd[name]
            if type(v) is types.MemberDescriptorType:   # __slots__
                try:
                    return v.__get__(obj, t)
                except AttributeError:
                    raise ExprError("'%s' is not set" % name)
            if _type_has(type(v), "__get__"):
                raise ExprError("'%s' is computed (a property or method): "
                                "not read by conditions" % name)
            return v
    raise ExprError("no attribute '%s'" % name)


def _check_size(v):
    t = type(v)
    if t is int and v.bit_length() > MAX_INT_BITS:
        raise ExprError("a number grew too large")
    if t in SIZED_T and t is not range and len(v) > MAX_LEN:
        raise ExprError("a value grew too large")
    return v


def _guard_binop(op, a, b):
    """Refuse, before computing, results that would be huge."""
    if isinstance(op, ast.Pow) and isinstance(a, int) and isinstance(b, int):
        if b > 0 and abs(a) > 1 and a.bit_length() * b > MAX_INT_BITS:
            raise ExprError("a power is too large")
    if isinstance(op, ast.Pow) and isinstance(b, (int, float)) and \
            isinstance(a, float) and abs(b) > 10000:
        raise ExprError("a power is too large")
    if isinstance(op, ast.LShift) and isinstance(b, int) and b > MAX_SHIFT:
        raise ExprError("a shift is too large")
    if isinstance(op, ast.Mult):
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, (str, bytes, list, tuple)) and \
                    isinstance(n, int) and len(seq) * max(n, 0) > MAX_LEN:
                raise ExprError("a repetition is too large")
    if isinstance(op, ast.Add) and isinstance(a, (str, bytes, list, tuple)) \
            and isinstance(b, type(a)) and len(a) + len(b) > MAX_LEN:
        raise ExprError("a concatenation is too large")


class Condition:
    """A checked expression, turned once into nested closures (one per
    node), then evaluated with evaluate(names) as often as needed.  The
    closures hold no state, so one Condition serves every thread."""

    def __init__(self, source, tree):
        self.source = source
        self.tree = tree
        self._fn = _build(tree.body)

    def evaluate(self, names):
        """The value with @names (a dict); ExprError on any failure."""
        try:
            return self._fn(names)
        except ExprError:
            raise
        except RecursionError:
            raise ExprError("the condition is nested too deeply")
        except Exception as e:
            raise ExprError("%s: %s" % (type(e).__name__, e))

    def test(self, names):
        """True or False; any failure is False."""
        try:
            return _truth(self._fn(names))
        except Exception:
            return False


# Exact types (never subclasses, whose methods are application code) the
# evaluator computes with.
NUMERIC = frozenset((int, float, complex, bool))
ARITH = NUMERIC | frozenset((str, bytes, list, tuple, set, frozenset,
                             type(None)))
SIZED_T = frozenset(SIZED)
INDEXABLE_T = frozenset(INDEXABLE)
SCALAR = frozenset((type(None), bool, int, float, complex, str, bytes))
CONTAINER = frozenset((tuple, list, set, frozenset, dict, range))
DICT_KEY_T = frozenset((str, int, bytes, type(None), bool, float))
MAX_CHECK = 10000     # items looked at to prove a value plain


def _plain(v, budget=None):
    """True when comparing or hashing @v runs no application code: it is
    made only of builtin scalars and containers (exact types)."""
    if budget is None:
        budget = [MAX_CHECK]
    t = type(v)
    if t in SCALAR or t is range:
        return True
    if t not in CONTAINER:
        return False
    budget[0] -= len(v)
    if budget[0] < 0:
        raise ExprError("a value is too large to compare")
    items = v.items() if t is dict else v
    for x in items:
        if t is dict:
            if not (_plain(x[0], budget) and _plain(x[1], budget)):
                return False
        elif not _plain(x, budget):
            return False
    return True


def _truth(v):
    """bool(v), refused when it would call the application's __bool__ or
    __len__."""
    t = type(v)
    if t in SCALAR or t in CONTAINER:
        return bool(v)
    for klass in t.__mro__[:-1]:
        if "__bool__" in klass.__dict__ or "__len__" in klass.__dict__:
            raise ExprError("the truth of a %s would run its code"
                            % t.__name__)
    return True


def _num(v):
    if type(v) not in NUMERIC:
        raise ExprError("a %s cannot be used there" % type(v).__name__)
    return v


def _arith(v):
    if type(v) not in ARITH:
        raise ExprError("a %s cannot be used there" % type(v).__name__)
    return v


def _comparable(a, b, member):
    """Refuse comparisons that could call application code (__eq__,
    __lt__, __contains__, __hash__ of the program's objects)."""
    if type(a) in SCALAR and type(b) in SCALAR:
        return
    if member and type(b) not in SIZED_T:
        raise ExprError("'in' needs a str, bytes, list, tuple, dict, set or "
                        "range, not a %s" % type(b).__name__)
    if not (_plain(a) and _plain(b)):
        raise ExprError("comparing a %s with a %s would run their code (use "
                        "'is', or compare plain values)" % (
                            type(a).__name__, type(b).__name__))


def _literal(node):
    """The value of a literal node (3.8 has Num/Str/Bytes/NameConstant)."""
    if type(node).__name__ == "Constant":
        return node.value
    return getattr(node, "n", getattr(node, "s", getattr(node, "value",
                                                          None)))


def _build_boolop(node):
    subs = [_build(x) for x in node.values]
    want = not isinstance(node.op, ast.And)

    def boolop(names):
        v = None
        for sub in subs:
            v = sub(names)
            if _truth(v) == want:
                return v
        return v
    return boolop


def _build_unary(node):
    sub = _build(node.operand)
    if isinstance(node.op, ast.Not):
        return lambda names: not _truth(sub(names))
    fn = _UNARY[type(node.op)]
    return lambda names: _check_size(fn(_num(sub(names))))


def _build_binop(node):
    left, right = _build(node.left), _build(node.right)
    op, fn = node.op, _BINOPS[type(node.op)]

    def binop(names):
        a, b = _arith(left(names)), _arith(right(names))
        _guard_binop(op, a, b)
        return _check_size(fn(a, b))
    return binop


def _build_compare(node):
    left = _build(node.left)
    steps = [(_CMPOPS[type(op)], isinstance(op, (ast.Is, ast.IsNot)),
              isinstance(op, (ast.In, ast.NotIn)), _build(right))
             for op, right in zip(node.ops, node.comparators)]

    def compare(names):
        a = left(names)
        for fn, identity, member, right_fn in steps:
            b = right_fn(names)
            if not identity:
                _comparable(a, b, member)
            if not fn(a, b):
                return False
            a = b
        return True
    return compare


def _build_subscript(node):
    obj = _build(node.value)
    index = _build_slice(node.slice)

    def subscript(names):
        o = obj(names)
        if type(o) not in INDEXABLE_T:
            raise ExprError("a %s cannot be indexed" % type(o).__name__)
        i = index(names)
        if type(o) is dict:
            # see the module docstring: the residual risk of a hash
            # collision with an application object among the keys
            if type(i) not in DICT_KEY_T:
                raise ExprError("a dict key must be a str, int, bytes, "
                                "None, bool or float")
        elif type(i) not in SCALAR and not (_plain(i) or (
                type(i) is slice and _plain((i.start, i.stop, i.step)))):
            raise ExprError("an index must be a plain value")
        return _check_size(o[i])
    return subscript


def _build_slice(node):
    kind = type(node).__name__
    if kind == "Index":                       # 3.8
        return _build(node.value)
    if kind == "Slice":
        parts = [None if p is None else _build(p)
                 for p in (node.lower, node.upper, node.step)]
        return lambda names: slice(*(None if p is None else p(names)
                                     for p in parts))
    return _build(node)


def _build_len(node):
    sub = _build(node.args[0])

    def length(names):
        v = sub(names)
        if type(v) not in SIZED_T:
            raise ExprError("len() of a %s would run its code"
                            % type(v).__name__)
        return len(v)
    return length


def _build_display(node, kind):
    elts = [_build(e) for e in node.elts]
    make = {"Tuple": tuple, "List": list, "Set": set}[kind]

    def display(names):
        items = [e(names) for e in elts]
        if kind == "Set" and not all(_plain(x) for x in items):
            raise ExprError("set items must be plain values")
        return make(items)
    return display


def _build_dict(node):
    pairs = [(_build(k), _build(v)) for k, v in zip(node.keys, node.values)]

    def display(names):
        out = {}
        for k, v in pairs:
            key = k(names)
            if not _plain(key):
                raise ExprError("dict keys must be plain values")
            out[key] = v(names)
        return out
    return display


def _build(node):
    """The closure computing @node (checked by _Checker already)."""
    kind = type(node).__name__
    if kind in ("Constant", "Num", "Str", "Bytes", "NameConstant"):
        value = _literal(node)
        return lambda names: value
    if kind == "Name":
        if node.id in CONSTANTS:
            value = CONSTANTS[node.id]
            return lambda names: value
        key = node.id
        return lambda names: names.get(key)
    if kind == "IfExp":
        test, body, orelse = (_build(node.test), _build(node.body),
                              _build(node.orelse))
        return lambda names: body(names) if _truth(test(names)) \
            else orelse(names)
    if kind == "Attribute":
        sub, attr = _build(node.value), node.attr
        return lambda names: _static_attr(sub(names), attr)
    if kind in ("Tuple", "List", "Set"):
        return _build_display(node, kind)
    builders = {"BoolOp": _build_boolop, "UnaryOp": _build_unary,
                "BinOp": _build_binop, "Compare": _build_compare,
                "Subscript": _build_subscript, "Call": _build_len,
                "Dict": _build_dict}
    if kind in builders:
        return builders[kind](node)
    raise ExprError("not allowed in a condition: %s" % _what(node))


def _check_type(v, allowed):
    if not isinstance(v, allowed):
        raise ExprError("a %s cannot be used there" % type(v).__name__)
