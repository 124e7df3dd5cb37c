"""Hostile and broken workbooks, made from a good one: shared by the tests and bench/."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

from tests.workbooks import rezip

SHEET = "xl/worksheets/sheet1.xml"


def change_sheet(change):
    return lambda name, content: change(content) if name == SHEET else content


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr(SHEET, b"<" + b"0" * (100 * 1024 * 1024))
    return out.getvalue()


def billion_laughs() -> bytes:
    return (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )


# (label, make(good workbook bytes) -> hostile bytes, words the refusal must contain)
HOSTILE_CASES: list[tuple[str, Callable[[bytes], bytes], str]] = [
    (
        "xls",
        lambda good: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000,
        "old-style Excel .xls",
    ),
    ("pdf", lambda good: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    ("csv", lambda good: b"Code,Value\n3.1.c,12\n", "a text file (such as CSV)"),
    ("empty", lambda good: b"", "The file is empty"),
    ("truncated", lambda good: good[: len(good) // 2], "damaged or incomplete"),
    (
        "xlsm",
        lambda good: rezip(
            good,
            lambda n, c: (
                c.replace(b"spreadsheetml.sheet.main", b"sheet.macroEnabled.main")
                if n == "[Content_Types].xml"
                else c
            ),
            {"xl/vbaProject.bin": b"\x00" * 100},
        ),
        "contains macros",
    ),
    (
        "xlsb",
        lambda good: rezip(good, lambda n, c: c, {"xl/workbook.bin": b"\x00"}),
        "binary Excel workbook (.xlsb)",
    ),
    ("zip bomb", lambda good: zip_bomb(), "unpacks to"),
    (
        "forged dimension",
        lambda good: rezip(
            good,
            change_sheet(
                lambda c: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', c)
            ),
        ),
        "claims to span 1,048,576 rows",
    ),
    (
        "lone far cell",
        lambda good: rezip(
            good,
            change_sheet(
                lambda c: c.replace(
                    b"</sheetData>",
                    b'<row r="1000000"><c r="A1000000"><v>1</v></c></row></sheetData>',
                )
            ),
        ),
        "has cells in 1,000,000 rows",
    ),
    (
        "billion laughs",
        lambda good: rezip(good, change_sheet(lambda c: billion_laughs())),
        "declares XML entities",
    ),
    (
        "external entity",
        lambda good: rezip(
            good,
            change_sheet(
                lambda c: c.replace(
                    b"<worksheet",
                    b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><worksheet',
                    1,
                )
            ),
        ),
        "declares XML entities",
    ),
    (
        "not xml",
        lambda good: rezip(good, lambda n, c: b"\x00\xff garbage" if n == "xl/workbook.xml" else c),
        "not well-formed XML",
    ),
]
