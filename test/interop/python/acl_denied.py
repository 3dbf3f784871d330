# What python confluent-kafka reports to a principal without ACLs: produces one record to the
# topic and prints the delivery error, then consumes with the group and prints the first error.
# argv: bootstrap topic group, then client settings as key=value.
import sys
from confluent_kafka import Producer, Consumer
bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
conf = dict(a.split('=', 1) for a in sys.argv[4:])
conf['bootstrap.servers'] = bootstrap
errors = []
p = Producer(dict(conf, acks='all', **{'message.timeout.ms': 10000}))
p.produce(topic, value=b'x', on_delivery=lambda err, msg: errors.append(err))
p.flush(20)
print('PRODUCE', errors[0].name() if errors and errors[0] else 'OK', errors[0].str() if errors and errors[0] else '')
c = Consumer(dict(conf, **{'group.id': group, 'auto.offset.reset': 'earliest'}))
c.subscribe([topic])
seen = None
for _ in range(60):
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        seen = m.error()
        break
    seen = 'RECORD'
    break
c.close()
print('CONSUME', seen.name() if hasattr(seen, 'name') else seen, seen.str() if hasattr(seen, 'str') else '')
