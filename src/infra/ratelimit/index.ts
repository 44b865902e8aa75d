export { createRedisRateLimiter, type RedisRateLimiterOptions } from './redis-rate-limiter.js';
