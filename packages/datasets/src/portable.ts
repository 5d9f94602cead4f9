// The datasets without node: types and the DPDS parser, for a browser or a Web Worker (bytes in, no files).
export * from './types.js';
export { DPDS_MAGIC, encodeDpds, parseDpds } from './dpds.js';
