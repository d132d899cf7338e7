"""A key's scope, the accounts and profiles it sees, as plain data: who may send us which leads.

A scope is what `Connection.scope_json` holds: `[{"account_id", "account", "profiles":
[{"profile_id", "profile"}]}]`, read from `GET /accounts` for an agency key and from a lead for a
profile key (which can't call `/accounts`). Pure functions: keeping the scope current is
`bot.connect.scope_refresh`'s job.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from bot.whatconverts.client import Account
from bot.whatconverts.leads import Lead, integer

Source = tuple[int, int]  # (account_id, profile_id) of a webhook; 0 where the lead didn't say


def from_accounts(accounts: Iterable[Account]) -> list[dict]:
    """The scope of an agency key, from `GET /accounts` (profiles embedded)."""
    return [
        {
            "account_id": a.account_id,
            "account": a.name,
            "profiles": [{"profile_id": p.profile_id, "profile": p.name} for p in a.profiles],
        }
        for a in accounts
    ]


def from_lead(lead: Lead) -> list[dict]:
    """The scope of a profile key, from one of its leads (empty if the lead names neither)."""
    if lead.account_id is None and lead.profile_id is None:
        return []
    return [
        {
            "account_id": lead.account_id,
            "account": lead.account,
            "profiles": [{"profile_id": lead.profile_id, "profile": lead.profile}],
        }
    ]


def _accounts(scope: Sequence[object]) -> list[dict]:
    return [a for a in scope if isinstance(a, dict)]


def _profiles(account: dict) -> list[dict]:
    profiles = account.get("profiles")
    return [p for p in profiles if isinstance(p, dict)] if isinstance(profiles, list) else []


def account_ids(scope: Sequence[object]) -> set[int]:
    return {i for a in _accounts(scope) if (i := integer(a.get("account_id"))) is not None}


def profile_ids(scope: Sequence[object]) -> set[int]:
    return {i for a in _accounts(scope) for p in _profiles(a) if (i := integer(p.get("profile_id"))) is not None}


def covers(scope: Sequence[object], lead: Lead) -> bool:
    """Could this key have sent `lead`? Ids the scope doesn't list yet (an unknown scope) pass."""
    accounts, profiles = account_ids(scope), profile_ids(scope)
    if lead.account_id is not None and accounts and lead.account_id not in accounts:
        return False
    return not (lead.profile_id is not None and profiles and lead.profile_id not in profiles)


def names_unknown(scope: Sequence[object], leads: Iterable[Lead]) -> bool:
    """Does any of `leads` name an account or profile the scope doesn't list (it may be out of date)?"""
    accounts, profiles = account_ids(scope), profile_ids(scope)
    return any(
        (lead.account_id is not None and lead.account_id not in accounts)
        or (lead.profile_id is not None and lead.profile_id not in profiles)
        for lead in leads
    )


def source_of(lead: Lead) -> Source:
    return (lead.account_id or 0, lead.profile_id or 0)


@dataclass(frozen=True)
class Coverage:
    """Which of a key's profiles sent webhooks lately."""

    profiles: tuple[tuple[str, bool], ...]  # (profile name, sent one lately), for each profile the key sees
    complete: bool  # every profile did: its leads arrive instantly, polling is only the backstop

    @property
    def fresh(self) -> int:
        return sum(1 for _, sent in self.profiles if sent)


def coverage(key_type: str, scope: Sequence[object], fresh: Collection[Source]) -> Coverage:
    """Webhook coverage of a key: an agency key is covered only when each of its profiles sends them.

    A profile key sees one profile, so any webhook of its covers it (its scope may not be known yet).
    """
    fresh_profiles = {profile for _, profile in fresh}
    listed: list[tuple[int | None, str]] = []
    for account in _accounts(scope):
        for profile in _profiles(account):
            pid = integer(profile.get("profile_id"))
            listed.append((pid, str(profile.get("profile") or (f"profile {pid}" if pid else "this profile"))))
    if key_type != "master" or not listed:
        sent = bool(fresh)
        return Coverage(profiles=tuple((name, sent) for _, name in listed), complete=sent)
    shown = tuple((name, pid is not None and pid in fresh_profiles) for pid, name in listed)
    return Coverage(profiles=shown, complete=all(sent for _, sent in shown))
