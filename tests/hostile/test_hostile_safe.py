"""Safe output: no CR/LF from a message reaches an outgoing header; attachment names cleaned;
HTML kept for display sanitised."""

from __future__ import annotations

import base64
import email
import email.policy
import mailbox

from sqlmodel import Session, select

from mailbot.hostile.safe import safe_filename, sanitize_html
from mailbot.models import Contribution, OutboxMessage
from mailbot.parse import parse
from mailbot.pipeline import process_one
from mailbot.receive import RawIn, store_raw_batch
from mailbot.sender import drain


def ingest(app, raw: bytes) -> str:  # type: ignore[no-untyped-def]
    (stored,) = store_raw_batch(app=app, items=[RawIn(raw=raw, source="test")])
    return process_one(app=app, raw_id=stored.raw_id).outcome


def b64word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def test_encoded_subject_cannot_inject_a_header_into_the_acknowledgement(app) -> None:  # type: ignore[no-untyped-def]
    evil = "x\r\nBcc: victim@evil.example\r\nX-Injected: yes"
    evil_reply = b64word("<a>\r\nBcc: v2@evil.example")
    raw = (
        "From: Eve <eve@example.org>\r\nTo: contrib@consult.example.org\r\n"
        f"Subject: {b64word(evil)}\r\n"
        f"Message-ID: <evil-1@example.org>\r\nIn-Reply-To: {evil_reply}\r\n"
        "\r\nThe working group should publish its documents.\r\n"
    ).encode()
    assert ingest(app, raw) == "contribution"
    with Session(app.engine) as s:
        (row,) = s.exec(select(OutboxMessage)).all()
        subject = s.exec(select(Contribution.subject)).one()
    assert "Bcc: victim" in subject  # kept as text, on one line
    assert row.recipients == ["eve@example.org"]
    assert drain(app=app)["sent"] == 1
    (sent,) = list(mailbox.Maildir(app.settings.server.outbox_maildir, create=False))
    for data in (row.raw, sent.as_bytes()):
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        lines = [
            ln
            for ln in head.replace(b"\r\n", b"\n").split(b"\n")
            if ln and ln[:1] not in (b" ", b"\t")
        ]
        names = [ln.split(b":", 1)[0].lower() for ln in lines]
        assert b"bcc" not in names and b"x-injected" not in names, names
        ack = email.message_from_bytes(data, policy=email.policy.default)
        assert ack["Bcc"] is None and ack["X-Injected"] is None
        assert "\n" not in str(ack["Subject"]) and "\r" not in str(ack["Subject"])
        # The stranger's subject is echoed on one line, its address left out (backscatter).
        assert str(ack["Subject"]).startswith("Received: x Bcc: […]")


def attachment_mail(filename_header: str) -> bytes:
    return (
        "From: Eve <eve@example.org>\r\nTo: contrib@consult.example.org\r\nSubject: files\r\n"
        "Message-ID: <att-1@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nSee the attached file about transparency.\r\n"
        "--B\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Disposition: attachment; {filename_header}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--B--\r\n"
    ).encode()


def test_path_traversal_in_an_attachment_name_is_cut_to_a_plain_name(app) -> None:  # type: ignore[no-untyped-def]
    assert ingest(app, attachment_mail('filename="../../../etc/cron.d/evil"')) == "contribution"
    with Session(app.engine) as s:
        (c,) = s.exec(select(Contribution)).all()
    assert [a["name"] for a in c.attachments] == ["evil"]


def test_rfc2231_and_encoded_names_with_control_characters_are_cleaned() -> None:
    cases = {
        "filename*=utf-8''..%2F..%2Fetc%2Fpasswd": "passwd",
        "filename*=utf-8''report%0D%0ABcc%3A x.pdf": "report Bcc_ x.pdf",
        'filename="' + b64word("..\\..\\boot.ini") + '"': "boot.ini",
        'filename=".."': "attachment",
        'filename=".bashrc"': "bashrc",
    }
    for header, expected in cases.items():
        (att,) = parse(attachment_mail(header)).attachments
        assert att.filename == expected, (header, att.filename)
        assert att.payload == b"hello"


def test_safe_filename_edges() -> None:
    assert safe_filename("C:\\Users\\x\\evil.exe") == "evil.exe"
    assert safe_filename("a\x00b\u202etxt.exe") == "a b txt.exe"  # NUL and bidi override
    assert safe_filename(None) == "attachment"
    long = safe_filename("x" * 500 + ".pdf")
    assert len(long) <= 120 and long.endswith(".pdf")


def test_html_is_kept_only_sanitised_and_text_comes_from_html2text(app) -> None:  # type: ignore[no-untyped-def]
    html = (
        '<p onclick="steal()">Publish <b>all</b> documents.<script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif"><a href="javascript:evil()">x</a>'
        '<a href="https://example.org/doc">doc</a></p>'
    )
    raw = (
        "From: Eve <eve@example.org>\r\nTo: contrib@consult.example.org\r\nSubject: html\r\n"
        "Message-ID: <html-1@example.org>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ).encode()
    assert ingest(app, raw) == "contribution"
    with Session(app.engine) as s:
        (c,) = s.exec(select(Contribution)).all()
    assert c.html is not None
    for bad in ("<script", "onclick", "javascript:", "<img", "alert("):
        assert bad not in c.html
    assert '<a href="https://example.org/doc" rel="noopener noreferrer nofollow">doc</a>' in c.html
    assert "Publish all documents." in c.text and "<b>" not in c.text


def test_sanitize_html_drops_styles_and_forms() -> None:
    cleaned = sanitize_html('<style>p{}</style><form action="x"><input name=a></form><p>ok</p>')
    assert cleaned == "<p>ok</p>"
