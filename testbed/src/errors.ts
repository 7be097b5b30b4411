/** Raised when a testbed server cannot start, stop, or answer in time. */
export class TestbedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TestbedError';
    this.code = code;
  }
}

export function isTestbedError(err: unknown): err is TestbedError {
  return err instanceof TestbedError;
}
