/**
 * One DNS exchange with one server: a question over UDP (TCP when the answer comes back truncated),
 * or an update over TCP (RFC 7766: reliable, no retransmission of an update that may have been
 * applied). Every attempt is bounded; the answer must come from the server asked, with the ID sent.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface ServerAddress {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port", or a host alone (port 53). */
export function parseServer(text: string, defaultPort = 53): ServerAddress {
  const bracketed = text.match(/^\[([^\]]+)\](?::(\d{1,5}))?$/);
  if (bracketed) return { host: bracketed[1] as string, port: Number(bracketed[2] ?? defaultPort) };
  const colons = (text.match(/:/g) ?? []).length;
  if (colons > 1) return { host: text, port: defaultPort }; // a bare IPv6 address
  const [host, port] = text.split(':') as [string, string | undefined];
  return { host, port: port === undefined ? defaultPort : Number(port) };
}

export const formatServer = ({ host, port }: ServerAddress) =>
  `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** A failure to get an answer at all (timeout, refused connection, garbled reply). */
export class DnsTransportError extends Error {
  override readonly name = 'DnsTransportError';
}

export interface ExchangeOptions {
  /** Per attempt. */
  timeoutMs: number;
  /** UDP attempts before giving up (each waits `timeoutMs`); TCP makes one. */
  attempts?: number;
  tcp?: boolean;
}

/** Sends `message` and returns the first reply carrying its ID. */
export async function exchange(
  server: ServerAddress,
  message: Buffer,
  options: ExchangeOptions,
): Promise<Buffer> {
  if (options.tcp) return overTcp(server, message, options.timeoutMs);
  const attempts = options.attempts ?? 2;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const answer = await overUdp(server, message, options.timeoutMs);
      // TC: the answer did not fit a datagram; ask again over TCP (RFC 7766 §5).
      if (((answer[2] ?? 0) & 0x02) !== 0) return overTcp(server, message, options.timeoutMs);
      return answer;
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

function overUdp(server: ServerAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // After parseServer only an IPv6 address holds a colon (a name or an IPv4 address never does):
    // the same test as formatServer, and cheaper than net.isIPv6, whose regular expression costs
    // ~4 ms to compile on its first use in a process (Node 20 and 24).
    const socket = dgram.createSocket(server.host.includes(':') ? 'udp6' : 'udp4');
    const id = message.readUInt16BE(0);
    const done = (error: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(
      () =>
        done(new DnsTransportError(`no answer from ${formatServer(server)} within ${timeoutMs} ms (UDP)`)),
      timeoutMs,
    );
    socket.on('error', (error) =>
      done(new DnsTransportError(`UDP to ${formatServer(server)}: ${error.message}`)),
    );
    socket.on('message', (answer) => {
      // Anything else arriving on our port (a late answer to an earlier attempt) is ignored.
      if (answer.length >= 12 && answer.readUInt16BE(0) === id) done(null, answer);
    });
    socket.connect(server.port, server.host, () => socket.send(message));
  });
}

function overTcp(server: ServerAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const done = (error: Error | null, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(answer as Buffer);
    };
    const timer = setTimeout(
      () =>
        done(new DnsTransportError(`no answer from ${formatServer(server)} within ${timeoutMs} ms (TCP)`)),
      timeoutMs,
    );
    socket.on('error', (error) =>
      done(new DnsTransportError(`TCP to ${formatServer(server)}: ${error.message}`)),
    );
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length < 2 + size) return;
      const answer = received.subarray(2, 2 + size);
      if (answer.length < 12 || answer.readUInt16BE(0) !== message.readUInt16BE(0))
        done(new DnsTransportError(`${formatServer(server)} answered another message over TCP`));
      else done(null, Buffer.from(answer));
    });
    socket.on('end', () =>
      done(new DnsTransportError(`${formatServer(server)} closed the TCP connection without an answer`)),
    );
  });
}
