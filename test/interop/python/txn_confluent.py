#!/usr/bin/env python3
"""Transactions with confluent-kafka (librdkafka), for transactions-python.test.ts.

Proves that a broker's transaction coordinator and read_committed fetch work for librdkafka:
committed and aborted transactions (produce / consume: see test/interop/transactions.ts for
the contract), and a consume-transform-produce loop whose input offsets go into each
transaction with send_offsets_to_transaction.

usage:
  txn_confluent.py produce BOOTSTRAP TOPIC TXN_ID TOKEN TXNS PER_TXN ABORT_EVERY
  txn_confluent.py consume BOOTSTRAP TOPIC ISOLATION
  txn_confluent.py fill BOOTSTRAP TOPIC COUNT TOKEN
      writes COUNT records (idempotent, not transactional), record i to partition i % partitions,
      value TOKEN|in|i
  txn_confluent.py ctp BOOTSTRAP INPUT OUTPUT GROUP TXN_ID BATCH ABORT_EVERY
      subscribes to INPUT in GROUP (read_committed, no auto commit); for every BATCH records
      polled: begin a transaction, produce "out|" + value to the same partition of OUTPUT,
      send_offsets_to_transaction(consumer.position(assignment), consumer_group_metadata()),
      then commit, or abort every ABORT_EVERY-th transaction and rewind the consumer to where
      that transaction began. Stops when every input record is in a committed transaction.
      Prints { client, committed, aborted, abortedRecords (outputs of aborted transactions), sentOffsets (the offsets of the last committed
      transaction, per partition), groupOffsets (what the group has committed, read back by a
      new consumer), inputEnd, errors }.
Each mode prints one JSON object on stdout (last line).
"""
import json
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

TIMEOUT_S = 60.0


def client():
    return "confluent-kafka %s (librdkafka %s)" % (confluent_kafka.version()[0], confluent_kafka.libversion()[0])


def partitions_of(handle, topic, errors):
    deadline = time.monotonic() + TIMEOUT_S / 2
    while True:
        md = handle.list_topics(topic, timeout=10)
        tmd = md.topics.get(topic)
        if tmd is not None and tmd.error is None and tmd.partitions:
            return sorted(tmd.partitions.keys())
        if time.monotonic() > deadline:
            errors.append("metadata for %s: %s" % (topic, None if tmd is None else tmd.error))
            return []
        time.sleep(0.2)


def transactional_producer(bootstrap, txn_id):
    return Producer({
        "bootstrap.servers": bootstrap,
        "transactional.id": txn_id,
        "acks": "all",
        "linger.ms": 5,
        "transaction.timeout.ms": 30000,
        "message.timeout.ms": int(TIMEOUT_S * 1000 / 2),
    })


def produce(args):
    bootstrap, topic, txn_id, token = args[0], args[1], args[2], args[3]
    txns, per_txn, abort_every = int(args[4]), int(args[5]), int(args[6])
    errors, outcomes = [], []
    acks = [None] * (txns * per_txn)
    producer = transactional_producer(bootstrap, txn_id)

    def report(i):
        def on_delivery(err, msg):
            if err is not None:
                if len(errors) < 20:
                    errors.append("delivery of record %d failed: %s" % (i, err))
            else:
                acks[i] = "%d@%d" % (msg.partition(), msg.offset())
        return on_delivery

    parts = []
    try:
        producer.init_transactions(TIMEOUT_S)
        parts = partitions_of(producer, topic, errors)
        i = 0
        for t in range(txns):
            abort = (t + 1) % abort_every == 0
            producer.begin_transaction()
            for _ in range(per_txn):
                producer.produce(topic, key=("k%d" % i).encode(), value=("%s|%d|%d" % (token, t, i)).encode(),
                                 partition=i % len(parts), on_delivery=report(i))
                producer.poll(0)
                i += 1
            # Every record is acknowledged (in the log) before the transaction ends, aborted ones too.
            left = producer.flush(TIMEOUT_S / 2)
            if left:
                errors.append("transaction %d: %d records not delivered" % (t, left))
            if abort:
                producer.abort_transaction(TIMEOUT_S)
            else:
                producer.commit_transaction(TIMEOUT_S)
            outcomes.append("abort" if abort else "commit")
    except KafkaException as e:
        errors.append("producer: %s" % e)
    print(json.dumps({"client": client(), "partitions": len(parts), "outcomes": outcomes,
                      "acks": acks, "errors": errors}))


def consume(args):
    bootstrap, topic, isolation = args[0], args[1], args[2]
    errors, records = [], []
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        # assign() is used and nothing is committed; confluent-kafka 1.x wants a group.id all the same.
        "group.id": "rivulet-interop-unused",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "isolation.level": isolation,
    })
    parts = partitions_of(consumer, topic, errors)
    # For read_committed, the end is the last stable offset.
    end = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
    consumer.assign([TopicPartition(topic, p, 0) for p in parts])
    positions = {}
    deadline = time.monotonic() + TIMEOUT_S / 2
    while True:
        positions = {tp.partition: tp.offset for tp in consumer.position([TopicPartition(topic, p) for p in parts])}
        if all(positions[p] >= end[p] for p in parts) or time.monotonic() > deadline:
            break
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            errors.append("consume: %s" % msg.error())
            continue
        records.append([msg.partition(), msg.offset(), msg.value().decode()])
    # Nothing may arrive past the end offsets.
    late = consumer.poll(0.5)
    if late is not None and late.error() is None:
        records.append([late.partition(), late.offset(), late.value().decode()])
    positions = {tp.partition: tp.offset for tp in consumer.position([TopicPartition(topic, p) for p in parts])}
    consumer.close()
    print(json.dumps({"isolation": isolation, "endOffsets": {str(p): end[p] for p in parts},
                      "positions": {str(p): positions[p] for p in parts}, "records": records, "errors": errors}))


def fill(args):
    bootstrap, topic, count, token = args[0], args[1], int(args[2]), args[3]
    errors = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    parts = partitions_of(producer, topic, errors)
    for i in range(count):
        producer.produce(topic, value=("%s|in|%d" % (token, i)).encode(), partition=i % len(parts))
        producer.poll(0)
    left = producer.flush(TIMEOUT_S / 2)
    if left:
        errors.append("%d records undelivered" % left)
    print(json.dumps({"partitions": len(parts), "errors": errors}))


def ctp(args):
    bootstrap, input_topic, output_topic, group, txn_id = args[0], args[1], args[2], args[3], args[4]
    batch, abort_every = int(args[5]), int(args[6])
    errors = []
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": 10000,
    })
    producer = transactional_producer(bootstrap, txn_id)
    parts = partitions_of(consumer, input_topic, errors)
    input_end = {p: consumer.get_watermark_offsets(TopicPartition(input_topic, p), timeout=10)[1] for p in parts}
    committed_txns = aborted_txns = aborted_records = 0
    sent_offsets = {}
    try:
        producer.init_transactions(TIMEOUT_S)
        consumer.subscribe([input_topic])
        deadline = time.monotonic() + TIMEOUT_S * 2
        txn = 0
        while time.monotonic() < deadline:
            if sent_offsets and all(sent_offsets.get(p, 0) >= input_end[p] for p in parts):
                break
            msgs = [m for m in consumer.consume(batch, 0.5) if m.error() is None]
            if not msgs:
                continue
            assignment = consumer.assignment()
            # Where this transaction starts in each partition it reads, to rewind after an abort.
            first = {}
            for m in msgs:
                first.setdefault(m.partition(), m.offset())
            abort = (txn + 1) % abort_every == 0
            producer.begin_transaction()
            for m in msgs:
                producer.produce(output_topic, value=b"out|" + m.value(), partition=m.partition())
                producer.poll(0)
            # The outputs reach the log before the transaction ends: abort_transaction() would
            # purge the ones still queued, and an aborted transaction must leave records behind
            # for read_committed to skip.
            left = producer.flush(TIMEOUT_S / 2)
            if left:
                errors.append("transaction %d: %d outputs not delivered" % (txn, left))
            positions = consumer.position(assignment)
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), TIMEOUT_S)
            if abort:
                producer.abort_transaction(TIMEOUT_S)
                aborted_txns += 1
                aborted_records += len(msgs)
                for p, offset in first.items():
                    consumer.seek(TopicPartition(input_topic, p, offset))
            else:
                producer.commit_transaction(TIMEOUT_S)
                committed_txns += 1
                for tp in positions:
                    if tp.offset >= 0:
                        sent_offsets[tp.partition] = tp.offset
            txn += 1
        else:
            errors.append("input not consumed in time: sent %s, end %s" % (sent_offsets, input_end))
    except KafkaException as e:
        errors.append("ctp: %s" % e)
    consumer.close()

    # The group's committed offsets, read back by a consumer that does not join it.
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    group_offsets = {}
    try:
        for tp in reader.committed([TopicPartition(input_topic, p) for p in parts], timeout=10):
            group_offsets[str(tp.partition)] = tp.offset
    except KafkaException as e:
        errors.append("committed: %s" % e)
    reader.close()
    print(json.dumps({"client": client(), "committed": committed_txns, "aborted": aborted_txns, "abortedRecords": aborted_records,
                      "sentOffsets": {str(p): o for p, o in sorted(sent_offsets.items())},
                      "groupOffsets": group_offsets, "inputEnd": {str(p): input_end[p] for p in parts}, "errors": errors}))


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    {"produce": produce, "consume": consume, "fill": fill, "ctp": ctp}[mode](args)


if __name__ == "__main__":
    main()
