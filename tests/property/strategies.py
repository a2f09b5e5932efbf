"""Shared Hypothesis strategies for condlaunch's domain objects.

Import them as ``from tests.property import strategies as cst`` (any test folder works:
``tests/`` is a package). Every strategy is a function returning a ``SearchStrategy`` so
it can take parameters; all are deterministic under the ``ci`` profile of
``tests/conftest.py``.

Design choices that matter when you reuse them:

- **Small universes.** Apps come from :data:`APPS` and groups from :data:`GROUPS`, so a
  random policy covers a random context often (roughly a third of the time) and merges of
  several covering policies are common. Pass your own ``apps`` / ``groups`` to widen them.
- **Landmark durations.** Periods and offline times mix the documented defaults
  (:data:`LANDMARK_MINUTES`: 30 min, 720 min, 1440 min, 90 days …) with arbitrary values,
  so boundaries such as "offline exactly at the block period" are drawn, not just hoped for.
- **Valid by construction.** Generated :class:`~simulator.policy.Policy` and
  :class:`~simulator.policy.EvaluationContext` values are what the file loaders could
  produce (non-negative finite durations, positive recheck/check-in intervals); lists of
  policies have unique names (``P0``, ``P1`` … unless you ask for file-style names).

Summary (see each docstring):

=============================  =============================================================
``threat_levels()``            a :class:`ThreatLevel`
``max_levels()``               a policy maximum: a level or ``None`` (not configured)
``actions()``                  block | wipe
``behaviors()``                a :class:`Behavior` (every [param] of SEMANTICS.md §5)
``whole_minutes()``            float durations that are whole minutes
``whole_seconds()``            float durations that are whole seconds (``n / 60``)
``periods()``                  grace periods: landmarks, whole minutes or any float >= 0
``offline_minutes()``          time offline: mostly 0, often a landmark, sometimes any
``jailbroken_actions()``       a *Jailbroken/rooted devices* action: None, block or wipe
``policies()``                 a :class:`Policy` over the small universes
``policy_lists()``             lists of policies with unique names ``P0``, ``P1`` …
``contexts()``                 an :class:`EvaluationContext`
``covering_policies(ctx)``     a policy guaranteed to cover ``ctx``
``non_covering_policies(ctx)`` a policy guaranteed not to cover ``ctx``
``decide_inputs()``            ``(policies, context, behavior)`` biased towards coverage
``file_policies()``            a policy that survives a trip through a policy file
``file_policy_lists()``        lists of those with unique names
=============================  =============================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Final

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from simulator.durations import MINUTES_PER_DAY
from simulator.policy.behavior import (
    Behavior,
    ConnectorOffBehavior,
    MultiPolicyMerge,
    PreOnboardingAction,
    UnresponsiveBehavior,
)
from simulator.policy.decide import EvaluationContext, Policy, covers
from simulator.policy.levels import (
    Action,
    ConnectorState,
    DefenderState,
    Management,
    MaxThreatLevel,
    Reauth,
    TargetManagement,
    ThreatLevel,
)

APPS: Final = ("outlook", "teams", "edge")
"""Default app universe: small, so random policies and contexts overlap often."""

GROUPS: Final = ("all-users", "finance", "contractors")
"""Default user-group universe."""

LANDMARK_MINUTES: Final = (
    0.0,
    30.0,
    60.0,
    720.0,
    1440.0,
    7 * MINUTES_PER_DAY,
    30 * MINUTES_PER_DAY,
    90 * MINUTES_PER_DAY,
)
"""Durations that appear in documentation and defaults (minutes)."""

MAX_SPAN_MIN: Final = 365 * MINUTES_PER_DAY
"""Upper bound of generated spans: one year, in minutes."""


# --- scalars -------------------------------------------------------------------------


def threat_levels() -> SearchStrategy[ThreatLevel]:
    """Any threat level, secured … high (shrinks towards secured)."""
    return st.sampled_from(ThreatLevel)


def max_levels() -> SearchStrategy[MaxThreatLevel]:
    """A policy's max allowed level: ``None`` (not configured) or any threat level."""
    return st.one_of(st.none(), threat_levels())


def actions() -> SearchStrategy[Action]:
    """A threat-level action: block or wipe."""
    return st.sampled_from(Action)


def jailbroken_actions() -> SearchStrategy[Action | None]:
    """A *Jailbroken/rooted devices* action: ``None`` (not configured) half of the time,
    else block or wipe (shrinks towards not configured)."""
    return st.sampled_from([None, None, Action.BLOCK, Action.WIPE])


def behaviors(
    multi_policy_merge: SearchStrategy[MultiPolicyMerge] | None = None,
) -> SearchStrategy[Behavior]:
    """Any combination of the behaviour parameters of SEMANTICS.md §5.

    Parameters
    ----------
    multi_policy_merge
        Strategy for the merge rule; default: either rule. Pass
        ``st.just(MultiPolicyMerge.MOST_RESTRICTIVE)`` to pin it.
    """
    return st.builds(
        Behavior,
        connector_off_behavior=st.sampled_from(ConnectorOffBehavior),
        unresponsive_behavior=st.sampled_from(UnresponsiveBehavior),
        pre_onboarding_action=st.sampled_from(PreOnboardingAction),
        multi_policy_merge=(
            st.sampled_from(MultiPolicyMerge) if multi_policy_merge is None else multi_policy_merge
        ),
    )


def whole_minutes(min_value: int = 0, max_value: int = int(MAX_SPAN_MIN)) -> SearchStrategy[float]:
    """Durations that are a whole number of minutes, as floats (``30.0``)."""
    return st.integers(min_value, max_value).map(float)


def whole_seconds(min_seconds: int = 0, max_seconds: int = 10**8) -> SearchStrategy[float]:
    """Durations that are a whole number of seconds, in minutes (``n / 60``)."""
    return st.integers(min_seconds, max_seconds).map(lambda seconds: seconds / 60)


def _any_minutes(min_value: float = 0.0, max_value: float = MAX_SPAN_MIN) -> SearchStrategy[float]:
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)


def periods(min_value: float = 0.0) -> SearchStrategy[float]:
    """A grace period or interval in minutes: a landmark, whole minutes, or any float.

    Parameters
    ----------
    min_value
        Smallest value drawn (use ``1.0`` for intervals that must be positive).
    """
    return st.one_of(
        st.sampled_from([m for m in LANDMARK_MINUTES if m >= min_value]),
        whole_minutes(min_value=int(-(-min_value // 1))),
        _any_minutes(min_value=min_value),
    )


def offline_minutes() -> SearchStrategy[float]:
    """Minutes since the last check-in: often 0 (online), often a landmark, else any."""
    return _OFFLINE


_PERIODS: Final = periods()
_POSITIVE_PERIODS: Final = periods(min_value=1.0)
_OFFLINE: Final = st.one_of(st.just(0.0), st.sampled_from(LANDMARK_MINUTES), _any_minutes())


# --- policies and contexts -----------------------------------------------------------


def _subsets(universe: Sequence[str], *, min_size: int = 0) -> list[frozenset[str]]:
    """Every subset of ``universe`` with at least ``min_size`` members, smallest first."""
    out = [frozenset()]
    for item in universe:
        out += [subset | {item} for subset in out]
    return sorted((s for s in out if len(s) >= min_size), key=lambda s: (len(s), sorted(s)))


@cache
def _subset_strategy(
    universe: tuple[str, ...], min_size: int = 0
) -> SearchStrategy[frozenset[str]]:
    # One draw per set (instead of one per member) keeps generation fast; shrinks to small.
    return st.sampled_from(_subsets(universe, min_size=min_size))


def _group_sets(groups: Sequence[str]) -> SearchStrategy[frozenset[str]]:
    return _subset_strategy(tuple(groups)) if groups else st.just(frozenset())


_NO_GROUPS: Final = st.just(frozenset[str]())


@cache
def _policies(
    apps: tuple[str, ...],
    groups: tuple[str, ...],
    name: SearchStrategy[str],
    max_threat_level: SearchStrategy[MaxThreatLevel],
    threat_action: SearchStrategy[Action],
    jailbroken_action: SearchStrategy[Action | None],
) -> SearchStrategy[Policy]:
    # Built once per argument combination: strategies made inside every draw would be
    # re-validated each time, which dominates generation time.
    return st.builds(
        Policy,
        name=name,
        apps=_subset_strategy(apps, min_size=1),
        include_groups=st.one_of(st.none(), _group_sets(groups)),
        exclude_groups=st.one_of(_NO_GROUPS, _NO_GROUPS, _NO_GROUPS, _group_sets(groups)),
        target_management=st.sampled_from(TargetManagement),
        max_threat_level=max_threat_level,
        threat_action=threat_action,
        recheck_after=_POSITIVE_PERIODS,
        checkin_interval=_POSITIVE_PERIODS,
        offline_block_after=_PERIODS,
        offline_wipe_after=_PERIODS,
        jailbroken_action=jailbroken_action,
    )


_DEFAULT_NAME: Final = st.just("P")
_MAX_LEVELS: Final = max_levels()
_ACTIONS: Final = actions()
_JAILBROKEN_ACTIONS: Final = jailbroken_actions()


def policies(
    *,
    name: SearchStrategy[str] = _DEFAULT_NAME,
    apps: Sequence[str] = APPS,
    groups: Sequence[str] = GROUPS,
    max_threat_level: SearchStrategy[MaxThreatLevel] = _MAX_LEVELS,
    threat_action: SearchStrategy[Action] = _ACTIONS,
    jailbroken_action: SearchStrategy[Action | None] = _JAILBROKEN_ACTIONS,
) -> SearchStrategy[Policy]:
    """A valid :class:`Policy` over the given app and group universes.

    ``apps`` is any non-empty subset of the app universe; ``include_groups`` is ``None``
    (everyone) half of the time and may be the empty set (nobody); ``exclude_groups`` is
    empty three times in four. Periods come from :func:`periods`; ``recheck_after`` and
    ``checkin_interval`` are at least one minute. ``jailbroken_action`` comes from
    :func:`jailbroken_actions` (configured half of the time).

    Parameters
    ----------
    name
        Strategy for the name; default always ``"P"`` (:func:`policy_lists` renames).
    apps, groups
        The universes to draw from (keep them small: their subsets are enumerated).
    max_threat_level, threat_action, jailbroken_action
        Strategies to pin or narrow those settings; default: any.
    """
    return _policies(
        tuple(apps), tuple(groups), name, max_threat_level, threat_action, jailbroken_action
    )


def _renamed(items: list[Policy]) -> list[Policy]:
    return [p.with_changes(name=f"P{i}") for i, p in enumerate(items)]


@cache
def _policy_lists(
    elements: SearchStrategy[Policy], min_size: int, max_size: int
) -> SearchStrategy[list[Policy]]:
    return st.lists(elements, min_size=min_size, max_size=max_size).map(_renamed)


def policy_lists(
    elements: SearchStrategy[Policy] | None = None, *, min_size: int = 0, max_size: int = 4
) -> SearchStrategy[list[Policy]]:
    """Lists of policies, renamed ``P0``, ``P1`` … in list order (names are unique).

    Parameters
    ----------
    elements
        Strategy for each policy; default :func:`policies`.
    min_size, max_size
        Bounds on the list length.
    """
    return _policy_lists(policies() if elements is None else elements, min_size, max_size)


# The normal case (Defender activated, connector enabled) first and three times as likely
# as each abnormal one, so rule 5's level check is reached often; shrinking goes there too.
_DEFENDER_STATES: Final = st.sampled_from(
    [DefenderState.ACTIVATED] * 3 + [DefenderState.ABSENT, DefenderState.INSTALLED]
)
_CONNECTOR_STATES: Final = st.sampled_from(
    [ConnectorState.ENABLED] * 3 + [ConnectorState.DISABLED, ConnectorState.UNRESPONSIVE]
)
# The normal case first and most likely for the fidelity fields too: Intune MDM passes
# IntuneMAMUPN, the app has checked in before, the SDK sees no jailbreak, and no
# re-authentication is pending.
_MDM_PASSES_UPN: Final = st.sampled_from([True, True, True, False])
_CHECKED_IN: Final = st.sampled_from([True, True, True, True, False])
_JAILBROKEN: Final = st.sampled_from([False, False, False, True])
_REAUTH: Final = st.sampled_from([Reauth.NOT_REQUIRED] * 3 + [Reauth.SUCCEEDED, Reauth.FAILED])


def _coherent(context: EvaluationContext) -> EvaluationContext:
    """A re-authentication happens only at an online evaluation of an app that has
    checked in before (back from offline past the wipe period): drop it otherwise."""
    if context.reauth is not Reauth.NOT_REQUIRED and (
        context.offline_min > 0 or not context.checked_in
    ):
        return context._replace(reauth=Reauth.NOT_REQUIRED)
    return context


@cache
def _contexts(apps: tuple[str, ...], groups: tuple[str, ...]) -> SearchStrategy[EvaluationContext]:
    # Every field is named: st.builds infers a NamedTuple's defaulted fields from their
    # types otherwise, uniformly, so unnamed fields would silently get unbiased draws.
    return st.builds(
        EvaluationContext,
        app=st.sampled_from(apps),
        management=st.sampled_from(Management),
        emm_passes_upn=st.booleans(),
        groups=_group_sets(groups),
        defender=_DEFENDER_STATES,
        known_level=threat_levels(),
        known_level_age_min=st.one_of(st.none(), _any_minutes(max_value=30 * MINUTES_PER_DAY)),
        connector=_CONNECTOR_STATES,
        offline_min=_OFFLINE,
        mdm_passes_upn=_MDM_PASSES_UPN,
        checked_in=_CHECKED_IN,
        jailbroken=_JAILBROKEN,
        reauth=_REAUTH,
    ).map(_coherent)


def contexts(
    *, apps: Sequence[str] = APPS, groups: Sequence[str] = GROUPS
) -> SearchStrategy[EvaluationContext]:
    """Any :class:`EvaluationContext`: every management set-up, Defender and connector state.

    The user's groups are any subset of ``groups``; ``emm_passes_upn`` and
    ``mdm_passes_upn`` are drawn for every management set-up (each must be ignored outside
    its own: emm, resp. mdm); Defender is activated and the connector enabled three times
    in five each (the normal case, so the level check is reached often);
    ``known_level_age_min`` is ``None`` or up to 30 days; ``offline_min`` comes from
    :func:`offline_minutes`. Intune MDM passes the UPN three times in four, the app has
    checked in four times in five, the SDK sees a jailbreak one time in four, and
    ``reauth`` is succeeded or failed one time in five each — only at an online
    evaluation of an app that has checked in (the only place the engines set it).
    """
    return _contexts(tuple(apps), tuple(groups))


@cache
def _covering(
    app: str,
    user_groups: frozenset[str],
    managed: bool,
    apps: tuple[str, ...],
    groups: tuple[str, ...],
) -> SearchStrategy[Policy]:
    subsets = _subsets(groups)
    includes = [None, *(s for s in subsets if s & user_groups)]
    excludes = [s for s in subsets if not s & user_groups]
    matching = TargetManagement.MANAGED if managed else TargetManagement.UNMANAGED

    def target(
        base: Policy, include: frozenset[str] | None, exclude: frozenset[str], tm: TargetManagement
    ) -> Policy:
        return base.with_changes(
            apps=base.apps | {app},
            include_groups=include,
            exclude_groups=exclude,
            target_management=tm,
        )

    return st.builds(
        target,
        policies(apps=apps, groups=groups),
        st.sampled_from(includes),
        st.one_of(_NO_GROUPS, st.sampled_from(excludes)),
        st.sampled_from([TargetManagement.ANY, matching]),
    )


def covering_policies(
    context: EvaluationContext,
    *,
    apps: Sequence[str] = APPS,
    groups: Sequence[str] = GROUPS,
) -> SearchStrategy[Policy]:
    """A policy that covers ``context``: app listed, groups match, management matches.

    Its settings are as in :func:`policies`; only the targeting is constrained. The user's
    groups must come from ``groups``.
    """
    return _covering(
        context.app, context.groups, context.app_sees_managed, tuple(apps), tuple(groups)
    )


@cache
def _non_covering(
    app: str,
    user_groups: frozenset[str],
    managed: bool,
    apps: tuple[str, ...],
    groups: tuple[str, ...],
) -> SearchStrategy[Policy]:
    probe = EvaluationContext(
        app=app,
        management=Management.MDM if managed else Management.MAM_WE,
        groups=user_groups,
    )
    return policies(apps=apps, groups=groups).filter(lambda p: not covers(p, probe))


def non_covering_policies(
    context: EvaluationContext,
    *,
    apps: Sequence[str] = APPS,
    groups: Sequence[str] = GROUPS,
) -> SearchStrategy[Policy]:
    """A policy that does **not** cover ``context`` (any of the ways to miss it).

    Coverage depends only on the app, the user's groups and whether the app sees the
    device as managed, so the strategy is cached on those.
    """
    return _non_covering(
        context.app, context.groups, context.app_sees_managed, tuple(apps), tuple(groups)
    )


_BEHAVIORS: Final = behaviors()


@st.composite
def decide_inputs(
    draw: st.DrawFn,
    *,
    behavior: SearchStrategy[Behavior] = _BEHAVIORS,
    max_policies: int = 4,
) -> tuple[list[Policy], EvaluationContext, Behavior]:
    """``(policies, context, behavior)`` for :func:`~simulator.policy.decide`.

    The context is drawn first; each policy is then, with equal odds, one that covers it
    or an arbitrary one, so most inputs are targeted and some are not. Policies are named
    ``P0``, ``P1`` … in list order; the list may be empty.

    Parameters
    ----------
    behavior
        Strategy for the behaviour parameters; default :func:`behaviors`.
    max_policies
        Longest policy list.
    """
    context = draw(contexts())
    mixed = _mixed(context.app, context.groups, context.app_sees_managed)
    items = draw(policy_lists(mixed, max_size=max_policies))
    return items, context, draw(behavior)


@cache
def _mixed(app: str, user_groups: frozenset[str], managed: bool) -> SearchStrategy[Policy]:
    return st.one_of(_covering(app, user_groups, managed, APPS, GROUPS), policies())


# --- file-safe policies --------------------------------------------------------------

_NAME_ALPHABET: Final = st.characters(categories=("L", "N", "P", "S", "Zs"))
"""Display-name characters: letters, digits, punctuation, symbols and spaces.

Control characters are left out: ``policies_to_toml`` writes U+007F (DEL) unescaped,
which TOML refuses (a known bug at the time of writing; widen this alphabet once fixed).
"""
_IDENT_ALPHABET: Final = st.characters(
    categories=("L", "N"), include_characters="-_.", max_codepoint=0x2FF
)


@st.composite
def file_policies(draw: st.DrawFn) -> Policy:
    """A policy that a policy file can express exactly.

    Names are printable text (spaces, quotes, backslashes and non-ASCII included); apps and
    groups are short identifiers from a wider universe than :data:`APPS`; every duration
    is a whole number of minutes (recheck and check-in at least one minute);
    ``jailbroken_action`` stays ``None`` (policy files do not read it yet). Whole
    minutes, not seconds: ``format_duration`` is lossy for some whole-second spans (31 s
    is written ``"0.516667m"``), a known bug at the time of writing.
    """
    idents = st.text(_IDENT_ALPHABET, min_size=1, max_size=12)
    return Policy(
        name=draw(st.text(_NAME_ALPHABET, min_size=1, max_size=24).filter(str.strip)),
        apps=draw(st.frozensets(idents, min_size=1, max_size=4)),
        include_groups=draw(st.one_of(st.none(), st.frozensets(idents, max_size=3))),
        exclude_groups=draw(st.frozensets(idents, max_size=3)),
        target_management=draw(st.sampled_from(TargetManagement)),
        max_threat_level=draw(max_levels()),
        threat_action=draw(actions()),
        recheck_after=draw(whole_minutes(min_value=1)),
        checkin_interval=draw(whole_minutes(min_value=1)),
        offline_block_after=draw(whole_minutes()),
        offline_wipe_after=draw(whole_minutes()),
    )


def file_policy_lists(*, min_size: int = 1, max_size: int = 4) -> SearchStrategy[list[Policy]]:
    """Non-empty lists of :func:`file_policies` with unique names (a valid policy file)."""
    return st.lists(
        file_policies(), min_size=min_size, max_size=max_size, unique_by=lambda p: p.name
    )
