/**
 * The PubSub port on Redis pub/sub: how workers reach the playground's open pages in
 * whichever gateway process serves them. Messages are fire-and-forget by design: a
 * page that reconnects reloads the conversation from history.
 * https://redis.io/docs/latest/develop/interact/pubsub/
 */
import type { Redis } from 'ioredis';
import type { PubSub } from '../../ports/index.js';

/**
 * Creates a PubSub over a command connection (publish) and a subscriber connection.
 * Without a subscriber (a worker-only process publishes but never listens) subscribe throws.
 */
export function createRedisPubSub(deps: { publisher: Redis; subscriber: Redis | undefined; prefix: string }): PubSub {
  const subscriber = deps.subscriber;
  const listeners = new Map<string, Set<(message: string) => void>>();
  // One SUBSCRIBE per channel; later subscribers wait for it, so none returns before
  // Redis is actually delivering the channel's messages.
  const subscribed = new Map<string, Promise<unknown>>();
  const channelOf = (topic: string): string => `${deps.prefix}:pubsub:${topic}`;

  subscriber?.on('message', (channel: string, message: string) => {
    for (const listener of listeners.get(channel) ?? []) listener(message);
  });

  return {
    async publish(topic, message) {
      await deps.publisher.publish(channelOf(topic), message);
    },
    async subscribe(topic, listener) {
      if (!subscriber) throw new Error('this process has no pub/sub subscriber (it runs no gateway)');
      const channel = channelOf(topic);
      let set = listeners.get(channel);
      if (!set) {
        set = new Set();
        listeners.set(channel, set);
      }
      set.add(listener);
      let pending = subscribed.get(channel);
      if (!pending) {
        pending = subscriber.subscribe(channel);
        subscribed.set(channel, pending);
      }
      try {
        await pending;
      } catch (error) {
        set.delete(listener);
        subscribed.delete(channel);
        throw error;
      }
      return async () => {
        const current = listeners.get(channel);
        if (!current) return;
        current.delete(listener);
        if (current.size === 0) {
          listeners.delete(channel);
          subscribed.delete(channel);
          await subscriber.unsubscribe(channel).catch(() => undefined);
        }
      };
    },
  };
}
