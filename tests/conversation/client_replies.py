"""Replies as real mail clients write them (hand-written after each client's output), in
EN/FR/ES/DE/PT: (name, body, the author's new text without signature, signature start).

The quoted original is our acknowledgement; each client's attribution or header block is
the one it really writes (Thunderbird, Outlook desktop and web, Gmail, Apple Mail, iOS).
"""

from __future__ import annotations

OLD = (
    'Thank you for your contribution to "Working Group on Internet Governance".\n'
    "\n"
    "  Tracking reference: WGIG-0001\n"
    "  Topic:              Oversight (oversight)\n"
    "\n"
    "Reply with STATUS WGIG-0001 to see where it stands."
)


def q(text: str = OLD) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


NEW_EN = "I would like to add that the forum must include parliamentarians."
NEW_FR = "Je souhaite ajouter que le forum doit inclure les parlementaires."
NEW_ES = "Quisiera añadir que el foro debe incluir a los parlamentarios."
NEW_DE = "Ich möchte ergänzen, dass das Forum auch Abgeordnete einbeziehen muss."
NEW_PT = "Gostaria de acrescentar que o fórum deve incluir os parlamentares."

CLIENT_REPLIES: list[tuple[str, str, str, str]] = [
    (
        "thunderbird-en",
        f"{NEW_EN}\n\nOn 01/12/2026 10:00, Consultation wrote:\n{q()}\n",
        NEW_EN,
        "",
    ),
    (
        "thunderbird-fr",
        f"{NEW_FR}\n\nLe 01/12/2026 à 10:00, Consultation a écrit :\n{q()}\n",
        NEW_FR,
        "",
    ),
    (
        "thunderbird-de",
        f"{NEW_DE}\n\nAm 01.12.26 um 10:00 schrieb Consultation:\n{q()}\n",
        NEW_DE,
        "",
    ),
    (
        "gmail-en-wrapped",
        f"{NEW_EN}\n\nOn Tue, Dec 1, 2026 at 10:00 AM Consultation <\n"
        f"contrib@consult.example.org> wrote:\n\n{q()}\n",
        NEW_EN,
        "",
    ),
    (
        "gmail-es",
        f"{NEW_ES}\n\nEl mar, 1 dic 2026 a las 10:00, Consultation (<\n"
        f"contrib@consult.example.org>) escribió:\n\n{q()}\n",
        NEW_ES,
        "",
    ),
    (
        "gmail-fr",
        f"{NEW_FR}\n\nLe mar. 1 déc. 2026 à 10:00, Consultation <contrib@consult.example.org> a\n"
        f"écrit :\n\n{q()}\n",
        NEW_FR,
        "",
    ),
    (
        "gmail-de",
        f"{NEW_DE}\n\nAm Di., 1. Dez. 2026 um 10:00 Uhr schrieb Consultation <\n"
        f"contrib@consult.example.org>:\n\n{q()}\n",
        NEW_DE,
        "",
    ),
    (
        "gmail-pt",
        f"{NEW_PT}\n\nEm ter., 1 de dez. de 2026 às 10:00, Consultation <\n"
        f"contrib@consult.example.org> escreveu:\n\n{q()}\n",
        NEW_PT,
        "",
    ),
    (
        "outlook-en-web",
        f"{NEW_EN}\n\nBest regards,\nAna\n\n________________________________\n"
        "From: Consultation <contrib@consult.example.org>\n"
        "Sent: Tuesday, December 1, 2026 10:00 AM\nTo: Ana <ana@example.org>\n"
        f"Subject: Received: Idea [WGIG-0001]\n\n{OLD}\n",
        f"{NEW_EN}\n\nBest regards,\nAna",
        "",
    ),
    (
        "outlook-en-classic",
        f"{NEW_EN}\n\n-----Original Message-----\n"
        "From: Consultation [mailto:contrib@consult.example.org]\n"
        "Sent: Tuesday, December 01, 2026 10:00 AM\nTo: Ana\n"
        f"Subject: Received: Idea [WGIG-0001]\n\n{OLD}\n",
        NEW_EN,
        "",
    ),
    (
        "outlook-fr",
        f"{NEW_FR}\n\nDe : Consultation <contrib@consult.example.org>\n"
        "Envoyé : mardi 1 décembre 2026 10:00\nÀ : Ana <ana@example.org>\n"
        f"Objet : Reçu : Idée [WGIG-0001]\n\n{OLD}\n",
        NEW_FR,
        "",
    ),
    (
        "outlook-es",
        f"{NEW_ES}\n\nDe: Consultation <contrib@consult.example.org>\n"
        "Enviado: martes, 1 de diciembre de 2026 10:00\nPara: Ana <ana@example.org>\n"
        f"Asunto: Recibido: Idea [WGIG-0001]\n\n{OLD}\n",
        NEW_ES,
        "",
    ),
    (
        "outlook-de",
        f"{NEW_DE}\n\nVon: Consultation <contrib@consult.example.org>\n"
        "Gesendet: Dienstag, 1. Dezember 2026 10:00\nAn: Ana <ana@example.org>\n"
        f"Betreff: Eingang: Idee [WGIG-0001]\n\n{OLD}\n",
        NEW_DE,
        "",
    ),
    (
        "outlook-pt",
        f"{NEW_PT}\n\nDe: Consultation <contrib@consult.example.org>\n"
        "Enviado: terça-feira, 1 de dezembro de 2026 10:00\nPara: Ana <ana@example.org>\n"
        f"Assunto: Recebido: Ideia [WGIG-0001]\n\n{OLD}\n",
        NEW_PT,
        "",
    ),
    (
        "apple-mail-en",
        f"{NEW_EN}\n\n> On 1 Dec 2026, at 10:00, Consultation <contrib@consult.example.org>"
        " wrote:\n"
        f">\n{q()}\n",
        NEW_EN,
        "",
    ),
    (
        "apple-mail-fr",
        f"{NEW_FR}\n\n> Le 1 déc. 2026 à 10:00, Consultation <contrib@consult.example.org>"
        " a écrit :\n"
        f">\n{q()}\n",
        NEW_FR,
        "",
    ),
    (
        "iphone-es",
        f"{NEW_ES}\n\nEnviado desde mi iPhone\n\n"
        "El 1 dic 2026, a las 10:00, Consultation <contrib@consult.example.org> escribió:"
        f"\n\n{q()}\n",
        NEW_ES,
        "Enviado desde mi iPhone",
    ),
    (
        "signature-en",
        f"{NEW_EN}\n\n-- \nAna Pérez\nDigital Rights NGO\n\n"
        f"On 01/12/2026 10:00, Consultation wrote:\n{q()}\n",
        NEW_EN,
        "--",
    ),
    (
        "bottom-posting-fr",
        f"Le 01/12/2026 à 10:00, Consultation a écrit :\n{q()}\n\n{NEW_FR}\n",
        NEW_FR,
        "",
    ),
    (
        "interleaved-en",
        "> Tracking reference: WGIG-0001\n\nThanks for the reference.\n\n"
        "> Reply with STATUS WGIG-0001 to see where it stands.\n\n"
        "The forum must include parliamentarians.\n",
        "Thanks for the reference.\n\nThe forum must include parliamentarians.",
        "",
    ),
]
