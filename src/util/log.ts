// Structured JSON logging for every Weir process.
//
// pino: JSON lines by default, low overhead on hot paths, child loggers for
// per-component fields, and `redact` so secret-bearing fields never reach
// the output even when a whole object is logged.
import { pino, type Logger } from 'pino';

export type { Logger };

const redactPaths = [
  'password',
  'token',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.authorization',
  '*.secret',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(component: string, level = process.env.WEIR_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { component },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
