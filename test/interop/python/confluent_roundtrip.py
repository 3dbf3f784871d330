#!/usr/bin/env python3
"""Round trip with confluent-kafka (librdkafka): see test/interop/roundtrip.ts for the contract.

usage: confluent_roundtrip.py BOOTSTRAP TOPIC COUNT TOKEN COMPRESSION
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

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
    acked = [0]

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "compression.type": compression,
        "linger.ms": 5,
        "message.timeout.ms": int(TIMEOUT_S * 1000 / 2),
    })

    def report(i):
        # Delivery reports do not carry the headers, so each record gets its own callback.
        return lambda err, msg: on_delivery(i, err, msg)

    def on_delivery(i, err, msg):
        if err is not None:
            if len(errors) < 20:
                errors.append("delivery of record %d failed: %s" % (i, err))
            return
        acked[0] += 1
        delivered[i] = [msg.partition(), msg.offset()]

    for i in range(count):
        while True:
            try:
                producer.produce(topic, key=key_of(i).encode(), value=value_of(token, i).encode(),
                                 headers=[("seq", str(i).encode())], on_delivery=report(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(TIMEOUT_S / 2)
    if left:
        errors.append("%d records still undelivered after flush" % left)

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        # Partitions are assigned by hand and nothing is committed, so no group is used;
        # confluent-kafka 1.x refuses to create a Consumer without a group.id all the same.
        "group.id": "rivulet-interop-unused-" + token,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    md = consumer.list_topics(topic, timeout=10)
    tmd = md.topics[topic]
    if tmd.error is not None:
        errors.append("metadata for %s: %s" % (topic, tmd.error))
    partitions = sorted(tmd.partitions.keys())
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    records = []
    deadline = time.monotonic() + TIMEOUT_S / 2
    while len(records) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if len(errors) < 20:
                errors.append("consume: %s" % msg.error())
            continue
        hs = dict(msg.headers() or [])
        records.append([msg.partition(), msg.offset(), text(msg.key()), text(msg.value()), text(hs.get("seq"))])
    consumer.close()

    print(json.dumps({
        "client": "confluent-kafka %s (librdkafka %s)" % (__import__("confluent_kafka").version()[0],
                                                          __import__("confluent_kafka").libversion()[0]),
        "topic": topic,
        "partitions": len(partitions),
        "acked": acked[0],
        "errors": errors,
        "delivered": delivered,
        "records": records,
    }))


if __name__ == "__main__":
    main()
