import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every counter the gateway keeps (README "Metrics and health"). One registry per gateway instance,
 * so tests can run several gateways in one process. Hot paths only call inc()/observe().
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  // prom-client's standard names (process_cpu_seconds_total, nodejs_heap_size_used_bytes, …), no prefix
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const m = {
    registry,
    connections: new Gauge({
      name: 'msgbot_connections',
      help: 'live connections by state and standing',
      labelNames: ['state', 'standing'] as const,
      registers,
    }),
    connectionsRefused: new Counter({
      name: 'msgbot_connections_refused_total',
      help: 'sockets closed at once: a cap was reached, or (reason="tls") a failed TLS handshake such as a plain-TCP client on the TLS port',
      labelNames: ['reason'] as const,
      registers,
    }),
    handshakes: new Counter({
      name: 'msgbot_handshakes_total',
      help: 'handshakes by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    closes: new Counter({
      name: 'msgbot_connection_closes_total',
      help: 'closed connections by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    authFailures: new Counter({
      name: 'msgbot_auth_failures_total',
      help: 'packets dropped for a bad or missing auth object, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    packetsIn: new Counter({
      name: 'msgbot_packets_in_total',
      help: 'client packets by event',
      labelNames: ['event'] as const,
      registers,
    }),
    packetsOut: new Counter({
      name: 'msgbot_packets_out_total',
      help: 'server packets by event',
      labelNames: ['event'] as const,
      registers,
    }),
    badLines: new Counter({
      name: 'msgbot_bad_lines_total',
      help: 'lines ignored, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    mailboxDepth: new Gauge({ name: 'msgbot_mailbox_depth', help: 'messages waiting in the mailbox', registers }),
    mailboxRefusals: new Counter({
      name: 'msgbot_mailbox_refusals_total',
      help: 'messages refused because the mailbox was full (the connection paused)',
      registers,
    }),
    readPauses: new Counter({
      name: 'msgbot_read_pauses_total',
      help: 'times a connection paused reading its socket for backpressure',
      registers,
    }),
    messages: new Counter({
      name: 'msgbot_messages_total',
      help: 'chat messages by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    processingSeconds: new Histogram({
      name: 'msgbot_processing_seconds',
      help: 'time from acceptance to the end of processing',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300],
      registers,
    }),
    gateWaitSeconds: new Histogram({
      name: 'msgbot_gate_wait_seconds',
      help: 'time a message waited in the mailbox for a worker and its gates',
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
    workerRestarts: new Counter({ name: 'msgbot_worker_restarts_total', help: 'crashed workers restarted', registers }),
    pingsSent: new Counter({ name: 'msgbot_pings_sent_total', help: 'server pings sent', registers }),
    pingsAnswered: new Counter({ name: 'msgbot_pings_answered_total', help: 'ping replies received', registers }),
    pingRttSeconds: new Histogram({
      name: 'msgbot_ping_rtt_seconds',
      help: 'round-trip time of pings this server issued',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    zombieCloses: new Counter({
      name: 'msgbot_zombie_closes_total',
      help: 'connections closed after read silence',
      registers,
    }),
    repliesTruncated: new Counter({
      name: 'msgbot_replies_truncated_total',
      help: 'reply texts cut to the text limit',
      registers,
    }),
    repliesUndelivered: new Counter({
      name: 'msgbot_replies_undelivered_total',
      help: 'replies that failed on the outbound path (phone away past outbound.holdMs, message abandoned, shutdown)',
      registers,
    }),
    sends: new Counter({
      name: 'msgbot_sends_total',
      help: 'sends of the outbound paths by kind (reply, scheduled, api) and outcome (delivered or the failure reason)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    outboundQueued: new Gauge({
      name: 'msgbot_outbound_queued',
      help: 'sends waiting on the outbound paths (room gap, media wait, phone away)',
      registers,
    }),
    // DESIGN.md §2 durable mailbox, PROTOCOL §5.3.1 [REC]: what survived a restart or a reconnect
    durability: new Counter({
      name: 'msgbot_durability_total',
      help: 'held-before-handshake lines, replayed and expired messages, duplicates caught after a restart, replies not re-sent after a restart, inbox write errors',
      labelNames: ['event'] as const,
      registers,
    }),
    // DESIGN.md §2 outbound path, durable: API and scheduled sends kept in msgbot_outbox
    outbox: new Counter({
      name: 'msgbot_outbox_total',
      help: 'the send record: API sends re-submitted or expired at start, ctx.sends of replayed messages not sent again, schedule runs resumed or closed after a restart, write and read errors',
      labelNames: ['event'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'msgbot_duplicates_total',
      help: 'analyze packets dropped as repeats of (channelId, logId)',
      registers,
    }),
    telemetryBuffered: new Gauge({
      name: 'msgbot_telemetry_buffered',
      help: 'telemetry rows waiting to be written',
      registers,
    }),
    telemetryDropped: new Counter({
      name: 'msgbot_telemetry_dropped_total',
      help: 'telemetry rows dropped because the buffer was full',
      labelNames: ['table'] as const,
      registers,
    }),
    telemetryWritten: new Counter({
      name: 'msgbot_telemetry_written_total',
      help: 'telemetry rows written',
      labelNames: ['table'] as const,
      registers,
    }),
    storeErrors: new Counter({
      name: 'msgbot_store_errors_total',
      help: 'failed database calls by operation',
      labelNames: ['op'] as const,
      registers,
    }),
    eventLoopLagSeconds: new Gauge({
      name: 'msgbot_event_loop_lag_seconds',
      help: 'event-loop delay (p99 over the last interval)',
      registers,
    }),
    // PROTOCOL §7.12: success | partial | failed as logged in kb_schedule_logs, skipped = claimed elsewhere
    scheduleRuns: new Counter({
      name: 'msgbot_schedule_runs_total',
      help: 'scheduled messages run, by outcome (success, partial, failed, skipped)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
