// Child process of bench/check-shard.bench.ts, run by the Lambda's Node (24):
//   node tls-floor.mjs <setup.json>     setup: { urls: string[], caPem: string }
// The TLS a check shard cannot do without, per cluster, and nothing else: CPU (process.cpuUsage,
// user + system) around one verified connection to each simulated cluster, one at a time.
// - cold: a new context holding the cluster's own CA (lambdas/adapters/tls/trust.ts's way: Node's
//   default context plus addCACert; each CA text differs, as in the shard bench), a full handshake,
//   Node's own verification (chain, then checkServerIdentity), close;
// - warm: the same context kept, the session of the cold connection offered: a resumed handshake.
// No HTTP request, no JSON, no report. One JSON line on stdout: every sample, in ms.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { connect, createSecureContext } from 'node:tls';

const { urls, caPem } = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function connectOnce(url, context, session) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const c0 = process.cpuUsage();
    const socket = connect({
      host: hostname,
      port: Number(port),
      ...(isIP(hostname) ? {} : { servername: hostname }),
      secureContext: context,
      rejectUnauthorized: true,
      ...(session ? { session } : {}),
    });
    let ticket;
    socket.on('session', (s) => {
      ticket = s;
    });
    socket.once('secureConnect', () => {
      const resumed = socket.isSessionReused();
      // TLS 1.3 tickets arrive after the handshake: wait for one before closing a full handshake
      // (a server that sends none is given a second; waiting is not CPU).
      let timer;
      const done = () => {
        clearTimeout(timer);
        socket.destroy();
        const used = process.cpuUsage(c0);
        resolve({ ms: (used.user + used.system) / 1000, resumed, ticket });
      };
      if (session || ticket) done();
      else {
        socket.once('session', done);
        timer = setTimeout(done, 1000);
      }
    });
    socket.once('error', reject);
  });
}

function newContext(i) {
  const context = createSecureContext();
  context.context.addCACert(`# pinned CA of floor-${i}\n${caPem}`);
  return context;
}

// One unmeasured pass: the process's first TLS context and handshake pay one-time costs.
await connectOnce(urls[0], newContext(-1));

const cold = [];
const warm = [];
let resumed = 0;
for (const [i, url] of urls.entries()) {
  const c0 = process.cpuUsage();
  const context = newContext(i);
  const made = process.cpuUsage(c0);
  const full = await connectOnce(url, context);
  cold.push((made.user + made.system) / 1000 + full.ms);
  const again = await connectOnce(url, context, full.ticket);
  warm.push(again.ms);
  if (again.resumed) resumed++;
}
process.stdout.write(`${JSON.stringify({ node: process.version, cold, warm, resumed })}\n`);
