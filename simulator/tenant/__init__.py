"""Bring your own tenant: Microsoft Graph exports → a calibrated scenario, a replayed month.

* :mod:`~simulator.tenant.readers` — stream the exports, record by record;
* :mod:`~simulator.tenant.mapping` — alert → threat kind, app and management tables;
* :mod:`~simulator.tenant.inventory` — join them into one ``Tenant``;
* :mod:`~simulator.tenant.calibrate` — fit a scenario's parameters, with intervals;
* :mod:`~simulator.tenant.replay` — the exports as a scripted world, played by the fast engine.
"""
