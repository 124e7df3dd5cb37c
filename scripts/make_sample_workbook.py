"""Regenerates imports/samples/thailand-2025-Q3-filled.xlsx from the current template.

Run: .venv/bin/python scripts/make_sample_workbook.py  (uses a throwaway SQLite database)
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, schema  # noqa: E402
from app.db import get_engine, unit_of_work  # noqa: E402
from app.imports.services import template_for  # noqa: E402
from app.imports.template import HEADER_ROW, VALUES_SHEET  # noqa: E402
from app.plan import seed  # noqa: E402
from app.plan.models import MemberState, ReportingPeriod  # noqa: E402

ANSWERS = {
    "Number": {"Value": 4, "Narrative": "Joint operations with Malaysian counterparts."},
    "Percentage": {
        "Numerator": 18,
        "Denominator": 24,
        "Narrative": "Survey of officers trained in the June 2025 course.",
    },
    "Yes / no": {"Value": "yes", "Narrative": "Designated by the Royal Thai Police."},
    "Text": {"Value": "See narrative", "Narrative": ""},
}
COLUMN = {
    "Value": "F",
    "Numerator": "G",
    "Denominator": "H",
    "Female": "I",
    "Male": "J",
    "Narrative": "L",
}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/sample.db"
        app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "x"})
        with app.app_context():
            schema.upgrade(get_engine(), url)
            with unit_of_work() as session:
                seed.load_plan(session)
            with unit_of_work() as session:
                state = session.exec(select(MemberState).where(MemberState.code == "THA")).one()
                period = session.exec(
                    select(ReportingPeriod).where(ReportingPeriod.code == "2025-Q3")
                ).one()
                data = template_for(session, state, period)
        workbook = load_workbook(io.BytesIO(data))
        sheet = workbook[VALUES_SHEET]
        for row in range(HEADER_ROW + 1, sheet.max_row + 1):
            answer = dict(ANSWERS.get(sheet[f"C{row}"].value, {}))
            if sheet[f"I{row}"].protection.locked is False:
                answer.update({"Value": 23, "Female": 9, "Male": 14})
            for heading, value in answer.items():
                sheet[f"{COLUMN[heading]}{row}"] = value
        target = ROOT / "imports" / "samples" / "thailand-2025-Q3-filled.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        workbook.save(target)
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
