import { readFileSync } from 'node:fs';

/** Proportional set size of a process in bytes (shared pages split among their users), 0 if gone. */
export function pssBytes(pid: number): number {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface MemorySample {
  totalBytes: number;
  /** By component name ("kube-apiserver", ..., "pods" for everything in the pods' cgroups). */
  byComponent: Record<string, number>;
}

/**
 * Samples the node's memory every `intervalMs` and keeps the peak. PSS, not RSS:
 * six processes map the one rotor-kube binary, and RSS would count it six times.
 */
export class MemoryMeter {
  readonly #sources: () => Record<string, number[]>;
  readonly #timer: NodeJS.Timeout;
  #peak: MemorySample = { totalBytes: 0, byComponent: {} };

  constructor(sources: () => Record<string, number[]>, intervalMs = 1_000) {
    this.#sources = sources;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  sample(): MemorySample {
    const byComponent: Record<string, number> = {};
    let totalBytes = 0;
    for (const [name, pids] of Object.entries(this.#sources())) {
      const bytes = pids.reduce((sum, pid) => sum + pssBytes(pid), 0);
      byComponent[name] = bytes;
      totalBytes += bytes;
    }
    const sample = { totalBytes, byComponent };
    if (totalBytes > this.#peak.totalBytes) this.#peak = sample;
    return sample;
  }

  get peak(): MemorySample {
    return this.#peak;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
