"""Generated consultations for the campaign bench and tests: campaigns (one letter sent many
times, each copy edited: greeting, signature, 0-3 added sentences, words changed, paragraphs
reordered) and original contributions, with the truth (which campaign each text belongs to)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

GREETINGS = ("Dear Sir or Madam,", "Hello,", "To the working group:", "Dear members,", "Hi,",
             "Good morning,", "To whom it may concern,", "Dear chair,", "")  # fmt: skip
CLOSINGS = ("Best regards,", "Sincerely,", "Thank you,", "Kind regards,", "Cheers,", "")


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """Pseudo-words, drawn later with a Zipf-like skew (a few are very common, as in text)."""
    letters = "abcdefghijklmnoprstuvwy"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(size)]


@dataclass
class Writer:
    rng: random.Random
    words: list[str]

    def word(self) -> str:
        # Zipf-like: index ~ size ** u, so short common words recur across all texts.
        return self.words[int(len(self.words) ** self.rng.random()) - 1]

    def sentence(self) -> str:
        text = " ".join(self.word() for _ in range(self.rng.randint(8, 20)))
        return text.capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))

    def letter(self) -> list[str]:
        return [self.paragraph() for _ in range(self.rng.randint(3, 5))]


def edited_copy(writer: Writer, paragraphs: list[str], n: int) -> str:
    """One copy of a campaign letter, as a participant sends it."""
    rng = writer.rng
    body = list(paragraphs)
    if rng.random() < 0.3:
        rng.shuffle(body)
    for _ in range(rng.randint(0, 3)):  # sentences of their own
        at = rng.randrange(len(body))
        body[at] = body[at] + " " + writer.sentence()
    for _ in range(rng.randint(0, 4)):  # words changed
        at = rng.randrange(len(body))
        tokens = body[at].split()
        tokens[rng.randrange(len(tokens))] = writer.word()
        body[at] = " ".join(tokens)
    greeting, closing = rng.choice(GREETINGS), rng.choice(CLOSINGS)
    name = f"{writer.word().capitalize()} {writer.word().capitalize()} {n}"
    return "\n\n".join(p for p in (greeting, *body, f"{closing}\n{name}") if p)


def generate(
    *, campaigns: int, originals: int, min_copies: int, max_copies: int, total: int, seed: int = 16
) -> Iterator[tuple[str, int]]:
    """(text, truth) in a shuffled arrival order; truth is the campaign number, or -1-i for
    the i-th original (a class of its own). Campaign sizes are drawn in [min, max] and scaled
    so that all of them add up to total - originals."""
    rng = random.Random(seed)
    writer = Writer(rng, vocabulary(rng))
    raw = [rng.randint(min_copies, max_copies) for _ in range(campaigns)]
    budget = total - originals
    sizes = [max(min_copies, min(max_copies, round(r * budget / sum(raw)))) for r in raw]
    letters = [writer.letter() for _ in range(campaigns)]
    order: list[int] = [c for c, size in enumerate(sizes) for _ in range(size)]
    order += [-1 - i for i in range(originals)]
    rng.shuffle(order)
    for n, truth in enumerate(order):
        if truth >= 0:
            yield edited_copy(writer, letters[truth], n), truth
        else:
            yield "\n\n".join(writer.letter()[: rng.randint(1, 4)]), truth


def pair_scores(predicted: list[int], truth: list[int]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against the truth."""

    def pairs(counts: dict[object, int]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both: dict[object, int] = {}
    pred: dict[object, int] = {}
    real: dict[object, int] = {}
    for p, t in zip(predicted, truth, strict=True):
        both[(p, t)] = both.get((p, t), 0) + 1
        pred[p] = pred.get(p, 0) + 1
        real[t] = real.get(t, 0) + 1
    tp = pairs(both)
    return (tp / pairs(pred) if pairs(pred) else 1.0), (tp / pairs(real) if pairs(real) else 1.0)
