// Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).

export function useColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

export interface Paint {
  ok(text: string): string;
  warn(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr = (code: number) => (text: string) => `\u001b[${code}m${text}\u001b[0m`;
const plain = (text: string): string => text;

export function paint(color: boolean): Paint {
  return color
    ? { ok: sgr(32), warn: sgr(33), bad: sgr(31), dim: sgr(2), bold: sgr(1) }
    : { ok: plain, warn: plain, bad: plain, dim: plain, bold: plain };
}

const SGR = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g');

/** The text without colour codes. */
export function stripColor(text: string): string {
  return text.replace(SGR, '');
}

/** Width on screen: colour codes take none. */
export function visibleLength(text: string): number {
  return stripColor(text).length;
}
