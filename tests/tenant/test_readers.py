"""The Graph readers on small fixtures in the real shapes: paging, bare lists, optional
fields, records to ignore (counted), the alert → kind table and its TOML override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.tenant.inventory import Exports, load_tenant
from simulator.tenant.mapping import OTHER_KIND, Mapping, load_mapping
from simulator.tenant.readers import (
    ALERTS,
    SIGNINS,
    ReadStats,
    read_alerts,
    read_devices,
    read_signins,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tenant"
PAGES = [FIXTURES / "alerts-page1.json", FIXTURES / "alerts-page2.json"]
ADELE = "11111111-1111-1111-1111-111111111111"
IPAD = "22222222-2222-2222-2222-222222222222"


def _exports(alerts: list[Path] = PAGES) -> Exports:
    return Exports(
        alerts,
        [FIXTURES / "devices.json"],
        [FIXTURES / "app-registrations.json"],
        [FIXTURES / "signins.json"],
    )


def test_paged_alerts_are_read_across_pages_and_non_ios_is_counted() -> None:
    """Both pages are read; the Windows alert and the informational one are ignored and
    counted; a complete set of pages gives no missing-page note, page 1 alone does."""
    stats = ReadStats()
    alerts = read_alerts(PAGES, Mapping(), stats)
    assert sorted(a.alert_id for a in alerts) == [
        "da-ipad-minimal",
        "da-jailbreak",
        "da637551227677560813_-961444813",
    ]
    assert stats.read["alerts"] == 5
    assert stats.ignored[("alerts", "no iOS/iPadOS device evidence")] == 1
    assert sum(n for (k, r), n in stats.ignored.items() if "informational" in r) == 1
    assert stats.more_pages == []
    alone = ReadStats()
    read_alerts(PAGES[:1], Mapping(), alone)
    assert alone.more_pages == [ALERTS.option]
    assert any("more pages follow" in line for line in alone.lines())


def test_alert_fields_and_missing_optional_fields() -> None:
    """Onset, detection, resolution and kind come from the documented fields; an alert
    without firstActivityDateTime starts at createdDateTime, without resolvedDateTime never
    ends, and without a title matching any rule is of the 'other' kind."""
    alerts = {a.alert_id: a for a in read_alerts(PAGES, Mapping(), ReadStats())}
    phishing = alerts["da637551227677560813_-961444813"]
    assert phishing.kind == "phishing" and phishing.device_id == ADELE
    assert phishing.detected - phishing.onset == pytest.approx(15.0, abs=0.01)
    assert phishing.resolved is not None and phishing.resolved - phishing.onset == 180.0
    minimal = alerts["da-ipad-minimal"]
    assert minimal.onset == minimal.detected and minimal.resolved is None
    assert minimal.kind == OTHER_KIND
    assert alerts["da-jailbreak"].kind == "jailbreak"


def test_devices_as_a_bare_list_skip_other_systems_and_unregistered() -> None:
    """A bare list is read like a page; Android and the zero Entra id are counted."""
    stats = ReadStats()
    devices = read_devices([FIXTURES / "devices.json"], Mapping(), stats)
    assert list(devices) == [ADELE]
    assert devices[ADELE].management == "mdm" and devices[ADELE].jailbroken
    assert stats.ignored[("devices", "not iOS/iPadOS")] == 1
    assert sum(n for (k, r), n in stats.ignored.items() if "azureADDeviceId" in r) == 1


def test_signins_keep_successful_ios_sign_ins_of_known_apps() -> None:
    """Failed, Android, unregistered and unknown-app sign-ins are counted, not kept; an
    iPadOS sign-in and one without status (a success) are kept."""
    stats = ReadStats()
    signins = read_signins([FIXTURES / "signins.json"], Mapping(), stats)
    assert sorted((d, a, len(t)) for (d, a), t in signins.times.items()) == [
        (ADELE, "outlook", 2),
        (IPAD, "teams", 1),
    ]
    ignored = {r: n for (k, r), n in stats.ignored.items() if k == SIGNINS.name}
    assert ignored == {
        "failed (status.errorCode ≠ 0)": 1,
        "not iOS/iPadOS": 1,
        "no deviceDetail.deviceId (device not registered)": 1,
        "app not in the app table": 1,
    }


def test_the_tenant_joins_inventory_registrations_and_sign_ins() -> None:
    """An MDM record makes a device mdm; registrations alone make it mam_we (emm when the
    mapping names it); apps are the registered ones plus those signed in to; the window is
    whole UTC days around the records."""
    tenant = load_tenant(_exports(), Mapping())
    assert {d: (t.management, sorted(t.apps)) for d, t in tenant.devices.items()} == {
        ADELE: ("mdm", ["outlook"]),
        IPAD: ("mam_we", ["teams"]),
    }
    assert tenant.horizon == 5 * 1440.0  # 3 Nov 00:00 → 8 Nov 00:00 (last alert 7 Nov)
    emm = load_tenant(_exports(), Mapping(emm_device_ids=frozenset({IPAD})))
    assert emm.devices[IPAD].management == "emm"


def test_a_mapping_file_adds_rules_apps_and_emm_devices(tmp_path: Path) -> None:
    """User rules come before the defaults; apps and EMM device ids are added."""
    path = tmp_path / "mapping.toml"
    path.write_text(
        '[[rules]]\nkind = "os_vulnerability"\ncategory = ["Execution"]\n'
        '[[apps]]\nname = "expenses"\nsign_in_names = ["Contoso Expenses"]\n'
        f'[management]\nemm_device_ids = ["{IPAD.upper()}"]\n'
    )
    mapping = load_mapping(path)
    assert mapping.kind_for({"category": "Execution", "title": "x"}) == "os_vulnerability"
    assert mapping.kind_for({"title": "Phishing site blocked"}) == "phishing"
    assert mapping.app_for_sign_in("contoso expenses") == "expenses"
    assert mapping.app_for_sign_in("Outlook Mobile") == "outlook"
    assert IPAD in mapping.emm_device_ids


def test_a_bad_mapping_file_names_the_field(tmp_path: Path) -> None:
    """An unknown kind in a mapping file is one error naming file and field."""
    path = tmp_path / "mapping.toml"
    path.write_text('[[rules]]\nkind = "ransomware"\n')
    with pytest.raises(InputError, match=r"mapping.toml: rules\[0\].kind"):
        load_mapping(path)


def test_wrong_export_type_is_refused_by_context_and_by_shape(tmp_path: Path) -> None:
    """Sign-ins given as alerts: refused from @odata.context, and from the first record's
    fields when the context is missing (a bare list)."""
    with pytest.raises(InputError, match=r"is a sign-ins export.*give it as --signins"):
        read_alerts([FIXTURES / "signins.json"], Mapping(), ReadStats())
    records = json.loads((FIXTURES / "signins.json").read_text())["value"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(records))
    with pytest.raises(InputError, match=r"bare.json: \[0\]: looks like a sign-ins export"):
        read_alerts([bare], Mapping(), ReadStats())


def test_truncated_json_names_the_last_good_record(tmp_path: Path) -> None:
    """A file cut mid-record is one error naming the file and the record before the cut."""
    text = (FIXTURES / "signins.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"s4-android"')])
    with pytest.raises(InputError, match=r"cut.json: truncated or invalid JSON after value\[2\]"):
        read_signins([cut], Mapping(), ReadStats())


def test_a_record_without_a_needed_field_is_named(tmp_path: Path) -> None:
    """A sign-in without createdDateTime: file, record index and field in one error."""
    data = json.loads((FIXTURES / "signins.json").read_text())
    del data["value"][3]["createdDateTime"]
    path = tmp_path / "signins.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"signins.json: value\[3\]: has no 'createdDateTime'"):
        read_signins([path], Mapping(), ReadStats())


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("42", "not a Graph export"), ('{"a": 1}', "has no 'value' list")],
)
def test_files_that_are_not_exports(tmp_path: Path, text: str, message: str) -> None:
    """Empty files, scalars and objects without a value list are refused by name."""
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_devices([path], Mapping(), ReadStats())
