# SASL OAUTHBEARER with confluent-kafka (librdkafka): its oauth_cb hands out the JWT in a file the
# test signed. argv: mode bootstrap topic token_file, then client settings as key=value.
#   roundtrip: produces 10 records and reads them back by assigned partition; prints "OK 10"
#   refused:   expects the login to fail; prints "REFUSED <librdkafka error>" (exit 0), or
#              "CONNECTED" (exit 1) if a record was delivered, "HUNG" (exit 2) if nothing happened
import sys
import time
from confluent_kafka import Producer, Consumer, TopicPartition, KafkaError

mode, bootstrap, topic, token_file = sys.argv[1:5]
conf = dict(a.split('=', 1) for a in sys.argv[5:])
conf.update({'bootstrap.servers': bootstrap, 'security.protocol': conf.get('security.protocol', 'SASL_PLAINTEXT'), 'sasl.mechanisms': 'OAUTHBEARER'})


def oauth_cb(_config):
    with open(token_file) as f:
        token = f.read().strip()
    # The client-side expiry only schedules librdkafka's refresh; the broker checks the token.
    return token, time.time() + 3600


conf['oauth_cb'] = oauth_cb

if mode == 'roundtrip':
    p = Producer(dict(conf, acks='all'))
    for i in range(10):
        p.produce(topic, value=('v%d' % i).encode())
    assert p.flush(30) == 0, 'not every record was delivered'
    c = Consumer(dict(conf, **{'group.id': 'oauth-python', 'enable.auto.commit': False}))
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
else:
    errors = []
    delivered = []
    p = Producer(dict(conf, **{'error_cb': errors.append, 'message.timeout.ms': 20000}))
    p.produce(topic, value=b'x', on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.time() + 25
    while time.time() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors) and not delivered:
        p.poll(0.2)
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    if auth:
        print('REFUSED', auth[0].str())
        sys.exit(0)
    if delivered and delivered[0] is None:
        print('CONNECTED')
        sys.exit(1)
    print('HUNG', [e.str() for e in errors])
    sys.exit(2)
