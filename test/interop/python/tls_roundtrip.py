# Produces 10 records over SSL (or mutual TLS) with confluent-kafka and reads them back by
# assigned partition; prints "OK 10". argv: bootstrap topic, then client settings as key=value.
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
bootstrap, topic = sys.argv[1], sys.argv[2]
conf = dict(a.split('=', 1) for a in sys.argv[3:])
conf['bootstrap.servers'] = bootstrap
p = Producer(dict(conf, acks='all'))
for i in range(10):
    p.produce(topic, value=('v%d' % i).encode())
assert p.flush(30) == 0, 'not every record was delivered'
c = Consumer(dict(conf, **{'group.id': 'tls-python', 'enable.auto.commit': False}))
c.assign([TopicPartition(topic, 0, 0)])
got = []
for _ in range(200):
    if len(got) >= 10:
        break
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
c.close()
assert got == ['v%d' % i for i in range(10)], got
print('OK', len(got))
