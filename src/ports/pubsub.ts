/**
 * Fan-out between processes.
 * One area of src/ports; index.ts re-exports every port.
 */
/** Fan-out of small messages between processes (Redis pub/sub). */
export interface PubSub {
  publish(topic: string, message: string): Promise<void>;
  /** Resolves once subscribed; the returned function unsubscribes. */
  subscribe(topic: string, listener: (message: string) => void): Promise<() => Promise<void>>;
}
