"""Policy semantics: what one conditional-launch evaluation decides, and policy files.

- :mod:`~simulator.policy.levels` — threat levels, actions, outcomes, reasons, management;
- :mod:`~simulator.policy.behavior` — the behaviour parameters the documentation leaves open;
- :mod:`~simulator.policy.decide` — policies, evaluation contexts, the pure :func:`decide`;
- :mod:`~simulator.policy.files` — ``[[policies]]`` TOML and Graph JSON, validated;
- :mod:`~simulator.policy.graph` — Microsoft Graph ``iosManagedAppProtection`` import/export;
- :mod:`~simulator.policy.tables` — decision tables and case tables.

Nothing here has a clock, random numbers or a simulation; only ``files``/``tables`` read files.
"""
