export type { MemoryEphemeralStoreOptions, MemoryPubSubOptions } from './memory.driver.js';
export { MemoryBus, MemoryEphemeralStore, MemoryPubSub } from './memory.driver.js';
export type { EphemeralStore, MessageHandler, PubSub, PubSubLogger } from './pubsub.port.js';
export type { RedisDriverOptions } from './redis.driver.js';
export { RedisEphemeralStore, RedisPubSub } from './redis.driver.js';
