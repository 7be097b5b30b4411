// The demo's terminal output: one header per persona step, one short line per
// fact, a ✓ or ✗ per verified fact. Everything printed is also kept in memory,
// so the demo can prove at the end that no secret ever reached the terminal.

export interface NarratorOptions {
  /** Colour on a terminal unless NO_COLOR is set (https://no-color.org). */
  color?: boolean;
  write?: (text: string) => void;
}

export interface CheckRecord {
  label: string;
  ok: boolean;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
type Style = keyof typeof CODES;

export class Narrator {
  readonly #color: boolean;
  readonly #write: (text: string) => void;
  readonly #printed: string[] = [];
  readonly #checks: CheckRecord[] = [];
  readonly #startedAt = performance.now();

  constructor(options: NarratorOptions = {}) {
    this.#color = options.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR);
    this.#write = options.write ?? ((text) => void process.stdout.write(text));
  }

  /** Every check so far, in order. */
  get checks(): readonly CheckRecord[] {
    return this.#checks;
  }

  get failedChecks(): number {
    return this.#checks.filter((c) => !c.ok).length;
  }

  /** All text printed so far (without colour codes), for the secret scan. */
  printed(): string {
    return this.#printed.join('');
  }

  #style(style: Style, text: string): string {
    if (!this.#color) return text;
    const [on, off] = CODES[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  }

  #emit(plain: string, styled: string = plain): void {
    this.#printed.push(`${plain}\n`);
    this.#write(`${styled}\n`);
  }

  /** Seconds since the demo started, as a short prefix. */
  #clock(): string {
    const s = (performance.now() - this.#startedAt) / 1000;
    return `${s.toFixed(1).padStart(5)}s`;
  }

  title(text: string): void {
    this.#emit(text, this.#style('bold', text));
  }

  /** A persona's step: "── 2. Vault Admin: ...". */
  step(number: number | string, persona: string, what: string): void {
    const plain = `\n── ${number}. ${persona}: ${what}`;
    this.#emit(plain, `\n${this.#style('bold', `── ${number}. ${this.#style('cyan', persona)}: ${what}`)}`);
  }

  /** A fact or an action, not a check. */
  info(text: string): void {
    const plain = `${this.#clock()}   ${text}`;
    this.#emit(plain, `${this.#style('dim', this.#clock())}   ${text}`);
  }

  /** Something worth noticing that is not a failure (e.g. a fallback). */
  note(text: string): void {
    const plain = `${this.#clock()} ! ${text}`;
    this.#emit(plain, `${this.#style('dim', this.#clock())} ${this.#style('yellow', '!')} ${text}`);
  }

  /** Output of a command the demo ran, indented under the step. */
  quote(text: string): void {
    for (const line of text.trimEnd().split('\n')) {
      const plain = `         │ ${line}`;
      this.#emit(plain, this.#style('dim', plain));
    }
  }

  /** A verified fact: ✓ when it held, ✗ otherwise. Returns `ok`. */
  check(ok: boolean, label: string, detail?: string): boolean {
    this.#checks.push({ label, ok });
    const text = detail === undefined ? label : `${label} ${detail}`;
    const mark = ok ? '✓' : '✗';
    const plain = `${this.#clock()} ${mark} ${text}`;
    this.#emit(plain, `${this.#style('dim', this.#clock())} ${this.#style(ok ? 'green' : 'red', mark)} ${ok ? text : this.#style('red', text)}`);
    return ok;
  }

  /** A plain line (tables, blank lines). */
  line(text = ''): void {
    this.#emit(text);
  }

  /** A line in bold green or red: the verdict. */
  verdict(ok: boolean, text: string): void {
    this.#emit(text, this.#style('bold', this.#style(ok ? 'green' : 'red', text)));
  }
}

/** "1.234 s" with a sensible precision. */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
}
