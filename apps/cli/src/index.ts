// Library entry of the CLI package: the eval runner drives certify runs and reads their TSVs through this.
export { type CertifyOptions, type CertifyResult, type SharedCertifyOptions, type SharedMember, runCertify, runCertifyShared, runIdentity } from './certify-run.js';
export { CliError } from './errors.js';
export { main, printSummary, runProgram } from './main.js';
export { describeMethod, methodFromFlags, methodSlug, registerInstalledBackends } from './setup.js';
export * from './tsv.js';
