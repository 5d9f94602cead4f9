// sha256 that runs anywhere (node, browsers, workers): @noble/hashes, audited and dependency-free. The node entry
// point exports node's native hash under the same name instead (file-source.ts): same digests, faster.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** sha256 of `bytes` as 64 lowercase hex characters. */
export const sha256Hex = (bytes: Uint8Array): string => bytesToHex(sha256(bytes));
