/**
 * Types for the `espeak-ng` package (eSpeak NG built with Emscripten, MODULARIZE + EXPORT_ES6;
 * it ships none): the default export instantiates the module, running the espeak-ng program's
 * `main` with `arguments`, and resolves once it has run. Only what Herald uses is named.
 */
declare module 'espeak-ng' {
  export interface EspeakNgFs {
    readFile(path: string): Uint8Array;
    writeFile(path: string, data: string | Uint8Array): void;
  }
  export interface EspeakNgModule {
    FS: EspeakNgFs;
  }
  export interface EspeakNgOptions {
    /** The program's command line (argv without the program name). */
    arguments: string[];
    /** Run before `main`, with the module (its file system is ready). */
    preRun?: ((module: EspeakNgModule) => void)[];
    print?: (line: string) => void;
    printErr?: (line: string) => void;
  }
  const ESpeakNg: (options: EspeakNgOptions) => Promise<EspeakNgModule>;
  export default ESpeakNg;
}
