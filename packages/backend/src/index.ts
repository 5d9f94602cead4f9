export * from './errors.js';
export * from './files.js';
export * from './manifest.js';
export * from './types.js';
export * from './validate.js';
export * from './signature.js';
export * from './registry.js';
export * from './wrap.js';
