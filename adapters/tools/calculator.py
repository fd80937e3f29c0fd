"""The ``calculator`` tool: safe arithmetic over a whitelisted ``ast`` (never ``eval``).

Allowed: int and float literals, ``+ - * / // % **``, unary ``+``/``-`` and parentheses. Anything else
(names, calls, attributes, subscripts, comparisons, strings...) is refused. Caps keep a hostile expression
cheap: at most ``MAX_LENGTH`` characters, exponents of magnitude at most ``MAX_EXPONENT``, integer results
of at most ``MAX_RESULT_BITS`` bits, finite floats only.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Annotated

import msgspec

from adapters.tools.registry import ToolDefinition, ToolFailure
from contracts.tools import ToolContext

NAME = "calculator"
MAX_LENGTH = 200
MAX_EXPONENT = 1000
MAX_RESULT_BITS = 4096

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class CalculatorArguments(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Arguments of ``calculator``: one arithmetic expression such as ``2 + 3 * 4``."""

    expression: Annotated[str, msgspec.Meta(min_length=1)]


def evaluate(expression: str) -> Number:
    """Evaluate ``expression``; raises ``ToolFailure`` with a readable reason when it is refused."""
    if len(expression) > MAX_LENGTH:
        raise ToolFailure(f"expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolFailure("not a valid arithmetic expression") from exc
    try:
        return _checked(_eval(tree.body))
    except ZeroDivisionError as exc:
        raise ToolFailure("division by zero") from exc
    except OverflowError as exc:
        raise ToolFailure("the result is too large") from exc


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ToolFailure("only numbers are allowed")
        return _checked(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        raise ToolFailure(f"operator {type(node.op).__name__} is not allowed")
    raise ToolFailure(f"{type(node).__name__} is not allowed: only numbers and arithmetic operators")


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolFailure(f"exponent is larger than {MAX_EXPONENT}")
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0:
        return
    if abs(base).bit_length() * exponent > MAX_RESULT_BITS:
        raise ToolFailure("the result is too large")


def _checked(value: Number) -> Number:
    if isinstance(value, complex):
        raise ToolFailure("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailure("the result is too large")
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_BITS:
        raise ToolFailure("the result is too large")
    return value


def format_number(value: Number) -> str:
    """Integers as they are; floats with up to 12 significant digits (``0.1 + 0.2`` -> ``0.3``)."""
    if isinstance(value, int):
        return str(value)
    return format(value, ".12g")


async def calculate(arguments: CalculatorArguments, _context: ToolContext) -> str:
    """The tool handler: the expression's value as text."""
    return format_number(evaluate(arguments.expression))


def calculator_tool() -> ToolDefinition[CalculatorArguments]:
    return ToolDefinition(
        name=NAME,
        description=(
            "Evaluate an arithmetic expression with numbers, + - * / // % ** and parentheses, "
            "for example '2 + 3 * 4'."
        ),
        arguments=CalculatorArguments,
        handler=calculate,
    )
