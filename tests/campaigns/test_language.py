"""Language identification: 22 languages written for the test (Arabic, Chinese, Hindi,
Russian and Swahili among them), short texts falling back, answers in a language we have."""

from __future__ import annotations

from sqlmodel import Session, select

from mailbot import language
from mailbot.app import App
from mailbot.language import SAMPLE_CHARS, detect, reply_language, sample, text_language
from mailbot.models import Contribution, Participant
from tests.campaigns.language_samples import SAMPLES
from tests.commands.commands_support import ingest, mail, outbox


def test_long_texts_in_twenty_languages() -> None:
    assert len(SAMPLES) >= 20
    for must in ("ar", "zh", "hi", "ru", "sw"):
        assert must in SAMPLES
    for lang, (long, _) in SAMPLES.items():
        assert len(long.split()) >= 20 or lang in ("zh", "ja"), lang  # CJK: no spaces
    right = [lang for lang, (long, _) in SAMPLES.items() if detect(long) == lang]
    accuracy = len(right) / len(SAMPLES)
    assert accuracy >= 0.9, sorted(set(SAMPLES) - set(right))


def test_short_texts_fall_back() -> None:
    """A short text says too little: Content-Language, then the participant's LANGUAGE."""
    said = {lang: detect(short) for lang, (_, short) in SAMPLES.items()}
    assert all(got in (None, lang) for lang, got in said.items()), said  # never a wrong guess
    assert sum(got is None for got in said.values()) >= 18  # "Muchas gracias" says too little
    thanks = SAMPLES["es"][1]
    short = detect(thanks)
    assert text_language(detected=short, content_language="pt-BR", default="en") == "pt"
    got = text_language(
        detected=short, content_language=None, default="en", participant_language="fr"
    )
    assert got == "fr"
    assert text_language(detected=short, content_language=None, default="en") == "en"
    # A long text is read, whatever the header says.
    swahili = detect(SAMPLES["sw"][0])
    assert text_language(detected=swahili, content_language="en", default="en") == "sw"


def test_the_model_reads_a_bounded_sample_of_words() -> None:
    long, _ = SAMPLES["de"]
    text = "\n\n".join([long] * 40)
    words = " ".join(language.WORD.findall(text))  # what the model read before: 5,000 chars
    head = sample(text)
    assert SAMPLE_CHARS - 30 < len(head) <= SAMPLE_CHARS < len(words)
    assert words.startswith(head + " ")  # the start, cut between two words
    assert sample("x" * 3000) == "x" * SAMPLE_CHARS  # one long word (CJK): cut in it
    assert sample("Ana, 12 rue X: https://a.org/b") == "Ana rue X https a org b"
    assert detect(text) == "de"


def test_a_text_read_before_is_not_classified_again() -> None:
    long, _ = SAMPLES["fr"]
    detect(long + " premier")
    before = language._classify.cache_info()
    assert detect(long + " premier") == "fr"
    after = language._classify.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)


def test_reply_language_needs_templates() -> None:
    have = ("en", "fr", "es")
    assert reply_language(supported=have, default="en", preferred=("pt", "fr")) == "fr"
    assert reply_language(supported=have, default="en", preferred=("ar", None)) == "en"


def test_contributions_are_labelled_and_answered(app: App) -> None:
    """Filed with the text's language; answered in it when there are templates, else in
    the default; a participant's LANGUAGE choice comes first."""
    ingest(app, mail(sender="ana@example.pt", body=SAMPLES["pt"][0]))
    ingest(app, mail(sender="claire@example.fr", body=SAMPLES["fr"][0]))
    ingest(app, mail(sender="amani@example.ke", body=SAMPLES["sw"][0]))
    with Session(app.engine) as s:
        langs = [c.language for c in s.exec(select(Contribution).order_by(Contribution.id))]  # type: ignore[arg-type]
        # Amani chooses French (LANGUAGE), then writes in Swahili again.
        amani = s.exec(select(Participant).where(Participant.email == "amani@example.ke")).one()
        amani.language = "fr"
        s.add(amani)
        s.commit()
    assert langs == ["pt", "fr", "sw"]
    ingest(app, mail(sender="amani@example.ke", body=SAMPLES["sw"][0] + " Asante."))
    acks = outbox(app, "ack")
    assert [a["Content-Language"] for a in acks] == ["en", "fr", "en", "fr"]
