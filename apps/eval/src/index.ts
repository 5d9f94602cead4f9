// Library entry of @densepure/eval: experiment files, the grid runner and the report, for scripts and tests.
export { analyzeFile, formatAnalysis, type AnalyzeResult } from './analyze.js';
export {
  type Cell,
  type Experiment,
  type GridMethod,
  ExperimentError,
  METHOD_KINDS,
  expandGrid,
  expandMethods,
  experimentSchema,
  methodSlug,
  parseExperimentText,
  readExperiment,
  validateExperiment,
} from './experiment.js';
export { parseRadii, pyFloat, writeFileAtomic } from './format.js';
export { type CellResult, type GridResult, type RunGridOptions, cellOptions, cellPath, expectedIdentity, runGrid } from './grid.js';
export { buildProgram, main } from './main.js';
export { REPORT_FILES, type ReportOptions, type ReportResult, buildReport, describeRuns } from './report/index.js';
export { type Series, guessFromPath, loadSeries, methodName } from './report/load.js';
export { plotData, plotSpec, renderSvg, svgToPng } from './report/plot.js';
export { type Tables, accuracyAt, buildTables, csvReport, markdownReport } from './report/table.js';
export { VERSION } from './version.js';
