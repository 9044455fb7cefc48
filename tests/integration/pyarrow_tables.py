"""Writes one seeded table as pyarrow writes it for pandas and polars users, and as CSV.

usage: pyarrow_tables.py DIR ROWS

DIR/t.parquet: every type a column can have, nulls in each, row groups of 9,000 rows (more
than a batch of the reader), dictionary-encoded and plain pages, zstd; DIR/int96.parquet:
the same with legacy INT96 timestamps, snappy; DIR/t.csv: the same values as text, which
mlops-ci reads the same way; DIR/nested.parquet: a list column; DIR/decimal.parquet: a
decimal column; DIR/empty.parquet: the schema and no rows. Prints the truth as JSON.
"""

import datetime
from decimal import Decimal
import json
import random
import struct
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out, rows = sys.argv[1], int(sys.argv[2])
rng = random.Random(11)
epoch = datetime.datetime(1970, 1, 1)


def maybe(value, p=0.05):
    return None if rng.random() < p else value


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


names = ["ana", "bo", "çé", "dmitrij", "émile", "fa"]
cols = {
    "i8": [maybe(rng.randint(-128, 127)) for _ in range(rows)],
    "u8": [maybe(rng.randint(0, 255)) for _ in range(rows)],
    "u32": [maybe(rng.randint(0, 4_000_000_000)) for _ in range(rows)],
    "u64": [maybe(rng.choice([0, 7, 2**63 + 2**20, 2**64 - 1])) for _ in range(rows)],
    "i32": [maybe(rng.randint(-(2**31), 2**31 - 1)) for _ in range(rows)],
    "i64": [maybe(i * 3 - 2**40) for i in range(rows)],
    "f32": [maybe(f32(rng.uniform(-1e3, 1e3))) for _ in range(rows)],
    "f64": [maybe(rng.gauss(0, 1)) for _ in range(rows)],
    "flag": [maybe(rng.random() < 0.3) for _ in range(rows)],
    "day": [maybe(datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randint(0, 2000)))
            for _ in range(rows)],
    "name": [maybe(rng.choice(names) + str(rng.randint(0, 50))) for _ in range(rows)],
    "city": [maybe(rng.choice(["paris", "lima", "oslo"])) for _ in range(rows)],
    "email": [maybe(f"u{i}@x.org" if rng.random() > 0.01 else f"u{i}-at-x.org")
              for i in range(rows)],
}
seconds = [maybe(rng.randint(0, 2_000_000_000)) for _ in range(rows)]
stamps = [None if s is None else epoch + datetime.timedelta(seconds=s) for s in seconds]

types = {
    "i8": pa.int8(), "u8": pa.uint8(), "u32": pa.uint32(), "u64": pa.uint64(),
    "i32": pa.int32(), "i64": pa.int64(), "f32": pa.float32(), "f64": pa.float64(),
    "flag": pa.bool_(), "day": pa.date32(), "name": pa.string(), "city": pa.string(),
    "email": pa.large_string(),
}
arrays = {k: pa.array(v, type=types[k]) for k, v in cols.items()}
# pandas' categorical: a dictionary column
arrays["city"] = arrays["city"].dictionary_encode()
for unit, tz in [("s", None), ("ms", None), ("us", "UTC"), ("ns", None)]:
    arrays[f"ts_{unit}"] = pa.array(stamps, type=pa.timestamp(unit, tz=tz))
table = pa.table(arrays)
pq.write_table(table, f"{out}/t.parquet", row_group_size=9000, compression="zstd",
               use_dictionary=["name", "city", "flag"], version="2.6")
pq.write_table(table.select(["i64", "ts_ms", "ts_ns"]), f"{out}/int96.parquet",
               row_group_size=9000, compression="snappy", use_deprecated_int96_timestamps=True)
pq.write_table(table.slice(0, 0), f"{out}/empty.parquet")
pq.write_table(pa.table({"id": [1, 2], "tags": [["a"], ["b", "c"]]}), f"{out}/nested.parquet")
pq.write_table(
    pa.table({"id": [1, 2], "price": pa.array([Decimal("1.25"), None], type=pa.decimal128(9, 2))}),
    f"{out}/decimal.parquet")


def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


header = list(cols) + [f"ts_{u}" for u in ["s", "ms", "us", "ns"]]
with open(f"{out}/t.csv", "w", encoding="utf-8") as f:
    f.write(",".join(header) + "\n")
    for i in range(rows):
        stamp = None if stamps[i] is None else stamps[i].strftime("%Y-%m-%dT%H:%M:%SZ")
        cells = [text(cols[k][i]) for k in cols] + [stamp or ""] * 4
        f.write(",".join(cells) + "\n")

nulls = {k: sum(v is None for v in vs) for k, vs in cols.items()}
nulls.update({f"ts_{u}": sum(s is None for s in seconds) for u in ["s", "ms", "us", "ns"]})
truth = {
    "rows": rows,
    "nulls": nulls,
    "u64_max": max(v for v in cols["u64"] if v is not None),
    "seconds": [min(s for s in seconds if s is not None), max(s for s in seconds if s is not None)],
    "bad_emails": [[i + 1, v] for i, v in enumerate(cols["email"]) if v and "@" not in v],
}
print(json.dumps(truth))
