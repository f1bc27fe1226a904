/** The flags every command but `serve` runs with on this Node. */
export declare const defaultV8Flags: readonly string[];
/** The flags for `trainyard <command>` as one string ("" for V8's defaults); TRAINYARD_V8_FLAGS replaces them. */
export declare function v8FlagsFor(command: string | undefined, env?: NodeJS.ProcessEnv): string;
