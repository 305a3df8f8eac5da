/**
 * Shared plumbing of the benchmarks, one import for the scripts: cleanup, runners, child
 * processes, throw-away PostgreSQL databases and Redis prefixes, closed-loop load with CPU and
 * pg_stat_activity alongside, /proc readings and tables.
 * Nothing here knows what a benchmark measures.
 */
export * from './lib/cleanup.js';
export * from './lib/concurrent.js';
export * from './lib/measure.js';
export * from './lib/processes.js';
export * from './lib/report.js';
export * from './lib/runners.js';
export * from './lib/services.js';
export * from './lib/system.js';
