"""A tiny reader for the subset of protobuf text format that projector configs use.

Fields, nested blocks in ``{}`` or ``<>``, ``[lists]``, strings with C escapes (adjacent
strings join), numbers and ``#`` comments: enough for TensorBoard's
``projector_config.pbtxt`` without depending on protobuf. Values stay text; the caller knows
which fields are numbers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from projector.errors import FormatError

__all__ = ["parse"]

_TOKEN = re.compile(
    r"""(?P<skip>\s+|\#[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<word>[-+]?(?:\d[\w.]*[eE][-+]\d+|[\w.]+))
      | (?P<punct>[{}<>:\[\],;])""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_CLOSE = {"{": "}", "<": ">"}


def parse(text: str, file: Path) -> dict[str, list]:
    """Fields of a text-format message: each name maps to its values (fields repeat).

    A nested block is a dict of the same shape; a scalar is its text. ``file`` only names
    the source in errors, which give the line.
    """
    tokens: list[tuple[str, Any, int]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormatError(f"{file}, line {_line(text, position)}: unexpected {text[position]!r}")
        kind = match.lastgroup or "skip"
        if kind == "string":
            value = _unescape(match.group()[1:-1])
            if tokens and tokens[-1][0] == "string":  # adjacent strings join, as in C
                tokens[-1] = ("string", tokens[-1][1] + value, tokens[-1][2])
            else:
                tokens.append(("string", value, position))
        elif kind != "skip":
            tokens.append((kind, match.group(), position))
        position = match.end()
    tokens.append(("end", None, len(text)))
    fields, _ = _parse_fields(tokens, 0, None, text, file)
    return fields


def _parse_fields(tokens: list, i: int, close: str | None, text: str, file: Path) -> tuple[dict[str, list], int]:
    fields: dict[str, list] = {}

    def fail(at: int, what: str) -> FormatError:
        return FormatError(f"{file}, line {_line(text, tokens[at][2])}: {what}; not valid protobuf text format")

    while True:
        kind, value, _ = tokens[i]
        if kind == "end" or (kind == "punct" and value in "}>"):
            if (close is None) != (kind == "end") or (close is not None and value != close):
                raise fail(i, f"expected {close!r}" if close else f"unexpected {value!r}")
            return fields, i + 1
        if kind != "word":
            raise fail(i, f"expected a field name, found {value!r}")
        name = value
        i += 1
        if tokens[i][:2] == ("punct", ":"):
            i += 1
            if tokens[i][:2] == ("punct", "["):
                values, i = _parse_list(tokens, i + 1, text, file, fail)
                fields.setdefault(name, []).extend(values)
            else:
                item, i = _parse_value(tokens, i, text, file, fail)
                fields.setdefault(name, []).append(item)
        elif tokens[i][0] == "punct" and tokens[i][1] in _CLOSE:
            item, i = _parse_fields(tokens, i + 1, _CLOSE[tokens[i][1]], text, file)
            fields.setdefault(name, []).append(item)
        else:
            raise fail(i, f"expected ':' or '{{' after {name!r}")
        if tokens[i][0] == "punct" and tokens[i][1] in ",;":
            i += 1


def _parse_value(tokens: list, i: int, text: str, file: Path, fail: Any) -> tuple[Any, int]:
    kind, value, _ = tokens[i]
    if kind == "punct" and value in _CLOSE:
        return _parse_fields(tokens, i + 1, _CLOSE[value], text, file)
    if kind in ("string", "word"):
        return value, i + 1
    raise fail(i, f"expected a value, found {value!r}")


def _parse_list(tokens: list, i: int, text: str, file: Path, fail: Any) -> tuple[list, int]:
    values: list = []
    if tokens[i][:2] == ("punct", "]"):
        return values, i + 1
    while True:
        item, i = _parse_value(tokens, i, text, file, fail)
        values.append(item)
        if tokens[i][:2] == ("punct", "]"):
            return values, i + 1
        if tokens[i][:2] != ("punct", ","):
            raise fail(i, "expected ',' or ']' in a list")
        i += 1


def _unescape(body: str) -> str:
    """C-style escapes as protobuf writes them; octal and hex escapes are UTF-8 bytes."""
    if "\\" not in body:
        return body
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8")
            i += 1
            continue
        code = body[i + 1]
        octal = re.match(r"[0-7]{1,3}", body[i + 1 :])
        hexa = re.match(r"[xX]([0-9a-fA-F]{1,2})", body[i + 1 :])
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            i += 1 + len(octal.group())
        elif hexa:
            out.append(int(hexa.group(1), 16))
            i += 1 + len(hexa.group())
        else:
            out += _ESCAPES.get(code, code).encode("utf-8")
            i += 2
    return out.decode("utf-8", errors="replace")


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1
