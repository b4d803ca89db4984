// hot_shots_mix.js - sends a fixed mix of metrics to scoreboard's StatsD
// port with the hot-shots client, then exits 0 (1 on any client error).
//
//   node hot_shots_mix.js PORT
//
// UDP client: buffered, so the whole mix leaves as one datagram of
// newline-separated lines and is aggregated in one flush interval; the
// expected aggregates are asserted by test_hot_shots.c. TCP client:
// counters and gauges only (their stored values do not depend on how
// the stream is split across intervals). No sample rates below 1: the
// client would drop values at random.
'use strict';

// DD_* variables would add global tags to every metric.
for (const k of Object.keys(process.env)) {
  if (k.startsWith('DD_')) delete process.env[k];
}
const StatsD = require('hot-shots');

const port = parseInt(process.argv[2], 10);
if (!(port > 0 && port < 65536)) {
  console.error('usage: node hot_shots_mix.js PORT');
  process.exit(2);
}

function fail(err) {
  console.error(`hot-shots error: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
}

function sendUdp(done) {
  const c = new StatsD({
    host: '127.0.0.1', port, protocol: 'udp', maxBufferSize: 8192,
    bufferFlushInterval: 60000, errorHandler: fail,
  });
  c.increment('hs.requests', 1, 1, { route: 'home' });
  c.increment('hs.requests', 5, 1, { route: 'home' });
  c.decrement('hs.requests', 2, 1, { route: 'home' });
  c.increment('hs.requests', 1, 1, { route: 'about' });
  c.gauge('hs.queue', 10);
  c.gaugeDelta('hs.queue', -3);
  for (const ms of [12, 7, 30, 18]) c.timing('hs.latency', ms, 1, { op: 'get' });
  for (const v of [100, 250, 50]) c.histogram('hs.payload', v);
  c.distribution('hs.dist', 2.5);
  c.distribution('hs.dist', 0.5);
  for (const u of ['ann', 'bob', 'ann', 'cy']) c.set('hs.users', u);
  c.flush((err) => {
    if (err) fail(err);
    c.close((err2) => (err2 ? fail(err2) : done()));
  });
}

function sendTcp(done) {
  const c = new StatsD({
    host: '127.0.0.1', port, protocol: 'tcp', errorHandler: fail,
  });
  let pending = 0;
  const sent = (err) => {
    if (err) fail(err);
    if (--pending === 0) {
      // Give the last segment time to leave before the socket is destroyed.
      setTimeout(() => c.close(() => done()), 200);
    }
  };
  const calls = [
    (cb) => c.increment('hs.tcp_events', 3, 1, { via: 'tcp' }, cb),
    (cb) => c.increment('hs.tcp_events', 4, 1, { via: 'tcp' }, cb),
    (cb) => c.gauge('hs.tcp_level', 42, 1, [], cb),
    (cb) => c.gaugeDelta('hs.tcp_level', 8, 1, [], cb),
  ];
  pending = calls.length;
  for (const call of calls) call(sent);
}

sendUdp(() => sendTcp(() => {
  console.log('hot-shots: mix sent');
  process.exit(0);
}));
