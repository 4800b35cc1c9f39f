"""Frozen: generates the tiny-gpt corpus: training text, and the held-out validation text.

No download: the text is generated from a small story grammar with a fixed seed
(Python's random.Random is stable across versions for an int seed), so every
machine prepares byte-identical data. The grammar has structure at several
scales for a model to find: spelling, agreement (a name and its pronoun),
facts repeated inside a paragraph, and small sums. The validation text goes to
AUTORESEARCH_HELDOUT (prepare.heldOut), which the runner shows to evaluate.py and
never to train.py. The training budget is the manifest's (train.workBudget).
"""
import json
import os
import random

DATA_SEED = 20240611
TRAIN_CHARS = 600_000
VAL_CHARS = 40_000

PEOPLE = [("anna", "she"), ("ben", "he"), ("clara", "she"), ("david", "he"), ("emma", "she"),
          ("felix", "he"), ("grace", "she"), ("hugo", "he"), ("iris", "she"), ("jonas", "he"),
          ("kate", "she"), ("leo", "he"), ("mia", "she"), ("noah", "he"), ("olga", "she"), ("paul", "he")]
PLACES = ["market", "river", "library", "garden", "station", "harbour", "forest", "bakery", "school", "castle"]
THINGS = ["apple", "book", "lamp", "coin", "letter", "basket", "hat", "key", "map", "cup", "stone", "shell"]
COLOURS = ["red", "blue", "green", "yellow", "black", "white", "brown", "grey"]
MOODS = ["happy", "tired", "hungry", "curious", "quiet", "proud", "worried", "calm"]
WEATHER = ["it was raining", "the sun was shining", "a cold wind blew", "the sky was grey", "snow was falling"]
NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen"]


def plural(thing, n):
    return thing if n == 1 else thing + "s"


def paragraph(rng):
    (name, pron), (friend, fpron) = rng.sample(PEOPLE, 2)
    place, other = rng.sample(PLACES, 2)
    thing = rng.choice(THINGS)
    colour = rng.choice(COLOURS)
    a, b = rng.randint(1, 9), rng.randint(1, 9)
    cap = lambda s: s[0].upper() + s[1:]
    options = [
        f"{cap(name)} went to the {place} because {pron} was {rng.choice(MOODS)}.",
        f"{cap(rng.choice(WEATHER))}, so {name} stayed near the {place}.",
        f"At the {place}, {name} found a {colour} {thing}.",
        f"{cap(pron)} showed the {colour} {thing} to {friend}.",
        f"{cap(friend)} said that {fpron} had seen a {colour} {thing} at the {other}.",
        f"{cap(name)} had {NUMBERS[a]} {plural(thing, a)} and {friend} gave {NUMBERS[b]} more, "
        f"so now {pron} had {NUMBERS[a + b]} {plural(thing, a + b)}.",
        f"Later {name} and {friend} walked from the {place} to the {other}.",
        f"\"Where is my {thing}?\" asked {friend}. \"It is at the {place},\" said {name}.",
        f"{cap(friend)} was {rng.choice(MOODS)}, but {name} was {rng.choice(MOODS)}.",
    ]
    count = rng.randint(3, 6)
    picks = [options[0]] + rng.sample(options[1:], count - 1)
    return " ".join(picks) + "\n"


def corpus(rng, n_chars):
    parts, size = [], 0
    while size < n_chars:
        p = paragraph(rng)
        parts.append(p)
        size += len(p)
    return "".join(parts)[:n_chars]


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    out = os.environ["AUTORESEARCH_DATA"]
    held_out = os.environ["AUTORESEARCH_HELDOUT"]
    rng = random.Random(DATA_SEED)
    train = corpus(rng, TRAIN_CHARS)
    val = corpus(rng, VAL_CHARS)
    vocab = sorted(set(train) | set(val))
    write(os.path.join(out, "train.txt"), train)
    write(os.path.join(held_out, "val.txt"), val)
    write(os.path.join(out, "meta.json"), json.dumps({"vocab": "".join(vocab)}))
    print(f"prepared {len(train)} train characters in {out} and {len(val)} held-out val characters in {held_out}, vocabulary of {len(vocab)}")


if __name__ == "__main__":
    main()
