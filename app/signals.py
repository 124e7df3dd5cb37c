"""Events a lower layer sends so that a higher one can act, without importing it.

Layers import only downwards (docs/ARCHITECTURE.md, "Layers"). When something in a lower layer
must make a higher one act, the lower sends one of these signals and the higher connects a
receiver when its module is imported (the factory imports every receiver module). Each signal
passes the request's or job's ``session``: receivers write in the same transaction as the
sender, so the whole change stays all-or-nothing, and an exception in a receiver undoes it.
Imports nothing of the app, so any layer may send or receive.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

period_closed = _signals.signal(
    "period-closed",
    doc="plan closed a reporting period (sender: the period; kwargs: session). "
    "reports freezes the period's summary.",
)

periods_added = _signals.signal(
    "periods-added",
    doc="plan added reporting periods (sender: None; kwargs: session). "
    "progress keeps each state's latest value as of every period.",
)

demo_seed_read = _signals.signal(
    "demo-seed-read",
    doc="plan read the demo seed and added its activities (sender: the seed; kwargs: session, "
    "path, result). progress records the seed's indicator values.",
)
