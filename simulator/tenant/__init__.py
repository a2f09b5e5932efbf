"""Bring your own tenant: Microsoft Graph exports → a calibrated scenario, a replayed month.

* :mod:`~simulator.tenant.readers` — stream the exports, record by record;
* :mod:`~simulator.tenant.mapping` — alert → threat kind, app and management tables;
* :mod:`~simulator.tenant.inventory` — join them into one ``Tenant``;
* :mod:`~simulator.tenant.calibrate` — fit a scenario's parameters, with intervals;
* :mod:`~simulator.tenant.replay` — the exports as a scripted world, played by the fast engine.
"""

from typing import Final

DEFAULT_SESSION_GAP: Final = 2.0
"""Minutes: successful sign-ins of one app on one device closer than this are one session
(an app signs in to several resources at once when it starts). Here, not in ``replay``, so
that the command line can show it without importing the readers."""
