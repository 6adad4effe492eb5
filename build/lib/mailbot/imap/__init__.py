"""IMAP intake: read the consultation's mailbox and hand its raw mail to the pipeline.

- `config`: `MAILBOT_IMAP_URL` and the `[imap]` section -> `ImapAccount`s.
- `mailbox`: connecting, logging in, fetching and settling (move / flag) — bytes only.
- `poller`: the loop — catch up, store, remember the position, IDLE, reconnect.
- `models`: the position table (account, folder, UIDVALIDITY, last UID).
- `cli` / `service`: `mailbot imap ...` and the poller inside `mailbot run`.
"""
