#!/usr/bin/env python3
"""Record timestamps with kafka-python: produces records with given CreateTime timestamps to
partition 0 of TOPIC in one batch, then asks the broker for offsets by timestamp
(ListOffsets, KafkaConsumer.offsets_for_times) and prints a JSON summary.

usage: timestamps.py BOOTSTRAP TOPIC TS[,TS...] QUERY[,QUERY...]
prints {"acked": [[offset, timestamp]...], "lookups": {query: [offset, timestamp] | null},
        "records": [[offset, timestamp, value]...], "errors": [...]}
"""
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    stamps = [int(x) for x in sys.argv[3].split(",")]
    queries = [int(x) for x in sys.argv[4].split(",")]
    errors = []
    acked = []

    # A long linger and one flush at the end put every record into one batch.
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1000, request_timeout_ms=30000)
    futures = [producer.send(topic, value=("ts-%d" % i).encode(), partition=0, timestamp_ms=ts)
               for i, ts in enumerate(stamps)]
    producer.flush(timeout=30)
    for i, f in enumerate(futures):
        try:
            md = f.get(timeout=1)
            acked.append([md.offset, md.timestamp])
        except Exception as e:  # noqa: BLE001 - reported in the summary
            errors.append("record %d: %r" % (i, e))
    producer.close(timeout=10)

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             request_timeout_ms=30000)
    tp = TopicPartition(topic, 0)
    lookups = {}
    for q in queries:
        try:
            r = consumer.offsets_for_times({tp: q}).get(tp)
            lookups[str(q)] = None if r is None else [r.offset, r.timestamp]
        except Exception as e:  # noqa: BLE001
            errors.append("offsets_for_times(%d): %r" % (q, e))
    consumer.assign([tp])
    consumer.seek(tp, 0)
    records = []
    deadline = time.monotonic() + 30
    while len(records) < len(stamps) and time.monotonic() < deadline:
        for msgs in consumer.poll(timeout_ms=500).values():
            for m in msgs:
                records.append([m.offset, m.timestamp, m.value.decode()])
    consumer.close()
    print(json.dumps({"acked": acked, "lookups": lookups, "records": records, "errors": errors}))


if __name__ == "__main__":
    main()
