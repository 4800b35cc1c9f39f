"""Frozen: writes the corpus the compressor is scored on.

Three files of different kinds (prose, a CSV table, a JSON log), generated from
DATA_SEED alone, so every machine prepares byte-identical data whatever the seed.
"""
import json
import os
import random

DATA_SEED = 20260105
TEXT_BYTES = 24000
CSV_ROWS = 330
LOG_LINES = 110


def word(rng):
    syllables = ["ka", "ri", "to", "sen", "mar", "lo", "qui", "ve", "dan", "es", "ul", "pha", "or", "ne", "th", "ing"]
    return "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))


def prose(rng):
    vocabulary = sorted({word(rng) for _ in range(600)})
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    out = []
    size = 0
    while size < TEXT_BYTES:
        words = rng.choices(vocabulary, weights, k=rng.randint(6, 18))
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!", ";"])
        if rng.random() < 0.12:
            sentence += "\n\n"
        else:
            sentence += " "
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:TEXT_BYTES]


def table(rng):
    cities = ["Lisbon", "Oslo", "Quito", "Nairobi", "Osaka", "Lyon", "Perth", "Tromso"]
    items = ["bolt", "gear", "valve", "spring", "washer", "bearing"]
    rows = ["date,order_id,city,item,quantity,unit_price,status"]
    order = 100000
    for i in range(CSV_ROWS):
        order += rng.randint(1, 9)
        day = 1 + i // 12
        rows.append(",".join([
            f"2025-{1 + day // 28:02d}-{1 + day % 28:02d}", str(order), rng.choice(cities), rng.choice(items),
            str(rng.randint(1, 40)), f"{rng.choice([0.25, 0.5, 1.2, 3.75, 9.99]):.2f}",
            rng.choice(["shipped", "shipped", "shipped", "pending", "returned"]),
        ]))
    return "\n".join(rows) + "\n"


def log(rng):
    services = ["api", "auth", "billing", "search"]
    lines = []
    t = 1767225600
    for _ in range(LOG_LINES):
        t += rng.randint(0, 30)
        status = rng.choice([200, 200, 200, 200, 201, 304, 404, 500])
        lines.append(json.dumps({
            "ts": t, "service": rng.choice(services), "level": "error" if status >= 500 else "info",
            "path": f"/v1/{rng.choice(['users', 'orders', 'items'])}/{rng.randint(1, 500)}",
            "status": status, "ms": rng.randint(1, 900),
        }, sort_keys=True))
    return "\n".join(lines) + "\n"


def main():
    out = os.environ["AUTORESEARCH_DATA"]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(DATA_SEED)
    corpus = {"prose.txt": prose(rng), "orders.csv": table(rng), "events.jsonl": log(rng)}
    for name, text in corpus.items():
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump(sorted(corpus), f)
    total = sum(len(t.encode()) for t in corpus.values())
    print(f"prepared {len(corpus)} files, {total} bytes, in {out}")


if __name__ == "__main__":
    main()
