export { VECTORS_DIR, parseJsonWithBigInts, readVector } from './vectors.js';
export { parseSamples, metricValue, scrapeMetrics } from './prometheus-text.js';
export type { Sample } from './prometheus-text.js';
export { waitUntil, postJson } from './wait.js';
export type { JsonResponse } from './wait.js';
export { SIM_MAIN, startSimProcess } from './sim-process.js';
export type { SimProcess } from './sim-process.js';
export { startRedis } from './redis.js';
export type { RedisServer, StartRedisOptions } from './redis.js';
