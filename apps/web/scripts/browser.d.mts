import type { BrowserContext } from 'playwright-core';
export declare const CHROMIUM: string;
export declare const WEBGPU_FLAGS: readonly string[];
export declare function launchChromium(extra?: readonly string[]): Promise<{ context: BrowserContext; close(): Promise<void> }>;
