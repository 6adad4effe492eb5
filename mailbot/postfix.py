"""Postfix in front of mailbot: the addresses mailbot owns and the main.cf/master.cf snippets,
transport and recipient maps that hand them to mailbot over LMTP and take its mail back out.

`mailbot init` writes these for its config; deploy/postfix/ holds them for the sample config.
"""

from __future__ import annotations

from mailbot import addresses
from mailbot.config import Settings
from mailbot.topics import fold

# Where Postfix hands mail to mailbot (LMTP) and where mailbot hands its mail to Postfix.
LMTP_LISTEN = "127.0.0.1:8024"
RELAY_PORT = 10025


def owned_addresses(settings: Settings) -> list[str]:
    """Every address mailbot answers for: contributions, commands, bounces, and the
    contribution address with each topic name as +detail (contrib+composition@...)."""
    # Slugs and aliases (folded as the topic rule folds them); titles are not addresses.
    details = {fold(n) for t in settings.consultation.topics for n in (t.slug, *t.aliases)}
    return addresses.owned_addresses(settings, details=details)


def transport_map(settings: Settings, *, lmtp: str = LMTP_LISTEN) -> str:
    lines = ["# mailbot: postmap hash:/etc/postfix/mailbot_transport after any change"]
    lines += [f"{addr}\tlmtp:inet:{lmtp}" for addr in owned_addresses(settings)]
    return "\n".join(lines) + "\n"


def recipient_map(settings: Settings) -> str:
    lines = ["# mailbot: the only addresses Postfix accepts for mailbot's domain (others: 550)"]
    lines += [f"{addr}\tOK" for addr in owned_addresses(settings)]
    return "\n".join(lines) + "\n"


def main_cf(settings: Settings, *, maps_dir: str = "/etc/postfix") -> str:
    domain = settings.consultation.domain
    return f"""# mailbot: add to /etc/postfix/main.cf (postconf -e ... works too), then
#   postmap {maps_dir}/mailbot_transport {maps_dir}/mailbot_recipients && postfix reload
# Mail for {domain} is relayed to mailbot over LMTP; only the listed addresses are accepted,
# so a message to any other address is refused during the SMTP dialogue (no backscatter).
relay_domains = {domain}
transport_maps = hash:{maps_dir}/mailbot_transport
relay_recipient_maps = hash:{maps_dir}/mailbot_recipients
# contrib+topic@ is the topic's sub-address; the bounce address is contrib-bounces@ (listed
# in the maps: leave it out and bounces never reach mailbot's bounce handling).
recipient_delimiter = +
# Receipts leave through the port in master.cf; sign with DKIM in mailbot (server.dkim_*)
# or in a milter here, not both.
smtp_tls_security_level = may
"""


def master_cf(settings: Settings, *, port: int = RELAY_PORT) -> str:
    return f"""# mailbot: add to /etc/postfix/master.cf. mailbot's own mail comes in here (relay =
# "smtp://127.0.0.1:{port}" in mailbot.toml); only loopback may use it.
127.0.0.1:{port} inet n - y - - smtpd
  -o syslog_name=postfix/mailbot
  -o smtpd_tls_security_level=may
  -o mynetworks=127.0.0.0/8
  -o smtpd_client_restrictions=permit_mynetworks,reject
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o smtpd_relay_restrictions=permit_mynetworks,reject
"""


def snippets(settings: Settings) -> dict[str, str]:
    """File name -> content, for `mailbot init` and deploy/postfix/."""
    return {
        "main.cf": main_cf(settings),
        "master.cf": master_cf(settings),
        "mailbot_transport": transport_map(settings),
        "mailbot_recipients": recipient_map(settings),
    }
