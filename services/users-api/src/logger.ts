// pino with secrets censored as a second line of defence: the code never logs
// credentials, and redact catches an object that carries one by accident.
import { SECRET_LOG_PATHS } from '@rotor/db-credentials';
import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'users-api' },
    redact: { paths: [...SECRET_LOG_PATHS, 'req.headers.authorization', 'req.headers["x-vault-token"]'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
