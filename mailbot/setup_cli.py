"""Setting a site up: `mailbot init DIR` (config, env file with a new secret, Postfix snippets)
and `mailbot dkim keygen` (a signing key and the DNS record that publishes it)."""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from mailbot.cli_common import CONFIG, out
from mailbot.config import ConfigError, Settings, load_settings
from mailbot.config_source import ENV_FILE
from mailbot.postfix import LMTP_LISTEN, RELAY_PORT, snippets
from mailbot.resources import sample_config
from mailbot.signing import generate_key, zone_line

SAMPLE_DOMAIN = "consult.example.org"
SAMPLE_RELAY = (
    '# relay = "smtp://user:pass@smtp.example.org:587"   # unset: write to var/outbox-maildir'
)
HEADER = """# Written by `mailbot init`. Relative paths here are relative to this file's folder.
# The secret is in {env} beside this file (MAILBOT_SECRET); keep that file 0600.
# Check with: mailbot --config {config} config check

"""


def init_config(text: str, *, domain: str | None) -> str:
    """The sample config made a site's: LMTP from Postfix, the secret out of the file."""
    replacements = {
        'secret = "change-me-in-production"   # signs moderation tokens': (
            "# secret: MAILBOT_SECRET in mailbot.env (`mailbot run` refuses a short one)"
        ),
        'listen = "127.0.0.1:8025"': f'listen = "{LMTP_LISTEN}"            # Postfix delivers here',
        'protocol = "smtp"              # or "lmtp"': 'protocol = "lmtp"              # or "smtp"',
        SAMPLE_RELAY: (
            f'# relay = "smtp://127.0.0.1:{RELAY_PORT}"   # Postfix (postfix/master.cf); '
            "unset: var/outbox-maildir"
        ),
    }
    for old, new in replacements.items():
        text = text.replace(old, new)
    text = re.sub(r"^data_dir = .*$", 'data_dir = "var"  # relative to this file', text, flags=re.M)
    return text.replace(SAMPLE_DOMAIN, domain) if domain else text


def write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (it holds a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(0o600)


init_cli = typer.Typer()  # `mailbot init DIR`, a command of the root


@init_cli.command("init")
def init(
    directory: Annotated[
        Path, typer.Argument(help="Folder for mailbot.toml, mailbot.env, postfix/.")
    ],
    domain: Annotated[
        str | None, typer.Option(help=f"Mail domain of the consultation (sample: {SAMPLE_DOMAIN}).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
) -> None:
    """Write a commented config, an env file with a new secret and the Postfix snippets."""
    directory = directory.absolute()
    config = directory / "mailbot.toml"
    if config.exists() and not force:
        typer.echo(f"{config} exists; --force overwrites it (the env file is kept)", err=True)
        raise typer.Exit(1)
    directory.mkdir(parents=True, exist_ok=True)
    env = directory / ENV_FILE
    text = init_config(sample_config().read_text(encoding="utf-8"), domain=domain)
    config.write_text(HEADER.format(env=ENV_FILE, config=config) + text, encoding="utf-8")
    if not env.exists():  # a second init keeps the secret: tokens already sent stay valid
        write_private(env, f"MAILBOT_SECRET={secrets.token_urlsafe(48)}\n")
    try:
        settings = load_settings(config, environ={"MAILBOT_SECRET": "x" * 32})
    except ConfigError as exc:
        for line in exc.errors:
            typer.echo(f"config error: {line}", err=True)
        raise typer.Exit(2) from None
    postfix = directory / "postfix"
    postfix.mkdir(exist_ok=True)
    for name, content in snippets(settings).items():
        (postfix / name).write_text(content, encoding="utf-8")
    out.print(f"wrote {config}\n      {env} (0600, MAILBOT_SECRET)\n      {postfix}/")
    out.print(
        f"next: edit {config.name}, then `mailbot --config {config} db upgrade`; "
        "docs/deploy.md has the rest"
    )


dkim_cli = typer.Typer(help="DKIM signing of outgoing mail.", no_args_is_help=True)


def _settings_if_any() -> Settings | None:
    try:
        return load_settings(CONFIG["path"])
    except ConfigError:
        return None


@dkim_cli.command("keygen")
def dkim_keygen(
    selector: Annotated[
        str | None, typer.Option(help="Selector (default: mailbot-YYYYMM).")
    ] = None,
    domain: Annotated[
        str | None, typer.Option(help="Signing domain (default: from config).")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Where to write the key (default: DATA_DIR/dkim/).")
    ] = None,
) -> None:
    """Make an RSA key for DKIM and print the DNS TXT record that publishes it."""
    settings = _settings_if_any()
    selector = selector or f"mailbot-{datetime.now(UTC):%Y%m}"
    if domain is None and settings is not None:
        domain = settings.server.dkim_domain or settings.consultation.domain
    if not domain:
        typer.echo("no config found: give --domain", err=True)
        raise typer.Exit(2)
    if key_file is None:
        base = settings.server.data_dir if settings else Path.cwd()
        key_file = base / "dkim" / f"{selector}.key"
    key_file = key_file.absolute()
    if key_file.exists():
        typer.echo(f"{key_file} exists; choose another selector or --key-file", err=True)
        raise typer.Exit(1)
    record = generate_key(key_file)
    out.print(f"; key written to {key_file} (0600). Publish this record in DNS:")
    out.print(zone_line(selector=selector, domain=domain, record=record))
    out.print("; then add to [server] in mailbot.toml:")
    out.print(f'; dkim_selector = "{selector}"\n; dkim_key_file = "{key_file}"')
