/**
 * Logging: the one logger shape every layer takes.
 * One area of src/ports; index.ts re-exports every port.
 */
/** Structured logger (pino satisfies it). Fields first, message second. */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}
