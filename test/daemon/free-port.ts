import net from 'node:net';

/**
 * A TCP port free right now on 127.0.0.1, for a child daemon's admin endpoint (`admin.port` 0
 * means "off" there, so the test cannot ask for an ephemeral one).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
