// The `yaml` package, loaded from its own embedded bundle the first time a pod command needs it
// (it is a quarter of bunc's code; see src/embedded.ts for why it is kept out of the main bundle).
import type * as Yaml from "yaml";
import { loadEmbeddedCjs } from "../embedded.ts";
// @ts-ignore: an embedded file built by make from the yaml package
import yamlBundle from "../../build/yaml.cjs" with { type: "file" };

let lib: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  return (lib ??= loadEmbeddedCjs<typeof Yaml>(yamlBundle));
}
