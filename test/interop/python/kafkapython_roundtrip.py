#!/usr/bin/env python3
"""Round trip with kafka-python: see test/interop/roundtrip.ts for the contract.

usage: kafkapython_roundtrip.py BOOTSTRAP TOPIC COUNT TOKEN COMPRESSION
"""
import json
import sys
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

TIMEOUT_S = 90.0


def key_of(i):
    return "key-%d" % (i % 13)


def value_of(token, i):
    return "%s|%d|%s%s" % (token, i, "\u00e9" * (i % 7), "z" * (i % 50))


def text(b):
    return None if b is None else b.decode("utf-8")


def main():
    bootstrap, topic, count, token, compression = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    errors = []
    delivered = [None] * count
    acked = 0

    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=None if compression == "none" else compression,
        linger_ms=5,
        # One request in flight per connection keeps the order of retried batches.
        max_in_flight_requests_per_connection=1,
        request_timeout_ms=int(TIMEOUT_S * 1000 / 3),
    )
    futures = []
    for i in range(count):
        futures.append(producer.send(topic, key=key_of(i).encode(), value=value_of(token, i).encode(),
                                     headers=[("seq", str(i).encode())]))
    producer.flush(timeout=TIMEOUT_S / 2)
    for i, f in enumerate(futures):
        try:
            md = f.get(timeout=1)
            delivered[i] = [md.partition, md.offset]
            acked += 1
        except Exception as e:  # noqa: BLE001 - reported in the summary
            if len(errors) < 20:
                errors.append("delivery of record %d failed: %r" % (i, e))
    producer.close(timeout=10)

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=int(TIMEOUT_S * 1000 / 3),
    )
    parts = consumer.partitions_for_topic(topic) or set()
    partitions = sorted(parts)
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    for tp in tps:
        consumer.seek(tp, 0)
    records = []
    deadline = time.monotonic() + TIMEOUT_S / 2
    while len(records) < count and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500)
        for tp in sorted(batch.keys(), key=lambda x: x.partition):
            for m in batch[tp]:
                hs = dict(m.headers or [])
                records.append([m.partition, m.offset, text(m.key), text(m.value), text(hs.get("seq"))])
    consumer.close()

    print(json.dumps({
        "client": "kafka-python %s" % kafka.__version__,
        "topic": topic,
        "partitions": len(partitions),
        "acked": acked,
        "errors": errors,
        "delivered": delivered,
        "records": records,
    }))


if __name__ == "__main__":
    main()
