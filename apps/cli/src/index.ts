// Library entry of the CLI package: the program itself (run engine: @densepure/runner).
export { buildProgram, main, printSummary } from './main.js';
