"""Freezing a closed period's summary, and reading it back exactly as it was frozen."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts.services import Viewer
from app.fields import clean_data
from app.plan.models import ReportingPeriod
from app.reports.models import SummarySnapshot
from app.reports.summary import Summary, SummaryFilters, build_summary
from app.signals import period_closed
from app.timeutil import utcnow
from app.validation import NotFound

# Closing a period freezes the summary every reader may see; each reader's view of the snapshot
# is narrowed when it is read (a focal point: their own state's rows).
PERIOD_CLOSE = Viewer(None, frozenset({"reviewer"}), None, "period close")


@period_closed.connect
def _freeze_when_closed(period: ReportingPeriod, *, session: Session) -> None:
    """plan closed ``period``: freeze its summary in the same transaction."""
    freeze_period_summary(session, period)


def freeze_period_summary(session: Session, period: ReportingPeriod) -> SummarySnapshot | None:
    """Store the period's summary as it stands now (idempotent: the first snapshot stays).

    A period outside every work plan has no summary to freeze: nothing is stored.
    """
    existing = session.exec(
        select(SummarySnapshot).where(SummarySnapshot.reporting_period_id == period.id)
    ).first()
    if existing is not None:
        return existing
    frozen_at = utcnow()
    try:
        summary = build_summary(
            session,
            PERIOD_CLOSE,
            SummaryFilters(period_from=period.code, period_to=period.code),
            today=frozen_at.date(),
            plan_on=period.start_date,
            narratives_limit=None,
        )
    except NotFound:
        return None
    if summary.period_to != period.code:
        return None
    summary.frozen_at = frozen_at
    summary.snapshots = []
    snapshot = SummarySnapshot(
        reporting_period_id=period.id,
        created_at=frozen_at,
        schema_version=summary.schema_version,
        # Stored text with a control character (kept from before they were refused) is
        # frozen without it, so the snapshot's exports can always be written.
        payload=clean_data(summary.model_dump(mode="json")),
    )
    session.add(snapshot)
    session.flush()
    return snapshot


def snapshot_summary(session: Session, viewer: Viewer, period_id: int) -> Summary:
    """The frozen summary of a closed period, narrowed to what the viewer may read."""
    snapshot = session.exec(
        select(SummarySnapshot).where(SummarySnapshot.reporting_period_id == period_id)
    ).first()
    if snapshot is None:
        raise NotFound("summary snapshot")
    # Cleaned as it is read too: a snapshot frozen before the rule exports as well.
    summary = Summary.model_validate(clean_data(snapshot.payload))
    if viewer.is_focal_point_only:
        summary = summary.restricted_to_state(viewer.member_state_id)
    return summary
