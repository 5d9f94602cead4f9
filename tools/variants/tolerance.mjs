// A variant agrees with its fp32 model when, at each sigma, the relative RMS deviation of eps and of v is at most
// this. The shipped int8 variant measures 0.010-0.025, about what the fp32 model itself moves when its timestep is
// 5 off; 25 steps off it is at 0.096 (sigma 0.25), outside.
export const TOLERANCE = 0.05;
