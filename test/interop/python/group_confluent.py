#!/usr/bin/env python3
"""A consumer-group member with confluent-kafka (librdkafka), for the group acceptance tests
(see test/helpers/group-harness.ts for the stdout contract).

usage: group_confluent.py BOOTSTRAP TOPIC GROUP NAME [key=value ...]

key=value pairs are librdkafka settings (e.g. partition.assignment.strategy=cooperative-sticky,
group.instance.id=...). Offsets are stored only after a record was printed and flushed, and
committed by librdkafka's auto commit (every 300 ms). Closes the consumer when stdin ends.
"""
import json
import os
import sys
import threading

from confluent_kafka import Consumer, KafkaException


def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, topic, group, name = sys.argv[1:5]
    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": "confluent-" + name,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.commit.interval.ms": 300,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "max.poll.interval.ms": 20000,
        "error_cb": lambda err: out({"ev": "error", "msg": "error_cb: %s" % err}),
    }
    for kv in sys.argv[5:]:
        k, v = kv.split("=", 1)
        conf[k] = v
    consumer = Consumer(conf)
    current = set()

    # confluent-kafka 1.7 has no Consumer.rebalance_protocol(): the protocol follows the assignor.
    coop = "cooperative" in str(conf.get("partition.assignment.strategy", ""))

    def cooperative():
        return coop

    def on_assign(c, parts):
        nonlocal current
        ps = {p.partition for p in parts}
        if cooperative():
            current |= ps
            c.incremental_assign(parts)
        else:
            current = ps
            c.assign(parts)
        out({"ev": "assigned", "partitions": sorted(current), "protocol": "COOPERATIVE" if coop else "EAGER"})

    def on_revoke(c, parts):
        nonlocal current
        ps = {p.partition for p in parts}
        if cooperative():
            current -= ps
            c.incremental_unassign(parts)
        else:
            current = set()
            c.unassign()
        out({"ev": "revoked", "partitions": sorted(ps)})

    def on_lost(c, parts):
        nonlocal current
        ps = {p.partition for p in parts}
        if cooperative():
            current -= ps
            c.incremental_unassign(parts)
        else:
            current = set()
            c.unassign()
        out({"ev": "lost", "partitions": sorted(ps)})

    stop = threading.Event()

    def watch_stdin():
        try:
            while os.read(0, 256):
                pass
        except Exception:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    try:
        while not stop.is_set():
            msgs = consumer.consume(num_messages=500, timeout=0.2)
            lines = []
            good = []
            for m in msgs:
                if m.error():
                    out({"ev": "error", "msg": "consume: %s" % m.error()})
                    continue
                v = m.value()
                lines.append(json.dumps({"ev": "rec", "p": m.partition(), "o": m.offset(),
                                         "v": None if v is None else v.decode("utf-8")}))
                good.append(m)
            if lines:
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
                for m in good:
                    try:
                        consumer.store_offsets(message=m)
                    except KafkaException as e:
                        # The partition may have been revoked meanwhile.
                        out({"ev": "error", "msg": "store_offsets: %s" % e})
    finally:
        consumer.close()
        out({"ev": "closed"})
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
