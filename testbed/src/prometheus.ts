// Prometheus and promtool as built by testbed/build.sh (target prometheus): promtool for the
// rule and config checks, a real Prometheus server for the metrics-existence tests.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { prometheusBinary, promtoolBinary } from './binaries.ts';
import { freePort } from './ports.ts';
import { ServerProcess } from './process.ts';
import { waitFor } from './wait.ts';

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary to its end; never throws for a non-zero exit (the caller asserts). */
export function runTool(binary: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(binary, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr: err !== null && typeof err.code !== 'number' ? `${stderr}${err.message}` : stderr });
    });
  });
}

/** `promtool ARGS...` (throws TESTBED_NO_BINARY, naming the build command, when it is not built). */
export function promtool(args: string[], options: { cwd?: string } = {}): Promise<ToolRun> {
  return runTool(promtoolBinary(), args, options);
}

export interface PrometheusSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** An instant query's vector result; throws on a query error. */
  query(expr: string): Promise<PrometheusSample[]>;
  /** GET /api/v1/<path>'s data. */
  api<T>(path: string): Promise<T>;
  logTail(): string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** The configuration, as an object (written as prometheus.yml). */
  config: Record<string, unknown>;
  /** Extra files next to it (e.g. rule files the configuration names by relative path). */
  files?: Record<string, string>;
  timeoutMs?: number;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

/** A Prometheus server on a free loopback port with its own config and data dir, both removed by stop(). */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const binary = prometheusBinary();
  const dir = mkdtempSync(join(tmpdir(), 'rotor-prometheus-'));
  let server: ServerProcess | undefined;
  try {
    for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'prometheus.yml'), stringify(options.config));
    const port = await freePort('127.0.0.1');
    const url = `http://127.0.0.1:${port}`;
    server = new ServerProcess({
      name: 'prometheus',
      command: binary,
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=info',
      ],
      logFile: join(dir, 'prometheus.log'),
      cwd: dir,
    });
    const running = server;
    await waitFor(
      'prometheus to be ready',
      async () => {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      { timeoutMs: options.timeoutMs ?? 30_000, signal: running.exitSignal },
    ).catch((err: unknown) => {
      throw running.failure('did not become ready', err);
    });
    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${url}/api/v1/${path}`, { signal: AbortSignal.timeout(10_000) });
      const answer = (await res.json()) as ApiAnswer<T>;
      if (answer.status !== 'success') throw new Error(`prometheus ${path}: ${answer.error ?? res.status}`);
      return answer.data;
    };
    return {
      url,
      api,
      async query(expr) {
        const data = await api<{ resultType: string; result: PrometheusSample[] }>(`query?query=${encodeURIComponent(expr)}`);
        if (data.resultType !== 'vector') throw new Error(`prometheus query ${expr}: a ${data.resultType}, not a vector`);
        return data.result;
      },
      logTail: () => running.logTail(),
      async stop() {
        await running.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
