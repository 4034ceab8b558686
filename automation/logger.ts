/**
 * Structured logs (pino, JSON lines). Secrets never reach a log line: known secret fields are
 * redacted, and connection strings are logged through `redactDatabaseUrl`.
 */
import pino from "pino";

export type Logger = pino.Logger;

/** Field paths pino replaces with "[redacted]". */
export const redactedPaths = [
  "password",
  "*.password",
  "passphrase",
  "*.passphrase",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "databaseUrl",
  "*.databaseUrl",
  "connectionString",
  "*.connectionString",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "env.PULUMI_CONFIG_PASSPHRASE",
  "env.PULUMI_ACCESS_TOKEN",
  "env.DATABASE_URL",
  "env.AWS_SECRET_ACCESS_KEY",
  "env.AWS_SESSION_TOKEN",
];

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: pino.LoggerOptions = {
    name: opts.name ?? "pyairtable-autoscaler",
    level: opts.level ?? process.env.LOG_LEVEL ?? "info",
    redact: { paths: redactedPaths, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
