export declare const distFolder: string;
export declare function servePage(root?: string, port?: number): Promise<{ url: string; close(): Promise<void> }>;
