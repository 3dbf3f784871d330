# Connects with SASL settings that must be refused; prints every error librdkafka reports
# through error_cb ("ERROR <name> <text>") and "REFUSED" once an authentication error was seen.
# argv: bootstrap, then client settings as key=value.
import sys
from confluent_kafka import KafkaError, Producer
conf = dict(a.split('=', 1) for a in sys.argv[2:])
conf['bootstrap.servers'] = sys.argv[1]
seen = []
def on_error(err):
    print('ERROR', err.name(), err.str(), flush=True)
    seen.append(err.code())
conf['error_cb'] = on_error
p = Producer(conf)
for _ in range(60):
    p.poll(0.5)
    if KafkaError._AUTHENTICATION in seen:
        print('REFUSED')
        sys.exit(0)
sys.exit(2)
