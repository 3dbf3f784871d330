// Prometheus metrics of one broker. Names follow the rivulet_ prefix; process and
// event-loop metrics come from prom-client's defaults.

import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class BrokerMetrics {
  readonly registry: Registry;
  readonly connectionsActive: Gauge;
  readonly connectionsTotal: Counter;
  readonly requests: Counter<'api'>;
  readonly responseErrors: Counter<'api' | 'error'>;
  readonly connectionsClosedForBadInput: Counter<'reason'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly producedBytes: Counter<'topic'>;
  readonly fetchedBytes: Counter<'topic'>;

  constructor() {
    this.registry = new Registry();
    collectDefaultMetrics({ register: this.registry, prefix: 'rivulet_' });
    const r = [this.registry];
    this.connectionsActive = new Gauge({ name: 'rivulet_connections_active', help: 'Open client connections', registers: r });
    this.connectionsTotal = new Counter({ name: 'rivulet_connections_total', help: 'Client connections accepted', registers: r });
    this.requests = new Counter({ name: 'rivulet_requests_total', help: 'Requests handled, by API', labelNames: ['api'], registers: r });
    this.responseErrors = new Counter({
      name: 'rivulet_response_errors_total',
      help: 'Error codes returned in responses (one per topic, partition or resource that failed), by API and Kafka error name',
      labelNames: ['api', 'error'],
      registers: r,
    });
    this.connectionsClosedForBadInput = new Counter({
      name: 'rivulet_connections_closed_bad_input_total',
      help: 'Connections closed because a client sent something that could not be answered',
      labelNames: ['reason'],
      registers: r,
    });
    this.bytesIn = new Counter({ name: 'rivulet_network_bytes_in_total', help: 'Bytes received from clients', registers: r });
    this.bytesOut = new Counter({ name: 'rivulet_network_bytes_out_total', help: 'Bytes sent to clients', registers: r });
    this.producedBytes = new Counter({ name: 'rivulet_topic_bytes_in_total', help: 'Record batch bytes appended, by topic', labelNames: ['topic'], registers: r });
    this.fetchedBytes = new Counter({ name: 'rivulet_topic_bytes_out_total', help: 'Record batch bytes sent to consumers, by topic', labelNames: ['topic'], registers: r });
  }
}
