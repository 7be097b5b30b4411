import { createServer } from 'node:net';

/**
 * A port that is free on `host` right now. The kernel picks it (port 0), so
 * parallel test runs never collide on a fixed number.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error(`no port assigned on ${host}`));
      });
    });
  });
}
