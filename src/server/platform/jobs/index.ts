export { BullMqJobQueue, type BullMqJobQueueOptions } from './bullmq.driver.js';
export * from './jobs.port.js';
export type { JobQueueLogger } from './jobs.shared.js';
export { MemoryJobQueue, type MemoryJobQueueOptions } from './memory.driver.js';
