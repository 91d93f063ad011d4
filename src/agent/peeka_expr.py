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
not allowed.  Evaluation has a step budget and caps on the size of every
number, string and container it makes; going over them, or any error,
makes the condition false for that call (ExprError), never an exception
in the application.
"""

import ast
import types

MAX_SOURCE = 2048
MAX_NODES = 500
MAX_DEPTH = 40
MAX_STEPS = 10000
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


def _static_attr(obj, name):
    """obj.name found without running code: the instance's __dict__ or
    slots, else a plain (non-descriptor) attribute of its class."""
    # type(), not isinstance(): isinstance may read obj.__class__, which
    # an object can make run code.
    if issubclass(type(obj), OPAQUE):
        raise ExprError("cannot read attributes of a %s" % type(obj).__name__)
    try:
        d = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        d = None
    if type(d) is dict and name in d:
        return d[name]
    for klass in type(obj).__mro__:
        kd = klass.__dict__
        if name in kd:
            v = kd[name]
            if type(v) is types.MemberDescriptorType:   # __slots__
                try:
                    return v.__get__(obj, type(obj))
                except AttributeError:
                    raise ExprError("'%s' is not set" % name)
            if hasattr(type(v), "__get__"):
                raise ExprError("'%s' is computed (a property or method): "
                                "not read by conditions" % name)
            return v
    raise ExprError("no attribute '%s'" % name)


def _check_size(v):
    if isinstance(v, int) and not isinstance(v, bool) and \
            v.bit_length() > MAX_INT_BITS:
        raise ExprError("a number grew too large")
    if isinstance(v, SIZED) and not isinstance(v, range) and \
            len(v) > MAX_LEN:
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
    """A checked expression, evaluated with evaluate(names)."""

    def __init__(self, source, tree):
        self.source = source
        self.tree = tree

    def evaluate(self, names):
        """The value with @names (a dict); ExprError on any failure."""
        self.steps = 0
        self.names = names
        try:
            return self._eval(self.tree.body)
        except ExprError:
            raise
        except RecursionError:
            raise ExprError("the condition is nested too deeply")
        except Exception as e:
            raise ExprError("%s: %s" % (type(e).__name__, e))

    def test(self, names):
        """True or False; any failure is False."""
        try:
            return bool(self.evaluate(names))
        except ExprError:
            return False

    def _eval(self, node):
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise ExprError("the condition took too many steps")
        kind = type(node).__name__
        if kind == "Constant":
            return node.value
        if kind in ("Num", "Str", "Bytes", "NameConstant"):   # 3.8
            return getattr(node, "n", getattr(node, "s",
                                              getattr(node, "value", None)))
        if kind == "Name":
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            return self.names.get(node.id)
        if kind == "BoolOp":
            is_and = isinstance(node.op, ast.And)
            v = None
            for sub in node.values:
                v = self._eval(sub)
                if bool(v) != is_and:
                    return v
            return v
        if kind == "UnaryOp":
            v = self._eval(node.operand)
            if isinstance(node.op, ast.Not):
                return not v
            _check_type(v, (int, float, complex, bool))
            return _check_size(_UNARY[type(node.op)](v))
        if kind == "BinOp":
            a, b = self._eval(node.left), self._eval(node.right)
            for v in (a, b):
                _check_type(v, (int, float, complex, bool, str, bytes, list,
                                tuple, set, frozenset, type(None)))
            _guard_binop(node.op, a, b)
            return _check_size(_BINOPS[type(node.op)](a, b))
        if kind == "Compare":
            left = self._eval(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self._eval(right_node)
                if isinstance(op, (ast.In, ast.NotIn)):
                    _check_type(right, SIZED)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if kind == "IfExp":
            return self._eval(node.body) if self._eval(node.test) \
                else self._eval(node.orelse)
        if kind == "Subscript":
            obj = self._eval(node.value)
            _check_type(obj, INDEXABLE)
            return _check_size(obj[self._slice(node.slice)])
        if kind == "Attribute":
            return _static_attr(self._eval(node.value), node.attr)
        if kind == "Call":
            v = self._eval(node.args[0])
            _check_type(v, SIZED)
            return len(v)
        if kind in ("Tuple", "List", "Set"):
            items = [self._eval(e) for e in node.elts]
            return {"Tuple": tuple, "List": list, "Set": set}[kind](items)
        if kind == "Dict":
            return {self._eval(k): self._eval(v)
                    for k, v in zip(node.keys, node.values)}
        raise ExprError("not allowed in a condition: %s" % _what(node))

    def _slice(self, node):
        kind = type(node).__name__
        if kind == "Index":                       # 3.8
            return self._eval(node.value)
        if kind == "Slice":
            return slice(*(None if part is None else self._eval(part)
                           for part in (node.lower, node.upper, node.step)))
        return self._eval(node)


def _check_type(v, allowed):
    if not isinstance(v, allowed):
        raise ExprError("a %s cannot be used there" % type(v).__name__)
