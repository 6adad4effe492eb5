"""The road, assembled in one place, as data: what runs on every message, and in which order.

    stored raw -> pre-parse checks -> parse -> post-parse steps
      -> classify rules (first verdict wins) -> handler for the verdict's kind
      -> (contributions) filing steps -> outbox guards
    services beside the listener | scheduled jobs | CLI groups | e-mail commands

Read `default_road()` top to bottom to see what the bot does. Nothing registers itself by
being imported: a step runs because it is listed here. A test builds a road with a subset
(`dataclasses.replace(default_road(), rules=...)`) and passes it to `make_app(road=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import typer

from mailbot import classify, contributions, setup_cli, store_cli
from mailbot.act import Handler
from mailbot.calendar import cli as calendar_cli
from mailbot.calendar import deadline as calendar_deadline
from mailbot.calendar.digest_mail import digest_times, send_due_digest
from mailbot.calendar.registry import CalendarJob
from mailbot.calendar.reminders import reminder_times, send_due_reminder
from mailbot.calendar.scheduler import CALENDAR_SERVICE
from mailbot.campaigns import cli as campaigns_cli
from mailbot.campaigns import commands as campaign_commands
from mailbot.campaigns import index as campaign_index
from mailbot.classify import Rule
from mailbot.commands import confirm, deadlines, membership, moderator, participant, reports
from mailbot.commands import handler as commands
from mailbot.commands.registry import CommandTable
from mailbot.config import Settings
from mailbot.contributions import FilingStep
from mailbot.conversation import cli as conversation_cli
from mailbot.conversation import complaints, held, library, lists, repeats, replies
from mailbot.hostile import autoreply, bounces, quarantine, setup
from mailbot.hostile.ratelimit import reply_guard
from mailbot.imap import cli as imap_cli
from mailbot.imap.service import IMAP_SERVICE
from mailbot.moderation import cli as moderation_cli
from mailbot.moderation import policy
from mailbot.outbox import OutboxGuard
from mailbot.parse import ParsedMail
from mailbot.privacy import cli as privacy_cli
from mailbot.privacy import commands as privacy
from mailbot.privacy import consent, follow, retention
from mailbot.publish import cli as publish_cli
from mailbot.runtime import Service
from mailbot.scale import status as scale_status
from mailbot.threads import cli as threads_cli
from mailbot.threads import store as threads_store

# check(app, raw): raises to send the stored message to quarantine with its error as reason.
PreParseCheck = Callable[..., None]
# step(mail, settings) -> mail: the parsed message as every later step must read it.
PostParse = Callable[[ParsedMail, Settings], ParsedMail]


@dataclass(frozen=True)
class Road:
    pre_parse: tuple[PreParseCheck, ...] = ()
    post_parse: tuple[PostParse, ...] = ()
    rules: tuple[Rule, ...] = ()
    handlers: tuple[tuple[str, Handler], ...] = ()  # verdict kind -> handler
    filing_steps: tuple[tuple[str, FilingStep], ...] = ()
    guards: tuple[OutboxGuard, ...] = ()
    services: tuple[Service, ...] = ()
    jobs: tuple[CalendarJob, ...] = ()
    cli_groups: tuple[tuple[str | None, typer.Typer], ...] = ()  # None: commands of the root
    commands: CommandTable = field(default_factory=lambda: CommandTable(()))


def command_table() -> CommandTable:
    """The e-mail commands, in the order HELP lists them."""
    return CommandTable(
        (
            participant.do_help,
            participant.do_topics,
            participant.do_status,
            participant.do_withdraw,
            confirm.do_confirm,
            membership.do_language,
            membership.do_subscribe,
            membership.do_unsubscribe,
            participant.do_end,
            privacy.do_publish,
            privacy.do_erase,
            library.do_get,
            library.do_index,
            moderator.do_approve,
            moderator.do_reject,
            moderator.do_defer,
            moderator.do_refile,
            deadlines.do_extend,
            deadlines.do_close,
            reports.do_digest,
            reports.do_stats,
            reports.do_bounces,
            campaign_commands.do_campaign,
        )
    )


def classify_rules(table: CommandTable) -> tuple[Rule, ...]:
    """First verdict wins. Order matters: nothing automatic is acknowledged or run as a command."""
    return (
        Rule("own-loop", classify.own_loop),
        # Abuse reports (ARF): never a contribution, never answered.
        Rule("complaint", complaints.complaint),
        Rule("bounce-address", bounces.to_bounce_address),
        Rule("bounce-dsn", bounces.delivery_report),
        Rule("bounce-daemon", bounces.daemon_report),
        Rule("bounce-subject", bounces.bounce_subject),
        Rule("auto-submitted", classify.auto_submitted),
        Rule("autoreply-headers", autoreply.autoreply_headers),
        Rule("autoreply-precedence", autoreply.precedence),
        Rule("autoreply-subject", autoreply.out_of_office_subject),
        Rule("autoreply-null-sender", autoreply.null_sender),
        # A bare publication choice ("anonymous") answering a receipt (issue 14).
        Rule("consent-reply", consent.consent_reply),
        # A person answering one of our messages (a receipt, a notice, the digest).
        Rule("reply-to-our-mail", replies.reply_to_our_mail),
        Rule("command-address", commands.to_command_address),
        Rule("command-subject", partial(commands.command_subject, commands=table)),
        Rule("no-sender", classify.no_sender),
        Rule("contribution", classify.contribution),  # the catch-all
    )


def cli_groups() -> tuple[tuple[str | None, typer.Typer], ...]:
    """The `mailbot` sub-command groups, in the order `--help` lists them."""
    return (
        ("db", store_cli.db_cli),
        ("config", store_cli.config_cli),
        ("contributions", store_cli.contributions_cli),
        ("outbox", store_cli.outbox_cli),
        ("digest", calendar_cli.digest_cli),
        ("schedule", calendar_cli.schedule_cli),
        ("quarantine", quarantine.quarantine_cli),
        (None, quarantine.replay_cli),
        ("imap", imap_cli.imap_cli),
        ("archive", publish_cli.archive_cli),
        ("report", publish_cli.report_cli),
        (None, publish_cli.export_cli),
        ("moderation", moderation_cli.moderation_cli),
        ("threads", threads_cli.threads_cli),
        ("campaigns", campaigns_cli.campaigns_cli),
        ("messages", conversation_cli.messages_cli),
        (None, setup_cli.init_cli),
        ("dkim", setup_cli.dkim_cli),
        ("privacy", privacy_cli.privacy_cli),
        (None, scale_status.status_cli),
    )


def default_road() -> Road:
    table = command_table()
    return Road(
        # Limits on size and MIME structure, before any parsing work (issue 7).
        pre_parse=(setup.limits_check,),
        # A list that rewrote From for DMARC: the author back, before any rule reads From.
        post_parse=(lists.original_author,),
        rules=classify_rules(table),
        # Verdict kinds without a handler (loop) are kept and never answered.
        handlers=(
            ("bounce", bounces.record_bounce),
            ("complaint", complaints.keep_complaint),
            ("invalid", setup.quarantine_unreadable_from),
            ("reply", replies.act_reply),
            ("consent", consent.act_consent),  # a publication choice answering a receipt
            ("both", replies.act_both),  # to the contribution and the command address
            ("autoreply", autoreply.keep_autoreply),
            ("command", commands.act_command),
            ("contribution", contributions.act_contribution),
        ),
        # Run on every new contribution, in this order, before anything is answered.
        filing_steps=(
            ("publication", consent.choose_publication),  # name | anonymous | confidential
            ("sanitize-html", setup.keep_sanitized_html),
            ("threading", threads_store.thread_contribution),
            ("deadline", calendar_deadline.apply_deadline),
            ("moderation", policy.moderate),
            ("via-list", lists.mark_list_copy),  # after moderation: list copies are held too
            ("held-receipt", held.held_receipt),
            ("robot-repeat", repeats.unanswered_repeat),
            ("campaign", campaign_index.campaign_step),  # near-duplicates grouped (issue 16)
        ),
        # Every outgoing message passes these before its outbox row is written.
        guards=(reply_guard, complaints.complaint_guard),
        # Beside the listener, pipeline and sender (which `mailbot run` always starts).
        services=(IMAP_SERVICE, CALENDAR_SERVICE),
        jobs=(
            CalendarJob("digest", send_due_digest, digest_times),
            CalendarJob("reminders", send_due_reminder, reminder_times),
            CalendarJob("raw-purge", retention.purge_due_raw, retention.purge_times),
            CalendarJob("erasure-follow-up", follow.follow_due, follow.follow_times),
        ),
        cli_groups=cli_groups(),
        commands=table,
    )
