// The folder registry and its policy. The ClickHouse/Redis notifier (services-notifier.ts) is
// imported on its own, so code that needs only the folder never loads the service clients.
export * from './model-ref.js';
export * from './registry-errors.js';
export * from './inspect-version.js';
export * from './alias-store.js';
export * from './audit-log.js';
export * from './registry-notifier.js';
export * from './model-registry.js';
export * from './auto-promote.js';
export * from './resolve-model-dir.js';
export * from './registry-gc.js';
