export * from './errors.js';
export * from './manifest.js';
export * from './types.js';
export * from './validate.js';
export * from './registry.js';
export * from './wrap.js';
export * from './manifest-builder.js';
export * from './smoke.js';
