// Runs the service in-process on a free loopback port with its logs captured,
// so tests can scan every line for secrets.
import { Writable } from 'node:stream';
import type { CredentialSource } from '@rotor/db-credentials';
import type { PostgresServer } from '@rotor/testbed';
import { loadConfig, type Config } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { Service } from '../src/service.ts';

export interface Running {
  service: Service;
  url: string;
  /** Every log line so far. */
  logs(): string;
  stop(): Promise<void>;
}

export function testConfig(db: PostgresServer, env: Record<string, string> = {}): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DB_HOST: db.host,
    DB_PORT: String(db.port),
    DB_NAME: db.database,
    SHUTDOWN_DELAY_MS: '0',
    LOG_LEVEL: 'debug',
    CREDENTIALS_MODE: 'static',
    DB_USER: 'set-by-source',
    DB_PASSWORD: 'set-by-source',
    ...env,
  });
}

export async function runService(config: Config, source?: CredentialSource): Promise<Running> {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const service = await Service.create({ config, logger: createLogger(config.logLevel, sink), ...(source ? { source } : {}) });
  try {
    const address = await service.listen();
    return { service, url: address, logs: () => lines.join(''), stop: () => service.stop('test over') };
  } catch (err) {
    await service.stop('listen failed');
    throw err;
  }
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function http(base: string, method: string, path: string, init: { body?: string | Buffer; json?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(init.timeoutMs ?? 15_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
