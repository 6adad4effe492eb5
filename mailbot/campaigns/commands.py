"""The moderators' e-mail command CAMPAIGN: `CAMPAIGN SPLIT ref` takes a copy out of its
campaign, `CAMPAIGN MERGE ref ref` joins the second's campaign to the first's. Authenticated
and logged like every moderator command (`execute_moderator`)."""

from __future__ import annotations

from mailbot.campaigns import index
from mailbot.commands.registry import Context, Result, Usage, command, parse_ref
from mailbot.contributions import get_contribution
from mailbot.models import Contribution


def campaign_item(ctx: Context, args: tuple[str, ...]) -> str:
    """What a moderator's token binds to: "SPLIT WGIG-0003" or "MERGE WGIG-0001 WGIG-0005"."""
    action = args[0].upper() if args else ""
    refs = [parse_ref(ctx, a) for a in args[1:3]]
    wanted = {"SPLIT": 1, "MERGE": 2}.get(action)
    if wanted is None or len(refs) < wanted or None in refs[:wanted]:
        raise Usage("SPLIT ref | MERGE ref ref")
    return " ".join([action, *(r for r in refs[:wanted] if r)])


def _find(ctx: Context, ref: str) -> Contribution | Result:
    found = get_contribution(session=ctx.session, ref=ref)
    return found if found is not None else Result("failed", "unknown-ref", {"ref": ref})


@command(
    "campaign",
    args=r"(split {ref}|merge {ref} {ref})",
    keywords=("CAMPAGNE", "CAMPAÑA", "CAMPANA"),
    usage="CAMPAIGN SPLIT ref | CAMPAIGN MERGE ref ref",
    help="Take a copy out of its campaign, or join two campaigns.",
    who="moderator",
    item_of=campaign_item,
)
def do_campaign(ctx: Context, args: tuple[str, ...]) -> Result:
    action, *refs = campaign_item(ctx, args).split()
    found = [_find(ctx, ref) for ref in refs]
    for item in found:
        if isinstance(item, Result):
            return item
    contributions = [c for c in found if isinstance(c, Contribution)]
    if action == "SPLIT":
        (one,) = contributions
        if not index.split(session=ctx.session, contribution=one):
            return Result("failed", "campaign.none", {"ref": one.ref})
        return Result("done", "campaign.split", {"ref": one.ref})
    into, other = contributions
    moved = index.merge(session=ctx.session, into=into, other=other)
    return Result("done", "campaign.merged", {"ref": into.ref, "other": other.ref, "moved": moved})
