#!/usr/bin/env python3
"""A consumer-group member with kafka-python, for the group acceptance tests
(see test/helpers/group-harness.ts for the stdout contract).

usage: group_kafkapython.py BOOTSTRAP TOPIC GROUP NAME

Auto commit every 300 ms: kafka-python commits, inside poll(), the offsets of records that
earlier polls returned, which were printed and flushed by then. Closes the consumer when
stdin ends.
"""
import json
import os
import sys
import threading

from kafka import KafkaConsumer, ConsumerRebalanceListener


def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, topic, group, name = sys.argv[1:5]
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id="kafkapython-" + name,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        auto_commit_interval_ms=300,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=20000,
        request_timeout_ms=30000,
        fetch_max_wait_ms=200,
    )

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            out({"ev": "revoked", "partitions": sorted(tp.partition for tp in revoked)})

        def on_partitions_assigned(self, assigned):
            gen = None
            member = None
            try:
                g = consumer._coordinator._generation
                gen, member = g.generation_id, g.member_id
            except Exception:
                pass
            out({"ev": "assigned", "partitions": sorted(tp.partition for tp in consumer.assignment()), "gen": gen, "member": member})

    stop = threading.Event()

    def watch_stdin():
        try:
            while os.read(0, 256):
                pass
        except Exception:
            pass
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    consumer.subscribe(topics=[topic], listener=Listener())
    try:
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=200, max_records=500)
            lines = []
            for tp, recs in batches.items():
                for r in recs:
                    lines.append(json.dumps({"ev": "rec", "p": r.partition, "o": r.offset,
                                             "v": None if r.value is None else r.value.decode("utf-8")}))
            if lines:
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
    except Exception as e:
        out({"ev": "error", "msg": "poll: %r" % (e,)})
    finally:
        consumer.close()
        out({"ev": "closed"})
        sys.stdout.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
