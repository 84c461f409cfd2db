import net from 'node:net';

/**
 * The baseline: the least a server can do with the same traffic. Newline-JSON over TCP on
 * 127.0.0.1:0 — reads lines, JSON.parse, answers the handshake line with a handshakeComplete and
 * every `# echo <x>` analyze with one messageResponse-like line `에코: <x>`. No HMAC check, no
 * store, no actors, no pings. Prints `{"ready":true,"port":…}`; exits when stdin ends.
 */

const ECHO = '# echo ';

interface Analyze {
  room?: unknown;
  channelId?: unknown;
  botName?: unknown;
  text?: unknown;
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.setEncoding('utf8');
  let tail = '';
  let handshaken = false;
  socket.on('data', (chunk: string) => {
    const text = tail + chunk;
    let start = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', start)) {
      const line = text.slice(start, lf);
      start = lf + 1;
      let packet: { event?: unknown; data?: Analyze };
      try {
        packet = JSON.parse(line);
      } catch {
        continue;
      }
      if (!handshaken) {
        handshaken = true;
        const data = { success: true, approved: true, message: 'baseline', server_version: '1.0.0' };
        socket.write(`${JSON.stringify({ event: 'handshakeComplete', data })}\n`);
        continue;
      }
      const d = packet.data;
      if (packet.event !== 'analyze' || typeof d?.text !== 'string' || !d.text.startsWith(ECHO)) continue;
      const data = {
        room: d.room,
        channel_id: d.channelId,
        bot_name: d.botName,
        text: `에코: ${d.text.slice(ECHO.length)}`,
      };
      socket.write(`${JSON.stringify({ event: 'messageResponse', data })}\n`);
    }
    tail = text.slice(start);
  });
  socket.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ ready: true, port, setupMs: 0 })}\n`);
});

process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
