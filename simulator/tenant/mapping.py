"""How Graph records map onto the scenario's vocabulary: threat kinds, apps, management.

Three documented tables, each overridable by a TOML file (``--mapping FILE``):

* **Threat kinds.** An alert (``microsoft.graph.security.alert``) is given a threat kind by
  the first rule whose conditions all hold (:data:`DEFAULT_RULES`). A rule may test the
  alert's ``category``, words in its ``title``, its ``detectionSource`` and its
  ``serviceSource`` (case-insensitive). An alert no rule matches is of kind
  :data:`OTHER_KIND`, counted in the output and simulated as the scenario schema's generic
  alert kind (``malware``: needs no VPN).
* **Apps.** An app registration's ``appIdentifier.bundleId`` and a sign-in's
  ``appDisplayName`` name an app of the scenario (:data:`DEFAULT_APPS`). Other apps are
  ignored and counted.
* **Management.** A device with an Intune ``managedDevice`` record is ``mdm``; one with app
  registrations only is ``mam_we`` — unless the mapping names it (by Entra device id) or its
  ``managementAgent`` as a third-party EMM's: then ``emm``.

A mapping file::

    replace_default_rules = false     # true: only your rules apply
    [[rules]]                         # tried before the default rules
    kind = "phishing"
    title_contains = ["credential harvest"]
    [[apps]]                          # added to (or replacing, by name) the default apps
    name = "outlook"
    bundle_ids = ["com.microsoft.Office.Outlook"]
    sign_in_names = ["Outlook Mobile", "Microsoft Outlook"]
    [management]
    emm_device_ids = ["2f0c…"]
    emm_management_agents = ["jamf"]
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import Field, ValidationError

from simulator._validation import FileModel, Name, input_error
from simulator.policy.files import read_toml
from simulator.scenario.models import ThreatKind

OTHER_KIND: Final = "other"
"""The kind of an alert no rule maps: counted, and simulated as :data:`OTHER_AS`."""
OTHER_AS: Final = "malware"
"""The scenario kind that stands for :data:`OTHER_KIND`: the schema's generic alert that
needs no VPN (``docs/semantics.md`` 3.3)."""


class RuleModel(FileModel):
    """One row of the alert → threat kind table: every condition given must hold."""

    kind: ThreatKind
    category: list[str] = Field(default_factory=list, description="Any of these categories.")
    title_contains: list[str] = Field(
        default_factory=list, description="The title contains any of these words."
    )
    detection_source: list[str] = Field(default_factory=list)
    service_source: list[str] = Field(default_factory=list)


class AppMapModel(FileModel):
    """One scenario app and the Graph identifiers that name it."""

    name: Name
    bundle_ids: list[str] = Field(default_factory=list)
    sign_in_names: list[str] = Field(default_factory=list)


class ManagementMapModel(FileModel):
    """How to tell a third-party EMM's devices (they have no Intune MDM record)."""

    emm_device_ids: list[str] = Field(default_factory=list)
    emm_management_agents: list[str] = Field(default_factory=list)


class MappingModel(FileModel):
    """A mapping file (see the module docstring)."""

    replace_default_rules: bool = False
    rules: list[RuleModel] = Field(default_factory=list)
    apps: list[AppMapModel] = Field(default_factory=list)
    management: ManagementMapModel = Field(default_factory=ManagementMapModel)


def _rule(kind: str, **conditions: list[str]) -> RuleModel:
    return RuleModel.model_validate({"kind": kind, **conditions})


DEFAULT_RULES: Final = (
    _rule("jailbreak", title_contains=["jailbr", "rooted"]),
    _rule("os_vulnerability", title_contains=["vulnerab", "outdated os", "os version"]),
    _rule("os_vulnerability", category=["Vulnerability"]),
    _rule("network", title_contains=["wi-fi", "wifi", "rogue", "certificate", "network"]),
    _rule("phishing", title_contains=["phish", "malicious site", "malicious url", "unsafe site"]),
    _rule("phishing", title_contains=["malicious", "suspicious"], category=["InitialAccess"]),
)
"""The default alert → kind table, tried in order (first match wins). Illustrative: Defender
for Endpoint's iOS alert titles vary by version and language; check the calibration page's
"other" count and add rules for your tenant's titles."""

DEFAULT_APPS: Final = (
    AppMapModel(
        name="outlook",
        bundle_ids=["com.microsoft.Office.Outlook"],
        sign_in_names=["Outlook Mobile", "Microsoft Outlook"],
    ),
    AppMapModel(
        name="teams",
        bundle_ids=["com.microsoft.skype.teams"],
        sign_in_names=["Microsoft Teams"],
    ),
    AppMapModel(
        name="onedrive",
        bundle_ids=["com.microsoft.skydrive"],
        sign_in_names=["Microsoft OneDrive", "OneDrive"],
    ),
    AppMapModel(
        name="edge",
        bundle_ids=["com.microsoft.msedge"],
        sign_in_names=["Microsoft Edge"],
    ),
    AppMapModel(
        name="word",
        bundle_ids=["com.microsoft.Office.Word"],
        sign_in_names=["Microsoft Word"],
    ),
    AppMapModel(
        name="excel",
        bundle_ids=["com.microsoft.Office.Excel"],
        sign_in_names=["Microsoft Excel"],
    ),
)
"""The default app table: Microsoft's iOS bundle ids and the sign-in log's app names."""


@dataclass(frozen=True)
class Mapping:
    """The tables in force (defaults, overridden by a mapping file)."""

    rules: tuple[RuleModel, ...] = DEFAULT_RULES
    apps: tuple[AppMapModel, ...] = DEFAULT_APPS
    emm_device_ids: frozenset[str] = frozenset()
    emm_management_agents: frozenset[str] = frozenset()
    source: str | None = None
    _bundles: dict[str, str] = field(default_factory=dict, repr=False)
    _sign_ins: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for app in self.apps:
            self._bundles.update({b.lower(): app.name for b in app.bundle_ids})
            self._sign_ins.update({n.lower(): app.name for n in app.sign_in_names})

    def app_for_bundle(self, bundle_id: str) -> str | None:
        """The scenario app a bundle id names, else None."""
        return self._bundles.get(bundle_id.lower())

    def app_for_sign_in(self, app_display_name: str) -> str | None:
        """The scenario app a sign-in's ``appDisplayName`` names, else None."""
        return self._sign_ins.get(app_display_name.lower())

    def kind_for(self, alert: MappingType[str, Any]) -> str:
        """The threat kind of an alert record (:data:`OTHER_KIND` when no rule matches)."""
        title = str(alert.get("title") or "").lower()
        category = str(alert.get("category") or "").lower()
        detection = str(alert.get("detectionSource") or "").lower()
        service = str(alert.get("serviceSource") or "").lower()
        for rule in self.rules:
            if rule.category and category not in {c.lower() for c in rule.category}:
                continue
            if rule.title_contains and not any(w.lower() in title for w in rule.title_contains):
                continue
            if rule.detection_source and detection not in {
                d.lower() for d in rule.detection_source
            }:
                continue
            if rule.service_source and service not in {s.lower() for s in rule.service_source}:
                continue
            return rule.kind
        return OTHER_KIND

    def rows(self) -> list[dict[str, str]]:
        """The kind table as rows, for the calibration page."""
        return [
            {
                "kind": r.kind,
                "category": ", ".join(r.category) or "any",
                "title contains": ", ".join(r.title_contains) or "any",
                "detection source": ", ".join(r.detection_source) or "any",
                "service source": ", ".join(r.service_source) or "any",
            }
            for r in self.rules
        ]


def load_mapping(path: str | Path | None) -> Mapping:
    """The default tables, or those of a mapping file merged over them.

    Raises
    ------
    InputError
        Naming the file and field of any problem.
    """
    if path is None:
        return Mapping()
    data = read_toml(Path(path))
    try:
        model = MappingModel.model_validate(data)
    except ValidationError as exc:
        raise input_error(exc, path) from None
    rules = tuple(model.rules) + (() if model.replace_default_rules else DEFAULT_RULES)
    given = {a.name for a in model.apps}
    apps = tuple(model.apps) + tuple(a for a in DEFAULT_APPS if a.name not in given)
    return Mapping(
        rules=rules,
        apps=apps,
        emm_device_ids=frozenset(d.lower() for d in model.management.emm_device_ids),
        emm_management_agents=frozenset(a.lower() for a in model.management.emm_management_agents),
        source=str(path),
    )
