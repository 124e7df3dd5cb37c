"""Moved to ``app.figures`` (pure functions every layer may use: docs/ARCHITECTURE.md, "Layers").

Re-exported so that code written against this path keeps working; new code imports
``app.figures``.
"""

from app.figures import (
    AT_RISK_SHARE as AT_RISK_SHARE,
)
from app.figures import (
    DECREASE_AT_RISK_MARGIN as DECREASE_AT_RISK_MARGIN,
)
from app.figures import (
    MAINTAIN_AT_RISK_MARGIN as MAINTAIN_AT_RISK_MARGIN,
)
from app.figures import (
    ON_TRACK_SHARE as ON_TRACK_SHARE,
)
from app.figures import (
    Aggregate as Aggregate,
)
from app.figures import (
    PlanDates as PlanDates,
)
from app.figures import (
    RatedIndicator as RatedIndicator,
)
from app.figures import (
    Rating as Rating,
)
from app.figures import (
    ValueRow as ValueRow,
)
from app.figures import (
    aggregate as aggregate,
)
from app.figures import (
    expected_share as expected_share,
)
from app.figures import (
    latest_level as latest_level,
)
from app.figures import (
    percent_of_target as percent_of_target,
)
from app.figures import (
    period_figure as period_figure,
)
from app.figures import (
    rate_indicator as rate_indicator,
)
from app.figures import (
    rate_progress as rate_progress,
)
from app.figures import (
    rates_latest_level as rates_latest_level,
)
from app.figures import (
    sex_parts_incomplete as sex_parts_incomplete,
)
