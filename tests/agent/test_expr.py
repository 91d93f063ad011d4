# SPDX-License-Identifier: Apache-2.0
"""The agent's condition language (src/agent/peeka_expr.py), run under
every test interpreter by tests/check_agent.c:

    python tests/agent/test_expr.py
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "src", "agent"))
import peeka_expr  # noqa: E402
from peeka_expr import ExprError, compile_condition  # noqa: E402


class Order:
    kind = "order"                  # a plain class attribute: readable

    def __init__(self):
        self.count = 3
        self.items = ["a", "b"]
        self.touched = False

    @property
    def total(self):                # must never run
        self.touched = True
        return 99

    def method(self):
        return 1


class Slotted:
    __slots__ = ("x",)

    def __init__(self):
        self.x = 7


NAMES = {"params": (3, "abc", {"k": 1}), "kwargs": {"x": 1, "y": [1, 2]},
         "target": Order(), "result": None, "exception": None, "cost": 12.5}


class Allowed(unittest.TestCase):
    CASES = [
        ("params[0] > 2", True),
        ("len(params) == 3 and params[1] == 'abc'", True),
        ("kwargs['x'] == 1 or kwargs['y'][1] == 5", True),
        ("'b' in params[1] and 'z' not in params[1]", True),
        ("target.count >= 3 and target.kind == 'order'", True),
        ("len(target.items) == 2", True),
        ("cost > 10.0 and cost < 20", True),
        ("result is None and exception is None", True),
        ("-params[0] + params[0] ** 2 == 6", True),
        ("params[1][1:] == 'bc'", True),
        ("params[2]['k'] if params else 0", 1),
        ("(1, 2) == (1, 2) and [1][0] == 1 and {1: 2}[1] == 2", True),
        ("7 // 2 == 3 and 7 % 2 == 1 and 1 << 4 == 16 and ~0 == -1", True),
        ("not False", True),
    ]

    def test_cases(self):
        for src, want in self.CASES:
            with self.subTest(src=src):
                self.assertEqual(compile_condition(src).evaluate(NAMES), want)

    def test_slots(self):
        c = compile_condition("target.x == 7")
        self.assertTrue(c.test(dict(NAMES, target=Slotted())))


class Refused(unittest.TestCase):
    """Refused when compiled, before any hook is installed."""
    CASES = [
        "target.__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "params.__globals__",
        "__import__('os')",
        "import os",
        "open('/etc/passwd')",
        "getattr(target, 'count')",
        "params.count(3)",
        "target.method()",
        "lambda: 1",
        "[x for x in params]",
        "(y := 1)",
        "f'{params}'",
        "target.gi_frame",
        "'{0}'.format",
        "len(*params)",
        "os.system('true')",
        "-" * 100 + "1",
        "x" * 3000,
    ]

    def test_cases(self):
        for src in self.CASES:
            with self.subTest(src=src[:40]):
                with self.assertRaises(ExprError) as e:
                    compile_condition(src)
                self.assertTrue(str(e.exception))


class Bounded(unittest.TestCase):
    """Accepted, but never allowed to run away: the condition is false."""
    CASES = [
        "9 ** 9 ** 9",
        "2 ** 100000 > 0",
        "'a' * 10 ** 9",
        "[0] * 10 ** 9",
        "1 << 10 ** 6",
        "params[1] * 100000000",
    ]

    def test_cases(self):
        for src in self.CASES:
            with self.subTest(src=src):
                c = compile_condition(src)
                with self.assertRaises(ExprError):
                    c.evaluate(NAMES)
                self.assertFalse(c.test(NAMES))

    def test_property_not_run(self):
        order = Order()
        c = compile_condition("target.total > 1")
        self.assertFalse(c.test(dict(NAMES, target=order)))
        self.assertFalse(order.touched)

    def test_errors_are_false(self):
        for src in ("params[10] == 1", "kwargs['nope']", "1 / 0 == 1",
                    "target.missing == 1", "params < 3"):
            with self.subTest(src=src):
                self.assertFalse(compile_condition(src).test(NAMES))

    def test_app_objects_not_operated_on(self):
        # No __add__/__len__/__contains__ of application objects runs.
        for src in ("target + 1", "len(target)", "1 in target"):
            with self.subTest(src=src):
                with self.assertRaises(ExprError):
                    compile_condition(src).evaluate(NAMES)

    def test_no_application_code(self):
        # __eq__, __lt__, __hash__, __bool__, __len__ and __class__ of the
        # program's objects never run, wherever the object sits.
        ran = []

        class Sneaky:
            def __eq__(self, other):
                ran.append("eq")
                return True

            def __lt__(self, other):
                ran.append("lt")
                return True

            def __hash__(self):
                ran.append("hash")
                return 1

            def __bool__(self):
                ran.append("bool")
                return True

            def __len__(self):
                ran.append("len")
                return 1

            @property
            def __class__(self):
                ran.append("class")
                return int

        class Num(int):
            def __add__(self, other):
                ran.append("add")
                return 0

        s = Sneaky()
        names = dict(NAMES, target=s, params=[s, Num(3), [s]],
                     result={1: s})
        for src in ("target == 1", "1 == target", "target < 2",
                    "target != 0", "target in [1, 2]", "1 in params",
                    "params[2] == [1]", "target and True", "not target",
                    "1 if target else 2", "{target: 1}", "{target}",
                    "kwargs[target]", "params[1] + 1", "target.x",
                    "result == {1: 2}", "-params[1]"):
            with self.subTest(src=src):
                self.assertFalse(compile_condition(src).test(names))
        self.assertEqual(ran, [])
        # Identity is always fine, and plain values still compare.
        self.assertTrue(compile_condition("target is not None and "
                                          "params[2][0] is target")
                        .test(names))

    def test_dict_property_not_run(self):
        # A class may define __dict__ as a property: reading attributes
        # must not run it (the instance dict is found only through the
        # type's C-level __dict__ descriptor), and then the object counts
        # as having no instance dict.
        ran = []

        class Meta(type):
            def __getattribute__(cls, name):
                ran.append("meta " + name)
                return type.__getattribute__(cls, name)

        class Base:
            def __init__(self):
                self.count = 3

        class Faked(Base, metaclass=Meta):
            kind = "faked"

            @property
            def __dict__(self):
                ran.append("__dict__")
                return {"count": 99, "kind": "lie"}

        obj = Faked()
        del ran[:]
        for src, want in (("target.kind == 'faked'", True),
                          ("target.count == 99", False),
                          ("target.count == 3", False)):
            with self.subTest(src=src):
                self.assertEqual(compile_condition(src).test(
                    dict(NAMES, target=obj)), want)
        self.assertEqual(ran, [])
        # and a plain subclass of a class with instance dicts still works
        c = compile_condition("target.count == 3 and target.kind == 'order'")
        self.assertTrue(c.test(NAMES))
        # as does a builtin type whose __dict__ is a member descriptor
        import types
        self.assertTrue(compile_condition("target.count == 4").test(
            dict(NAMES, target=types.SimpleNamespace(count=4))))

    def test_dict_keys_are_plain_scalars(self):
        # Indexing a dict takes only str/int/bytes/None/bool/float keys
        # (see the module docstring for the residual risk accepted).
        names = dict(NAMES, kwargs={(1, 2): 5, "a": 1, 2: "b", None: 0,
                                    b"k": 3, 1.5: 4, (): 6})
        for src, want in (("kwargs['a'] == 1", True),
                          ("kwargs[2] == 'b'", True),
                          ("kwargs[None] == 0", True),
                          ("kwargs[b'k'] == 3", True),
                          ("kwargs[1.5] == 4", True),
                          ("kwargs[(1, 2)] == 5", False),
                          ("kwargs[()] == 6", False),
                          ("{(1, 2): 5}[(1, 2)] == 5", False),
                          ("(1, 2, 3)[1] == 2", True)):
            with self.subTest(src=src):
                self.assertEqual(compile_condition(src).test(names), want)
        with self.assertRaises(ExprError) as e:
            compile_condition("kwargs[(1, 2)]").evaluate(names)
        self.assertIn("dict key", str(e.exception))

    def test_shared_between_threads(self):
        import threading
        c = compile_condition("params[0] % 2 == 0 and len(params) == 1")
        bad = []

        def run(k):
            for i in range(2000):
                if c.test({"params": [i + k]}) != ((i + k) % 2 == 0):
                    bad.append(i)
        ts = [threading.Thread(target=run, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])


if __name__ == "__main__":
    print("peeka_expr under", sys.version.split()[0], file=sys.stderr)
    unittest.main()
