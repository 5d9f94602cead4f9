// Library entry of @densepure/eval: experiment files, the grid runner and the report, for scripts and tests.
export { analyzeFile, analyzeMain, formatAnalysis, type AnalyzeResult } from './analyze.js';
export { type EvalError, describeEvalError } from './errors.js';
export {
  type Cell,
  type Experiment,
  type ExperimentError,
  METHOD_KINDS,
  expandGrid,
  expandMethods,
  experimentSchema,
  parseExperimentText,
  readExperiment,
  validateExperiment,
} from './experiment.js';
export { type RadiiError, parseRadii, pyFloat } from './format.js';
export { type CellResult, type GridResult, type RunGridOptions, cellPath, cellSpec, runGrid } from './grid.js';
export { buildProgram, main } from './main.js';
export { REPORT_FILES, type ReportOptions, type ReportResult, buildReport, describeRuns } from './report/index.js';
export { type Series, guessFromPath, loadSeries, methodName } from './report/load.js';
export { plotData, plotSpec, renderSvg, svgToPng } from './report/plot.js';
export { type Tables, accuracyAt, buildTables, csvReport, markdownReport } from './report/table.js';
export { VERSION } from './version.js';
